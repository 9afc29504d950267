/* zoning offline map: Leaflet core plus small controls written for this tool.
   Data come from window.ZONING (built by benchmarks/legacy_webmap.py, the bench baseline); nothing is fetched. */
(function () {
  "use strict";
  var Z = window.ZONING, L = window.L;
  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  var map = L.map("map", {preferCanvas: true, zoomControl: true, attributionControl: true});
  window.zoningMap = map;
  map.attributionControl.setPrefix("Leaflet (offline)");
  var base = {}, overlays = {};
  base[Z.labels.no_basemap] = L.layerGroup().addTo(map);
  (Z.basemaps || []).forEach(function (b) {
    var layers = b.urls.map(function (u) { return L.tileLayer(u, {subdomains: b.subdomains || "abc", maxZoom: 18, attribution: esc(b.attribution)}); });
    base[b.name] = L.layerGroup(layers);
  });

  function popupHtml(rows) {
    return '<div class="zn-popup"><table>' + rows.map(function (r) {
      return "<tr><td><b>" + esc(r[0]) + "</b></td><td>" + esc(r[1]) + "</td></tr>";
    }).join("") + "</table></div>";
  }
  Z.layers.forEach(function (spec) {
    var layer = L.geoJSON(spec.geojson, {
      style: function () {
        return {color: spec.stroke, weight: spec.weight, fillColor: spec.fill, fillOpacity: spec.fillOpacity, opacity: 0.9};
      },
      onEachFeature: function (f, l) {
        var p = f.properties, rows = [[Z.labels.layer, spec.title], [Z.labels.code, p.id], [Z.labels.name, p.name]];
        if (p.cls) rows.push([Z.labels.cls, p.cls]);
        rows.push([Z.labels.area, p.area_ha.toLocaleString("en-US", {maximumFractionDigits: 1}) + " ha"]);
        l.bindTooltip(esc(p.name) + (p.cls ? " · " + esc(p.cls) : ""), {sticky: true});
        l.bindPopup(popupHtml(rows));
      }
    });
    if (spec.visible) layer.addTo(map);
    overlays[spec.title] = layer;
  });
  if (Z.raster) {
    var img = L.imageOverlay(Z.raster.uri, Z.raster.bounds, {opacity: 0.75, interactive: false});
    overlays[Z.raster.title] = img;
  }
  var siteGroup = L.featureGroup();
  (Z.sites || []).forEach(function (s) {
    (s.rings || []).forEach(function (r) {
      L.geoJSON(r.geojson, {style: {color: "#455a64", weight: 1, dashArray: "4 4", fill: false}, interactive: false}).addTo(siteGroup);
    });
    var style = {color: "#212121", weight: 2, fillColor: s.color, fillOpacity: 0.75};
    var g = L.geoJSON(s.geojson, {
      style: style,
      pointToLayer: function (f, ll) { return L.circleMarker(ll, Object.assign({radius: 8}, style)); }
    });
    g.bindPopup(popupHtml(s.popup));
    g.bindTooltip(esc(s.id) + " · " + esc(s.verdict_label));
    g.addTo(siteGroup);
  });
  if ((Z.sites || []).length) { siteGroup.addTo(map); overlays[Z.labels.sites] = siteGroup; }
  L.control.layers(base, overlays, {collapsed: false, position: "topright"}).addTo(map);
  L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo(map);

  var Box = L.Control.extend({
    initialize: function (html, cls, pos) { this._html = html; this._cls = cls; this.options.position = pos; },
    onAdd: function () { var d = L.DomUtil.create("div", this._cls); d.innerHTML = this._html; L.DomEvent.disableClickPropagation(d); return d; }
  });
  // title and warnings
  new Box('<span class="zn-title">' + esc(Z.title) + "</span>", "", "topleft").addTo(map);
  (Z.warnings || []).forEach(function (w) { new Box(esc(w), "zn-warn", "topleft").addTo(map); });
  // legend
  var leg = '<div class="zn-legend" id="zn-legend"><b>' + esc(Z.labels.legend) + "</b><br>";
  Z.layers.forEach(function (s) {
    leg += '<span class="zn-legend-item"><i style="background:' + s.fill + ";opacity:" + Math.max(s.fillOpacity, 0.35) +
      ";border-color:" + s.stroke + '"></i>' + esc(s.title) + "</span><br>";
  });
  if (Z.sites && Z.sites.length) {
    Object.keys(Z.verdict_colors).forEach(function (k) {
      leg += '<i style="background:' + Z.verdict_colors[k][0] + '"></i>' + esc(Z.verdict_colors[k][1]) + "<br>";
    });
  }
  if (Z.raster) {
    leg += "<b>" + esc(Z.raster.title) + "</b><br><div class=\"ramp\" style=\"background:linear-gradient(to right," +
      Z.raster.ramp.join(",") + ')"></div>' + esc(Z.raster.min) + " – " + esc(Z.raster.max) + " " + esc(Z.raster.units);
  }
  new Box(leg + "</div>", "", "bottomright").addTo(map);
  // mouse position
  var pos = new Box("", "zn-pos", "bottomleft").addTo(map);
  map.on("mousemove", function (e) {
    pos.getContainer().textContent = e.latlng.lng.toFixed(5) + "°E, " + e.latlng.lat.toFixed(5) + "°N";
  });

  // tools: fullscreen, measure, draw
  var R = 6378137;
  function ringArea(lls) {  // geodesic-ish polygon area on the sphere (m²), as Leaflet.draw does
    var a = 0, n = lls.length;
    for (var i = 0; i < n; i++) {
      var p1 = lls[i], p2 = lls[(i + 1) % n];
      a += (p2.lng - p1.lng) * Math.PI / 180 * (2 + Math.sin(p1.lat * Math.PI / 180) + Math.sin(p2.lat * Math.PI / 180));
    }
    return Math.abs(a * R * R / 2);
  }
  function fmtLen(m) { return m >= 1000 ? (m / 1000).toFixed(3) + " km" : m.toFixed(1) + " m"; }
  function fmtArea(m2) {
    return m2.toFixed(0) + " m² = " + (m2 / 1e4).toFixed(3) + " ha = " + (m2 / (1e4 / 15)).toFixed(2) + " 亩";
  }
  var tools = L.DomUtil.create("div", "leaflet-bar");
  var readout = new Box("", "zn-readout", "topleft");
  var mode = null, pts = [], sketch = null, drawn = null;
  function button(label, id, fn) {
    var b = L.DomUtil.create("a", "zn-btn", tools); b.textContent = label; b.id = id; b.href = "#";
    L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); fn(b); });
    return b;
  }
  function reset() {
    pts = []; if (sketch) { map.removeLayer(sketch); sketch = null; }
    map.doubleClickZoom.enable(); mode = null;
    Array.prototype.forEach.call(tools.children, function (c) { L.DomUtil.removeClass(c, "on"); });
  }
  function redraw() {
    if (sketch) map.removeLayer(sketch);
    sketch = (pts.length > 2 ? L.polygon(pts, {color: "#d81b60"}) : L.polyline(pts, {color: "#d81b60"})).addTo(map);
    var len = 0; for (var i = 1; i < pts.length; i++) len += map.distance(pts[i - 1], pts[i]);
    var txt = Z.labels.length + ": " + fmtLen(len);
    if (pts.length > 2) txt += "<br>" + Z.labels.area + ": " + fmtArea(ringArea(pts));
    readout.getContainer().innerHTML = txt;
  }
  button(Z.labels.fullscreen, "zn-full", function (b) {
    var on = L.DomUtil.hasClass(document.body, "zn-full");
    if (on) { L.DomUtil.removeClass(document.body, "zn-full"); if (document.fullscreenElement) document.exitFullscreen(); }
    else { L.DomUtil.addClass(document.body, "zn-full"); if (document.body.requestFullscreen) document.body.requestFullscreen().catch(function () {}); }
    setTimeout(function () { map.invalidateSize(); }, 100);
  });
  ["measure", "draw"].forEach(function (m) {
    button(Z.labels[m], "zn-" + m, function (b) {
      var was = mode; reset(); if (was === m) return;
      mode = m; L.DomUtil.addClass(b, "on"); map.doubleClickZoom.disable(); readout.addTo(map);
      readout.getContainer().innerHTML = Z.labels[m + "_help"];
    });
  });
  button(Z.labels.export, "zn-export", function () {
    if (!drawn) { readout.addTo(map); readout.getContainer().innerHTML = Z.labels.nothing_drawn; return; }
    var blob = new Blob([JSON.stringify(drawn)], {type: "application/geo+json"});
    var a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = "drawn_site.geojson";
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
  });
  var ToolBox = L.Control.extend({onAdd: function () { L.DomEvent.disableClickPropagation(tools); return tools; }});
  new ToolBox({position: "topleft"}).addTo(map);
  // preclick reaches the map before any layer's popup handler can stop the click
  map.on("preclick", function (e) { if (mode) { pts.push(e.latlng); redraw(); } });
  map.on("popupopen", function () { if (mode) map.closePopup(); });
  map.on("dblclick", function () {
    if (mode === "draw" && pts.length > 2) {
      var ring = pts.map(function (p) { return [+p.lng.toFixed(7), +p.lat.toFixed(7)]; });
      ring.push(ring[0]);
      drawn = {type: "FeatureCollection", crs: {type: "name", properties: {name: "urn:ogc:def:crs:OGC:1.3:CRS84"}},
               features: [{type: "Feature", properties: {id: "drawn-1", name: Z.labels.drawn_name},
                           geometry: {type: "Polygon", coordinates: [ring]}}]};
      window.zoningDrawn = drawn;
      var area = ringArea(pts);
      L.polygon(pts, {color: "#6a1b9a", weight: 2, fillOpacity: 0.2}).addTo(map).bindPopup(esc(Z.labels.drawn_name) + "<br>" + fmtArea(area));
      reset(); readout.addTo(map); readout.getContainer().innerHTML = Z.labels.drawn_done + "<br>" + fmtArea(area);
    } else if (mode === "measure") { mode = null; map.doubleClickZoom.enable(); }
  });
  map.on("keydown", function (e) { if (e.originalEvent.key === "Escape") reset(); });
  map.fitBounds(Z.bounds);
  window.zoningReady = true;
})();
