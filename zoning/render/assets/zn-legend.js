/* zoning map: legend control (layer groups, site verdicts, carbon ramp). Data arrive as JSON. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.Legend) return;
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;
  function color(c) { return COLOR.test(String(c)) ? String(c) : "#888888"; }

  Z.Legend = L.Control.extend({
    options: {position: "bottomright"},
    initialize: function (data, options) { L.setOptions(this, options); this._data = data; },
    onAdd: function () {
      var d = this._data, outer = L.DomUtil.create("div", "zn-legend");
      outer.id = d.id || "zn-legend";
      // the title folds the legend away, so it never hides the layer switcher on a small screen
      var head = Z.el("b", "zn-legend-head", d.title, outer), box = Z.el("div", "zn-legend-body", null, outer);
      head.setAttribute("role", "button");
      head.title = d.fold || "";
      function fold(closed) { L.DomUtil[closed ? "addClass" : "removeClass"](outer, "zn-folded"); }
      fold(window.innerHeight < 700);
      L.DomEvent.on(head, "click", function () { fold(!L.DomUtil.hasClass(outer, "zn-folded")); });
      (d.groups || []).forEach(function (g) {
        var row = Z.el("div", "zn-legend-item", null, box), sw = Z.el("i", null, null, row);
        sw.style.backgroundColor = color(g.fill);
        sw.style.borderColor = color(g.stroke);
        sw.style.opacity = String(Math.max(Number(g.opacity) || 0, 0.35));
        Z.el("span", null, g.title, row);
        if (g.source) Z.el("span", "zn-legend-src", g.source, row);
      });
      if ((d.verdicts || []).length) {
        Z.el("b", null, d.sites_title, box);
        d.verdicts.forEach(function (v) {
          var row = Z.el("div", "zn-legend-item", null, box), sw = Z.el("i", "zn-dot", null, row);
          sw.style.backgroundColor = color(v[0]);
          Z.el("span", null, v[1], row);
        });
      }
      if (d.raster) {
        var r = d.raster;
        Z.el("b", null, r.title, box);
        var ramp = Z.el("div", "zn-ramp", null, box);
        ramp.style.backgroundImage = "linear-gradient(to right," + r.ramp.map(color).join(",") + ")";
        Z.el("div", "zn-ramp-labels", r.min + " – " + r.max + " " + (r.units || ""), box);
      }
      L.DomEvent.disableClickPropagation(outer);
      L.DomEvent.disableScrollPropagation(outer);
      return outer;
    }
  });
})();
