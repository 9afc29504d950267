/* zoning map: measure tool. Length along the clicked path and area of the closed polygon, both
   geodesic on the CGCS2000 ellipsoid (zn-geodesy.js), in m / km and m² / ha / 亩. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.addMeasure) return;
  Z.addMeasure = function (map, labels) {
    var G = Z.geodesy, readout = new Z.Box("", {position: "topleft", className: "zn-readout zn-measure-readout"});
    var sketch, button;
    function show(s) {
      var lines = [], len = G.pathLength(s.points);
      if (s.active) lines.push(labels.help);
      if (s.points.length > 1) {
        var l = Z.el("span", "zn-m-length", labels.length + ": " + G.fmtLength(len));
        l.setAttribute("data-m", String(len));
        lines.push(l);
      }
      if (s.points.length > 2) {
        var area = G.polygonArea(s.points), a = Z.el("span", "zn-m-area", labels.area + ": " + G.fmtArea(area));
        a.setAttribute("data-m2", String(area));
        lines.push(a);
      }
      if (!lines.length) { readout.remove(); return; }
      readout.addTo(map);
      readout.setContent(lines);
    }
    sketch = new Z.Sketch(map, {
      color: "#d81b60",
      onChange: show,
      onFinish: function (s) { return true; },
      onStop: function (s) { L.DomUtil.removeClass(button, "on"); show(s); }
    });
    button = Z.button(map, labels.button, "zn-measure", function (b) {
      if (sketch.active) { sketch.clear(); sketch.stop(); return; }
      sketch.start();
      L.DomUtil.addClass(b, "on");
      show(sketch);
    });
    map._znMeasure = sketch;
    return sketch;
  };
})();
