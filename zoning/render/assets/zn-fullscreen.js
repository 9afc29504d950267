/* zoning map: full-screen toggle (Fullscreen API where allowed, a fixed-position fallback elsewhere). */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.addFullscreen) return;
  Z.addFullscreen = function (map, label) {
    var c = map.getContainer();
    Z.button(map, label, "zn-full", function (b) {
      var on = L.DomUtil.hasClass(c, "zn-fullscreen");
      if (on) {
        L.DomUtil.removeClass(c, "zn-fullscreen");
        L.DomUtil.removeClass(b, "on");
        if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(function () {});
      } else {
        L.DomUtil.addClass(c, "zn-fullscreen");
        L.DomUtil.addClass(b, "on");
        if (c.requestFullscreen) c.requestFullscreen().catch(function () {});
      }
      setTimeout(function () { map.invalidateSize(); }, 150);
    });
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement && L.DomUtil.hasClass(c, "zn-fullscreen")) {
        L.DomUtil.removeClass(c, "zn-fullscreen");
        var b = document.getElementById("zn-full");
        if (b) L.DomUtil.removeClass(b, "on");
        map.invalidateSize();
      }
    });
  };
})();
