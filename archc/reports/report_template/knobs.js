/* archc report: the knobs (one control per grid knob), the chosen configuration's totals and
   per-stage costs, and the Pareto plot of all configurations with the chosen one marked. */
window.archcKnobs = function (D, U) {
  "use strict";
  var G = D.grid, names = Object.keys(G.knobs), byKey = {};
  var SHORT = {width: "w", expand: "t", repeat: "r", input: "in", drop: "drop", groups: "g"};
  function key(knobs) { return names.map(function (n) { return knobs[n]; }).join("|"); }
  G.configs.forEach(function (c) { byKey[key(c.knobs)] = c; });
  var base = G.configs[0];
  var hasMs = G.configs.some(function (c) { return c.ms !== null && c.ms !== undefined; });
  var costs = U.COSTS.filter(function (c) { return c.key !== "ms" || hasMs; });
  var axes = {x: hasMs ? "ms" : "macs", y: "params"};

  function valueLabel(n, v) { return v === "none" ? "as in the spec" : (n === "input" ? v.split("x").slice(1).join("\u00d7") : v); }
  function label(c) {
    return names.map(function (n) { var v = c.knobs[n]; return v === "none" ? "" : (SHORT[n.split("@")[0]] || n) + "=" +
      (n === "input" ? v.split("x").pop() : v); }).filter(Boolean).join(" ") || "spec";
  }
  function chosen() {
    var knobs = {};
    names.forEach(function (n) { knobs[n] = document.getElementById("knob-" + n).value; });
    return byKey[key(knobs)];
  }
  function controls() {
    var box = document.getElementById("controls");
    names.forEach(function (n) {
      var sel = U.el("select", {id: "knob-" + n, name: n}, G.knobs[n].map(function (v) {
        return U.el("option", {value: v, text: valueLabel(n, v)}); }));
      sel.addEventListener("change", update);
      box.appendChild(U.el("label", {"for": "knob-" + n, text: n}, [sel]));
    });
    document.getElementById("knobs-note").textContent = G.configs.length + " configurations (" + names.map(function (n) {
      return n + ": " + G.knobs[n].length; }).join(" \u00d7 ") + "), all computed by archc's sweep when the page was " +
      "made: pick a value per knob to see its costs. " + (hasMs ? "Latency is predicted by the latency model." :
      "Latency needs --latency-model (a fitted model predicts every configuration).");
  }
  function cards(c) {
    var box = document.getElementById("chosen");
    box.innerHTML = "";
    costs.forEach(function (k) {
      var v = c[k.key], b = base[k.key], ratio = (v && b) ? "\u00d7" + (v / b).toFixed(3) + " of the first configuration" : "";
      box.appendChild(U.el("div", {"class": "card"}, [U.el("b", {id: "chosen-" + k.key.replace("_", "-"), text: k.fmt(v)}),
        U.el("span", {text: k.head}), U.el("div", {"class": "delta", text: ratio})]));
    });
    document.getElementById("chosen-reason").textContent = c.status === "ok" ? "" :
      "not a valid configuration (" + c.status + "): " + c.reason;
  }
  function stageRows(c) {
    var t = document.getElementById("chosen-stages");
    t.innerHTML = "";
    t.appendChild(U.el("tr", {}, [U.el("th", {text: "stage"})].concat(costs.map(function (k) {
      return U.el("th", {"class": "num", text: k.head}); }))));
    D.stages.forEach(function (s) {
      var v = (c.stages || {})[s.id];
      t.appendChild(U.el("tr", {"data-stage": s.id}, [U.el("td", {text: s.id})].concat(costs.map(function (k, i) {
        return U.numCell(v ? v[i] : null, c[k.key], k); }))));
    });
  }
  function rowRows(c) {
    var t = document.getElementById("chosen-rows");
    t.innerHTML = "";
    t.appendChild(U.el("tr", {}, [U.el("th", {text: "row"})].concat(costs.map(function (k) {
      return U.el("th", {"class": "num", text: k.head}); }), [U.el("th", {"class": "num", text: "MACs vs first"})])));
    D.rows.forEach(function (r) {
      var v = (c.rows || {})[r.id], b = (base.rows || {})[r.id];
      var ratio = v && b && b[1] ? "\u00d7" + (v[1] / b[1]).toFixed(2) : (c.status === "ok" && !v ? "dropped" : "\u2013");
      t.appendChild(U.el("tr", {"data-row": r.id}, [U.el("td", {"class": "mono", text: r.id})].concat(costs.map(function (k, i) {
        return U.numCell(v ? v[i] : null, c[k.key], k); }), [U.el("td", {"class": "num", text: ratio})])));
    });
  }
  function update() {
    var c = chosen();
    cards(c);
    stageRows(c);
    rowRows(c);
    plot(c);
  }
  function select(c) {
    names.forEach(function (n) { document.getElementById("knob-" + n).value = c.knobs[n]; });
    update();
  }
  window.archcKnobs.select = select;
  window.archcKnobs.label = label;
  window.archcKnobs.axes = axes;
  window.archcKnobs.update = update;
  controls();
  axisControls(costs, axes, update, U);
  update();

  function plot(c) { window.archcPareto(D, U, G.configs, c, axes, label, select); }
};

function axisControls(costs, axes, update, U) {
  "use strict";
  var box = document.getElementById("axes");
  ["x", "y"].forEach(function (a) {
    var sel = U.el("select", {id: "axis-" + a}, costs.map(function (k) { return U.el("option", {value: k.key, text: k.head}); }));
    sel.value = axes[a];
    sel.addEventListener("change", function () { axes[a] = sel.value; update(); });
    box.appendChild(U.el("label", {"for": "axis-" + a, text: a + " axis"}, [sel]));
  });
}
