/* zoning map: pointer position in CGCS2000 longitude / latitude (degrees). */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.MousePosition) return;
  Z.MousePosition = L.Control.extend({
    options: {position: "bottomleft", digits: 5},
    onAdd: function (map) {
      var d = L.DomUtil.create("div", "zn-pos"), digits = this.options.digits;
      d.textContent = "—";
      map.on("mousemove", function (e) {
        d.textContent = e.latlng.lng.toFixed(digits) + "°E, " + e.latlng.lat.toFixed(digits) + "°N";
      });
      map.on("mouseout", function () { d.textContent = "—"; });
      return d;
    }
  });
})();
