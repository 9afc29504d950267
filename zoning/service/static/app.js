/* zoning serve: the screening page. No inline handlers (the page's CSP forbids them); every
   text from the server is put into the page with textContent, never as markup. */
(function () {
  "use strict";
  var lang = document.body.getAttribute("data-lang") === "en" ? "en" : "zh";
  var labelsEl = document.getElementById("labels");
  var L = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  var form = document.getElementById("screen-form");
  if (!form) return;
  var statusBox = document.getElementById("status");
  var ATTRS = ["name", "industry", "two_high", "chemical", "boiler_th", "boiler_fuel", "energy_tce",
               "renewable_share", "clear_share"];

  function say(text, isError) {
    statusBox.textContent = text || "";
    statusBox.className = isError ? "error" : "";
  }

  function attributes() {
    var out = {};
    ATTRS.forEach(function (k) {
      var el = form.elements[k];
      if (el && el.value.trim() !== "") out[k] = el.value.trim();
    });
    return out;
  }

  function busy(on) {
    ["screen", "screen-drawn"].forEach(function (id) { document.getElementById(id).disabled = on; });
    if (on) say(L.working);
  }

  function message(data, status) {
    if (data && (data.message_zh || data.message_en)) {
      return (lang === "en" ? data.message_en : data.message_zh) + " [" + (data.error || status) + "]";
    }
    return "HTTP " + status;
  }

  function show(results) {
    var list = Array.isArray(results) ? results : [results];
    if (list.length === 1 && list[0].id) {
      window.location.assign("/screenings/" + encodeURIComponent(list[0].id) + "?lang=" + lang);
      return;
    }
    // "错误：… | Error: …": the half of the page's language
    function errorHalf(text) {
      var parts = String(text).split(" | Error: ");
      if (lang === "en") { return parts.length > 1 ? parts[1] : parts[0]; }
      return parts[0].replace(/^错误：/, "");
    }
    var ul = document.getElementById("result-list");
    ul.textContent = "";
    list.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/screenings/" + encodeURIComponent(r.id) + "?lang=" + lang;
      a.textContent = r.site_id + ": " + ((L.verdicts || {})[r.verdict || "error"] || r.verdict || "error");
      a.className = "result-link";
      a.setAttribute("data-verdict", r.verdict || "error");
      li.appendChild(a);
      if (r.error) { li.appendChild(document.createTextNode(" " + errorHalf(r.error))); }
      ul.appendChild(li);
    });
    document.getElementById("results").hidden = false;
    say("");
  }

  function send(body, headers) {
    busy(true);
    return fetch("/api/v1/screen", {method: "POST", body: body, headers: headers || {}, credentials: "same-origin"})
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = JSON.parse(text); } catch (e) { data = null; }
          if (!res.ok) { say(message(data, res.status), true); return; }
          show(data);
        });
      })
      .catch(function (e) { say(String(e), true); })
      .then(function () { busy(false); if (statusBox.textContent === L.working) say(""); });
  }

  function sendJson(site) {
    var doc = {site: site, attributes: attributes()};
    var crs = form.elements.crs.value;
    if (crs) doc.crs = crs;
    return send(JSON.stringify(doc), {"Content-Type": "application/json"});
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var files = form.elements.file.files;
    var text = form.elements.text.value.trim();
    if (files && files.length) {
      var fd = new FormData();
      for (var i = 0; i < files.length; i++) fd.append("file", files[i], files[i].name);
      var attrs = attributes();
      Object.keys(attrs).forEach(function (k) { fd.append(k, attrs[k]); });
      if (form.elements.crs.value) fd.append("crs", form.elements.crs.value);
      send(fd);
    } else if (text) {
      if (text.indexOf("\n") < 0) { sendJson(text); return; }
      // several lines: a corner-point (界址点) table or coordinate text file, sent as a file
      var name = /^\s*\[/.test(text) ? "pasted.txt" : "pasted.csv";
      var fd2 = new FormData();
      fd2.append("file", new Blob([text], {type: "text/plain"}), name);
      var a2 = attributes();
      Object.keys(a2).forEach(function (k) { fd2.append(k, a2[k]); });
      if (form.elements.crs.value) fd2.append("crs", form.elements.crs.value);
      send(fd2);
    } else {
      say(L.nothing, true);
    }
  });

  document.getElementById("screen-drawn").addEventListener("click", function () {
    var frame = document.getElementById("map");
    var drawn = null;
    try { drawn = frame && frame.contentWindow && frame.contentWindow.zoningDrawn; } catch (e) { drawn = null; }
    if (!drawn) { say(L.no_drawing, true); return; }
    sendJson(JSON.parse(JSON.stringify(drawn)));
  });

  // industry search over GB/T 4754-2017 codes and names
  var input = document.getElementById("a-industry");
  var list = document.getElementById("industries");
  var timer = null, last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q === last || q.length < 1) return;
      last = q;
      fetch("/api/v1/industries?limit=30&q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          list.textContent = "";
          items.forEach(function (it) {
            var o = document.createElement("option");
            o.value = it.code;
            o.label = it.code + " " + it.name;
            o.textContent = it.code + " " + it.name;
            list.appendChild(o);
          });
        })
        .catch(function () { /* search is a convenience: typing the code still works */ });
    }, 200);
  });
})();
