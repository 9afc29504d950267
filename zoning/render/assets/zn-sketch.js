/* zoning map: click-to-add-vertex sketching shared by the measure and draw tools.
   Click adds a vertex, double-click finishes, Esc cancels; one tool is active at a time. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.Sketch) return;

  Z.Sketch = L.Class.extend({
    options: {color: "#d81b60", minPixels: 4, onChange: null, onFinish: null, onStop: null},
    initialize: function (map, options) {
      L.setOptions(this, options);
      this._map = map;
      this.points = [];
      this.active = false;
      this._shape = null;
      L.DomEvent.on(document, "keydown", this._onKey, this);  // Esc also clears a finished sketch
    },
    start: function () {
      var map = this._map;
      Z.startTool(map, this);
      this.clear();
      this.active = true;
      map.doubleClickZoom.disable();
      L.DomUtil.addClass(map.getContainer(), "zn-sketching");
      // preclick reaches the map before any layer's popup handler can stop the click
      map.on("preclick", this._onClick, this);
      map.on("dblclick", this._onDblClick, this);
      map.on("popupopen", this._noPopup, this);
      return this;
    },
    stop: function () {
      var map = this._map;
      if (!this.active) return this;
      this.active = false;
      map.off("preclick", this._onClick, this);
      map.off("dblclick", this._onDblClick, this);
      map.off("popupopen", this._noPopup, this);
      L.DomUtil.removeClass(map.getContainer(), "zn-sketching");
      // re-enable after the double-click that ended the sketch has been handled
      setTimeout(function () { map.doubleClickZoom.enable(); }, 0);
      Z.endTool(map, this);
      if (this.options.onStop) this.options.onStop(this);
      return this;
    },
    clear: function () {
      this.points = [];
      if (this._shape) { this._map.removeLayer(this._shape); this._shape = null; }
    },
    _noPopup: function () { this._map.closePopup(); },
    _onKey: function (e) {
      if (e.key !== "Escape" || (!this.active && !this.points.length)) return;
      this.clear();
      this.stop();
      if (this.options.onChange) this.options.onChange(this);
    },
    _onClick: function (e) {
      var last = this.points[this.points.length - 1];
      if (last && this._map.latLngToContainerPoint(last).distanceTo(e.containerPoint) < this.options.minPixels) return;
      this.points.push(e.latlng);
      this._redraw();
      if (this.options.onChange) this.options.onChange(this);
    },
    _onDblClick: function (e) {
      if (e.originalEvent) L.DomEvent.stop(e.originalEvent);
      var done = this.options.onFinish ? this.options.onFinish(this) : true;
      if (done !== false) this.stop();
    },
    _redraw: function () {
      var pts = this.points, style = {color: this.options.color, weight: 2, fillOpacity: 0.15, interactive: false};
      if (this._shape) this._map.removeLayer(this._shape);
      this._shape = (pts.length > 2 ? L.polygon(pts, style) : L.polyline(pts, style)).addTo(this._map);
    }
  });
})();
