/* zoning map: shared helpers for the controls in this folder (loaded once per page).
   Every piece of data text reaches the page through textContent, never through innerHTML. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.el) return;

  /** A new element with an optional class and text content, appended to parent when given. */
  Z.el = function (tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (parent) parent.appendChild(e);
    return e;
  };

  /** A popup body: a two-column table of [label, value] rows, as text. */
  Z.table = function (rows) {
    var div = Z.el("div", "zn-popup"), tb = Z.el("table", null, null, div);
    rows.forEach(function (r) {
      var tr = Z.el("tr", null, null, tb);
      Z.el("b", null, r[0], Z.el("td", null, null, tr));
      Z.el("td", null, r[1], tr);
    });
    return div;
  };

  Z.fmt = function (x, digits) {
    return Number(x).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  };

  /** onEachFeature for a layer group: tooltip "name · class", popup with id, name, class, area. */
  Z.featureBinder = function (spec) {
    return function (feature, layer) {
      var p = feature.properties || {};
      layer.bindTooltip(function () {
        return Z.el("span", null, (p.name || p.id || "") + (p.cls ? " · " + p.cls : ""));
      }, {sticky: true});
      layer.bindPopup(function () {
        var L_ = spec.labels, rows = [[L_.layer, spec.title]];
        if (spec.source) rows.push([L_.source, spec.source]);
        rows.push([L_.code, p.id], [L_.name, p.name]);
        if (p.cls) rows.push([L_.cls, p.cls]);
        if (p.area_ha !== undefined && p.area_ha !== null) rows.push([L_.area, Z.fmt(p.area_ha, 1) + " ha"]);
        return Z.table(rows);
      }, {maxWidth: 380});
    };
  };

  /** onEachFeature for screened sites: popup rows prepared in Python, tooltip "id · verdict". */
  Z.siteBinder = function () {
    return function (feature, layer) {
      var p = feature.properties || {};
      layer.bindTooltip(function () { return Z.el("span", null, p.id + " · " + p.verdict_label); });
      layer.bindPopup(function () { return Z.table(p.popup || []); }, {maxWidth: 420});
    };
  };

  /** A control holding one element: a title, a warning, a readout. */
  Z.Box = L.Control.extend({
    options: {position: "topleft", className: ""},
    initialize: function (content, options) {
      L.setOptions(this, options);
      this._content = content;
    },
    onAdd: function () {
      var d = L.DomUtil.create("div", "zn-box " + this.options.className);
      this.setContent(this._content, d);
      L.DomEvent.disableClickPropagation(d);
      L.DomEvent.disableScrollPropagation(d);
      return d;
    },
    /** content: a string (shown as text), a node, or an array of them (one line each). */
    setContent: function (content, d) {
      d = d || this._container;
      this._content = content;
      if (!d) return this;
      while (d.firstChild) d.removeChild(d.firstChild);
      (Array.isArray(content) ? content : [content]).forEach(function (c, i) {
        if (c === null || c === undefined) return;
        if (i) d.appendChild(document.createElement("br"));
        d.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
      });
      return this;
    }
  });

  /** One drawing/measuring tool at a time per map. */
  Z.startTool = function (map, tool) {
    if (map._znTool && map._znTool !== tool) map._znTool.stop();
    map._znTool = tool;
  };
  Z.endTool = function (map, tool) { if (map._znTool === tool) map._znTool = null; };

  /** The toolbar every tool button goes into (a Leaflet bar at the top left). */
  Z.toolbar = function (map) {
    if (!map._znBar) {
      var Bar = L.Control.extend({
        options: {position: "topleft"},
        onAdd: function () {
          var d = L.DomUtil.create("div", "leaflet-bar zn-bar");
          L.DomEvent.disableClickPropagation(d);
          return d;
        }
      });
      map._znBar = new Bar().addTo(map);
    }
    return map._znBar.getContainer();
  };
  Z.button = function (map, label, id, onClick) {
    var b = Z.el("a", "zn-btn", label, Z.toolbar(map));
    b.id = id;
    b.href = "#";
    b.setAttribute("role", "button");
    L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); onClick(b); });
    return b;
  };
})();
