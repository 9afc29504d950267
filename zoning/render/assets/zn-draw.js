/* zoning map: draw a project footprint and export it as GeoJSON (CRS84), ready for `zoning screen`. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.addDraw) return;
  Z.addDraw = function (map, labels) {
    var G = Z.geodesy, readout = new Z.Box("", {position: "topleft", className: "zn-readout zn-draw-readout"});
    var drawn = null, drawnLayer = null, button;
    var sketch = new Z.Sketch(map, {
      color: "#6a1b9a",
      onChange: function (s) {
        if (!s.active) { readout.remove(); return; }
        readout.addTo(map);
        readout.setContent(s.points.length > 2 ? [labels.help, labels.area + ": " + G.fmtArea(G.polygonArea(s.points))]
                                                : labels.help);
      },
      onFinish: function (s) {
        if (s.points.length < 3) return false;  // keep drawing: a polygon needs three vertices
        var pts = s.points.slice(), area = G.polygonArea(pts);
        var ring = pts.map(function (p) { return [+p.lng.toFixed(7), +p.lat.toFixed(7)]; });
        ring.push(ring[0]);
        drawn = {type: "FeatureCollection", crs: {type: "name", properties: {name: "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                 features: [{type: "Feature", properties: {id: "drawn-1", name: labels.drawn_name},
                             geometry: {type: "Polygon", coordinates: [ring]}}]};
        window.zoningDrawn = drawn;
        if (drawnLayer) map.removeLayer(drawnLayer);
        s.clear();
        drawnLayer = L.polygon(pts, {color: "#6a1b9a", weight: 2, fillOpacity: 0.2}).addTo(map);
        drawnLayer.bindPopup(function () { return Z.table([[labels.drawn_name, G.fmtArea(area)]]); });
        readout.addTo(map);
        readout.setContent([labels.done, labels.area + ": " + G.fmtArea(area)]);
        return true;
      },
      onStop: function () { L.DomUtil.removeClass(button, "on"); }
    });
    button = Z.button(map, labels.button, "zn-draw", function (b) {
      if (sketch.active) { sketch.clear(); sketch.stop(); readout.remove(); return; }
      sketch.start();
      L.DomUtil.addClass(b, "on");
      readout.addTo(map);
      readout.setContent(labels.help);
    });
    Z.button(map, labels.export, "zn-export", function () {
      if (!drawn) { readout.addTo(map); readout.setContent(labels.nothing); return; }
      var blob = new Blob([JSON.stringify(drawn)], {type: "application/geo+json"});
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "drawn_site.geojson";
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });
    map._znDraw = sketch;
    return sketch;
  };
})();
