/* archc report: the Pareto plot (SVG drawn here). x: lower is better; y: higher is better for params
   (capacity, when no accuracy is known), lower for the other costs. */
window.archcPareto = function (D, U, configs, chosen, axes, label, select) {
  "use strict";
  var W = 640, H = 430, L = 84, R = 24, T = 20, B = 62;
  var cx = U.COSTS.filter(function (k) { return k.key === axes.x; })[0];
  var cy = U.COSTS.filter(function (k) { return k.key === axes.y; })[0];
  var pts = configs.filter(function (c) { return c.status === "ok" && c[axes.x] != null && c[axes.y] != null; })
    .map(function (c) { return {x: c[axes.x] / cx.scale, y: c[axes.y] / cy.scale, c: c}; });
  var box = document.getElementById("pareto");
  box.innerHTML = "";
  if (!pts.length) { box.textContent = "no configuration has both values"; return; }
  var yHigh = axes.y === "params";
  var front = frontier(pts, yHigh), onFront = new Set(front.map(function (p) { return p.c; }));
  var sx = scale(pts.map(function (p) { return p.x; }), L, W - R), sy = scale(pts.map(function (p) { return p.y; }), H - B, T);
  var svg = U.sv("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
  axis(svg, sx, true, cx.unit + ", lower is better", U);
  axis(svg, sy, false, cy.unit + (yHigh ? ", higher is better" : ", lower is better"), U);
  svg.appendChild(U.sv("polyline", {"class": "frontline", points: front.map(function (p) {
    return sx.f(p.x).toFixed(1) + "," + sy.f(p.y).toFixed(1); }).join(" ")}));
  pts.forEach(function (p) {
    var dot = U.sv("circle", {"class": "pt" + (onFront.has(p.c) ? " front" : ""), cx: sx.f(p.x), cy: sy.f(p.y), r: onFront.has(p.c) ? 6 : 4.5});
    dot.appendChild(U.sv("title", {}, label(p.c) + ": " + cx.fmt(p.c[axes.x]) + ", " + cy.fmt(p.c[axes.y])));
    dot.addEventListener("click", function () { select(p.c); });
    svg.appendChild(dot);
  });
  var placed = [];
  front.forEach(function (p) { placeLabel(svg, placed, sx.f(p.x), sy.f(p.y), label(p.c), U); });
  var me = pts.filter(function (p) { return p.c === chosen; })[0];
  if (me) { svg.appendChild(U.sv("circle", {"class": "chosen", id: "pareto-chosen", cx: sx.f(me.x), cy: sy.f(me.y), r: 11})); }
  box.appendChild(svg);
  box.appendChild(U.el("p", {"class": "note", text: front.length + " of " + pts.length + " configurations on the frontier (red); " +
    "the ring is the chosen one; click a point to choose it."}));
};

function frontier(pts, yHigh) {
  "use strict";
  var s = yHigh ? -1 : 1, best = null, out = [];
  pts.slice().sort(function (a, b) { return a.x - b.x || s * (a.y - b.y); }).forEach(function (p) {
    if (best === null || s * p.y < best) { out.push(p); best = s * p.y; }
  });
  return out;
}

function scale(values, a, b) {
  "use strict";
  var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
  var log = lo > 0 && hi / lo > 10;
  if (hi === lo) { lo = lo * 0.9 - 1e-9; hi = hi * 1.1 + 1e-9; }
  var t = log ? function (v) { return Math.log10(v); } : function (v) { return v; };
  var pad = (t(hi) - t(lo)) * 0.06, l = t(lo) - pad, h = t(hi) + pad;
  return {log: log, lo: log ? Math.pow(10, l) : l, hi: log ? Math.pow(10, h) : h,
          f: function (v) { return a + (b - a) * (t(v) - l) / (h - l); }};
}

function ticks(s) {
  "use strict";
  var out = [];
  if (s.log) {
    for (var e = Math.floor(Math.log10(s.lo)); e <= Math.ceil(Math.log10(s.hi)); e++) {
      [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, e); if (v >= s.lo && v <= s.hi) { out.push(v); } });
    }
    return out;
  }
  var step = Math.pow(10, Math.floor(Math.log10((s.hi - s.lo) / 5)));
  if ((s.hi - s.lo) / step > 10) { step *= 2; }
  if ((s.hi - s.lo) / step > 10) { step *= 2.5; }
  for (var v = Math.ceil(s.lo / step) * step; v <= s.hi; v += step) { out.push(v); }
  return out;
}

function axis(svg, s, horizontal, title, U) {
  "use strict";
  var W = 640, H = 430, L = 84, T = 20, B = 62, R = 24;
  ticks(s).forEach(function (v) {
    var p = s.f(v), text = Number(v.toPrecision(4)).toLocaleString("en-US");
    if (horizontal) {
      svg.appendChild(U.sv("line", {"class": "grid", x1: p, x2: p, y1: T, y2: H - B}));
      svg.appendChild(U.sv("text", {x: p, y: H - B + 16, "text-anchor": "middle"}, text));
    } else {
      svg.appendChild(U.sv("line", {"class": "grid", x1: L, x2: W - R, y1: p, y2: p}));
      svg.appendChild(U.sv("text", {x: L - 6, y: p + 4, "text-anchor": "end"}, text));
    }
  });
  svg.appendChild(horizontal ? U.sv("line", {"class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B})
    : U.sv("line", {"class": "axis", x1: L, x2: L, y1: T, y2: H - B}));
  svg.appendChild(horizontal ? U.sv("text", {x: (L + W - R) / 2, y: H - 18, "text-anchor": "middle", "font-weight": 600}, title + (s.log ? " (log scale)" : ""))
    : U.sv("text", {x: 16, y: (T + H - B) / 2, "text-anchor": "middle", "font-weight": 600,
      transform: "rotate(-90 16 " + (T + H - B) / 2 + ")"}, title + (s.log ? " (log)" : "")));
}

function placeLabel(svg, placed, x, y, text, U) {
  "use strict";
  var w = 6.2 * text.length, h = 13;  /* 11 px type: a label's box, roughly */
  var tries = [[8, -5], [8, 15], [-8 - w, -5], [-8 - w, 15], [8, -19], [-8 - w, 27]];
  for (var i = 0; i < tries.length; i++) {
    var bx = x + tries[i][0], by = y + tries[i][1] - h + 3;
    var clash = placed.some(function (b) { return bx < b[0] + b[2] && b[0] < bx + w && by < b[1] + b[3] && b[1] < by + h; });
    if (!clash && bx > 84 && bx + w < 636 && by > 8) {
      placed.push([bx, by, w, h]);
      svg.appendChild(U.sv("text", {x: bx, y: by + h - 3, "font-size": 11, fill: "#8b1a1a"}, text));
      return;
    }
  }
}
