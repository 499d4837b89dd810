/* archc report: draws the page from its JSON block (#archc-data). No libraries, no network. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("archc-data").textContent);
  var HAS_MS = D.latency && D.latency.source !== null;
  var SVGNS = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (kids || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function none(v) { return v === null || v === undefined; }
  function int(v) { return none(v) ? "\u2013" : Number(v).toLocaleString("en-US"); }
  function mega(v) { return none(v) ? "\u2013" : (v / 1e6).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " M"; }
  function mb(v) { return none(v) ? "\u2013" : (v / 1e6).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " MB"; }
  function ms(v) { return none(v) ? "\u2013" : v.toFixed(v < 1 ? 3 : 2) + " ms"; }
  function shape(s) { return s.join("x"); }

  var COSTS = [
    {key: "params", head: "params", fmt: int, cls: "params", unit: "parameters (count)", scale: 1},
    {key: "macs", head: "MACs", fmt: mega, cls: "macs", unit: "MACs (millions)", scale: 1e6},
    {key: "activation_bytes", head: "activations", fmt: mb, cls: "act",
     unit: "activations (MB, fwd+bwd)", scale: 1e6},
    {key: "ms", head: "latency", fmt: ms, cls: "ms", unit: "latency (ms)", scale: 1}
  ].filter(function (c) { return c.key !== "ms" || HAS_MS; });

  function numCell(value, total, cost) {
    var td = el("td", {"class": "num " + cost.cls, text: cost.fmt(value)});
    if (!none(value) && total) {
      var share = Math.max(0, Math.min(100, 100 * value / total));
      td.appendChild(el("span", {"class": "bar", style: "width:" + share.toFixed(1) + "%"}));
      td.title = share.toFixed(1) + " % of the network";
    }
    return td;
  }

  /* ---- header ---- */
  function header() {
    var passes = D.passes.length ? " after " + D.passes.join(" ") : "";
    $("subtitle").textContent = D.file + passes + " \u00b7 input " + shape(D.input) + " \u2192 output " +
      D.outputs.map(shape).join(", ") + (D.doc ? " \u00b7 " + D.doc : "");
    var cards = [["params", int(D.totals.params), "parameters"], ["macs", mega(D.totals.macs), "multiply-accumulates"],
      ["act", mb(D.totals.activation_bytes), "activations, fwd + bwd"]];
    if (HAS_MS) { cards.push(["ms", ms(D.latency.predicted_ms || D.latency.median_ms || D.totals.ms), latencyNote()]); }
    if (D.quality) { cards.push(["miou", (100 * D.quality.miou).toFixed(1) + " %", "mIoU"]); }
    cards.forEach(function (c) {
      $("totals").appendChild(el("div", {"class": "card", id: "total-" + c[0]}, [el("b", {text: c[1]}), el("span", {text: c[2]})]));
    });
  }
  function latencyNote() {
    var L = D.latency;
    if (L.source === "model") { return "predicted by " + L.file + (L.device ? " (" + L.device + ")" : ""); }
    return "measured here, ONNX Runtime" + (L.device && L.device.cpu ? " on " + L.device.cpu : "");
  }

  /* ---- the table ---- */
  function primTable(row) {
    var head = ["layer", "what", "output"].map(function (h) { return el("th", {text: h}); })
      .concat(COSTS.map(function (c) { return el("th", {"class": "num", text: c.head}); }));
    var body = row.layers.map(function (l) {
      return el("tr", {}, [el("td", {"class": "mono", text: l.name}),
        el("td", {}, [el("span", {"class": "kind k-" + l.kind}), document.createTextNode(l.label)]),
        el("td", {"class": "mono", text: shape(l.out)})].concat(COSTS.map(function (c) {
          return numCell(l[c.key], row[c.key], c); })));
    });
    return el("table", {}, [el("thead", {}, [el("tr", {}, head)]), el("tbody", {}, body)]);
  }
  function toggle(tr, row) {
    var next = tr.nextSibling;
    if (next && next.classList.contains("prims")) { next.remove(); tr.classList.remove("open"); return; }
    var cols = tr.children.length;
    tr.after(el("tr", {"class": "prims"}, [el("td", {colspan: cols}, [primTable(row)])]));
    tr.classList.add("open");
  }
  function stageTable(stage) {
    var head = ["row"].concat(stage.columns, ["other fields", "output"]).map(function (h) { return el("th", {text: h}); })
      .concat(COSTS.map(function (c) { return el("th", {"class": "num", text: c.head}); }));
    var body = D.rows.filter(function (r) { return r.stage === stage.id; }).map(function (r) {
      var tr = el("tr", {"class": "row", "data-id": r.id, tabindex: "0"}, [el("td", {"class": "mono", text: r.key})]
        .concat(r.cells.map(function (v) { return el("td", {text: Array.isArray(v) ? v.join(", ") : String(v)}); }),
          [el("td", {"class": "small", text: r.other}), el("td", {"class": "mono", text: shape(r.out)})],
          COSTS.map(function (c) { return numCell(r[c.key], D.totals[c.key], c); })));
      tr.addEventListener("click", function () { toggle(tr, r); highlight(r.id, false); });
      tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { toggle(tr, r); } });
      return tr;
    });
    return el("table", {"class": "spec"}, [el("thead", {}, [el("tr", {}, head)]), el("tbody", {}, body)]);
  }
  function tables() {
    D.stages.forEach(function (s) {
      var title = el("h3", {text: s.id + (s.doc ? ": " + s.doc : "")});
      title.appendChild(el("span", {"class": "sub", text: "  \u00b7 " + COSTS.map(function (c) {
        return c.head + " " + c.fmt(s[c.key]); }).join(" \u00b7 ")}));
      $("stages").appendChild(el("div", {"class": "stage", "data-stage": s.id}, [title, stageTable(s)]));
    });
  }

  /* ---- graph <-> table ---- */
  function highlight(id, scroll) {
    document.querySelectorAll(".hl").forEach(function (e) { e.classList.remove("hl"); });
    document.querySelectorAll('#graph .node[data-row="' + id + '"]').forEach(function (e) { e.classList.add("hl"); });
    var tr = document.querySelector('#table tr.row[data-id="' + id + '"]');
    if (tr) { tr.classList.add("hl"); if (scroll) { tr.scrollIntoView({block: "center"}); tr.focus(); } }
  }
  function graphClicks() {
    document.querySelectorAll("#graph .node").forEach(function (n) {
      var id = n.getAttribute("data-row");
      if (!id) { return; }
      n.addEventListener("click", function () { highlight(id, true); });
      n.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { highlight(id, true); } });
    });
  }

  window.archcReport = {data: D, highlight: highlight};
  header();
  tables();
  graphClicks();
  var U = {el: el, sv: sv, int: int, mega: mega, mb: mb, ms: ms, COSTS: COSTS, numCell: numCell};
  window.archcKnobs(D, U);
  window.archcCompare(D, U);
  window.archcQuality(D, U);
})();
