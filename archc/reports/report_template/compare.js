/* archc report: --diff (two networks side by side, row costs aligned by stage) and the quality
   section (mIoU with --weights and --data; predicted-mask pictures with --masks). */
window.archcCompare = function (D, U) {
  "use strict";
  if (!D.other) { document.getElementById("nav-compare").remove(); return; }
  var O = D.other, costs = U.COSTS.filter(function (c) { return c.key !== "ms"; });
  document.getElementById("compare").hidden = false;
  document.getElementById("compare-title").textContent = "Compared with " + O.name + " (" + O.file + ")";
  var t = U.el("table", {id: "compare-table"}, [U.el("tr", {}, ["", D.name + " (A)", O.name + " (B)", "B \u2212 A", "B / A"]
    .map(function (h) { return U.el("th", {text: h}); }))]);
  costs.forEach(function (k) {
    var a = D.totals[k.key], b = O.totals[k.key];
    t.appendChild(U.el("tr", {}, [U.el("td", {text: k.head}), U.el("td", {"class": "num", text: k.fmt(a)}),
      U.el("td", {"class": "num", text: k.fmt(b)}), U.el("td", {"class": "num", text: (b >= a ? "+" : "\u2212") + k.fmt(Math.abs(b - a))}),
      U.el("td", {"class": "num", text: a ? "\u00d7" + (b / a).toFixed(3) : "\u2013"})]));
  });
  document.getElementById("compare-totals").appendChild(t);
  var box = document.getElementById("compare-stages");
  D.diff.stages.forEach(function (s) {
    box.appendChild(U.el("h3", {text: s.stage + "  (B \u2212 A: " + costs.map(function (k) {
      var d = s.delta[k.key]; return k.head + " " + (d >= 0 ? "+" : "\u2212") + k.fmt(Math.abs(d)); }).join(", ") + ")"}));
    box.appendChild(U.el("div", {"class": "side", "data-stage": s.stage}, [side(D, s.stage, "A", costs, U), side(O, s.stage, "B", costs, U)]));
  });
};

function side(net, stage, tag, costs, U) {
  "use strict";
  var rows = net.rows.filter(function (r) { return r.stage === stage; });
  var div = U.el("div", {}, [U.el("b", {text: tag + ": " + net.name})]);
  if (!rows.length) { div.appendChild(U.el("p", {"class": "note", text: "no stage " + stage})); return div; }
  var t = U.el("table", {"class": "compare-rows"}, [U.el("tr", {}, ["row", "op", "output"].map(function (h) { return U.el("th", {text: h}); })
    .concat(costs.map(function (k) { return U.el("th", {"class": "num", text: k.head}); })))]);
  rows.forEach(function (r) {
    t.appendChild(U.el("tr", {"class": "crow"}, [U.el("td", {"class": "mono", text: r.key}), U.el("td", {text: r.op + (r.n > 1 ? " \u00d7" + r.n : "")}),
      U.el("td", {"class": "mono", text: r.out.join("x")})].concat(costs.map(function (k) { return U.numCell(r[k.key], net.totals[k.key], k); }))));
  });
  div.appendChild(t);
  return div;
}

window.archcQuality = function (D, U) {
  "use strict";
  var box = document.getElementById("quality-body"), Q = D.quality;
  if (Q) {
    box.appendChild(U.el("p", {}, [U.el("span", {"class": "bigmiou", id: "miou", text: (100 * Q.miou).toFixed(1) + " % mIoU"}),
      document.createTextNode("  on " + Q.images + " images of " + Q.data + "'s val split, weights " + Q.weights +
        (Q.pixel_accuracy != null ? "; pixel accuracy " + (100 * Q.pixel_accuracy).toFixed(1) + " %" : ""))]));
  } else {
    box.appendChild(U.el("p", {"class": "note", text: "No mIoU: give --weights CKPT --data DIR (a checkpoint of this spec and a " +
      "dataset folder) to score the network on the data's val split."}));
  }
  if (D.masks.length) {
    box.appendChild(U.el("div", {"class": "masks"}, D.masks.map(function (m) {
      return U.el("figure", {}, [U.el("img", {src: m.src, alt: m.name}), U.el("figcaption", {"class": "mono", text: m.name})]); })));
  } else {
    box.appendChild(U.el("p", {"class": "note", text: "Predicted masks: none shown" + (Q ? " (mIoU only)" : "") + ". --masks DIR " +
      "puts a folder of pictures on this page, such as the predicted masks a predict command writes; this archc draws none itself."}));
  }
};
