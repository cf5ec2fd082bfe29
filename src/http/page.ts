/**
 * The status page at `/`: one self-contained HTML document (inline style and script, no external asset, no
 * framework) that reads `/status` and `/history` every few seconds and redraws in place. Sources are groups,
 * collapsed when large; severity is a colour and a word (and a symbol), so it reads without colour too.
 */
import type { HttpAnswer } from './answer.ts';

/** Seconds between the page's refreshes. */
export const PAGE_REFRESH_SECONDS = 3;

/** Groups with more nodes than this start collapsed. */
export const PAGE_COLLAPSE_ABOVE = 50;

const STYLE = `
:root { color-scheme: light; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; background: #f6f7f9; color: #1d232b; }
header { display: flex; flex-wrap: wrap; gap: 1em; align-items: baseline; padding: .8em 1.2em; background: #1d232b; color: #fff; }
header h1 { font-size: 1.15em; margin: 0; }
header .meta { color: #c5ccd6; font-size: .9em; }
#banner { display: none; padding: .6em 1.2em; background: #fde2e1; color: #8a1c17; font-weight: 600; }
main { padding: .6em 1.2em 2em; }
.tools { margin: .4em 0 .8em; }
.tools input { padding: .3em .5em; width: 18em; }
details.source { background: #fff; border: 1px solid #d8dde4; border-radius: 6px; margin: 0 0 .8em; }
details.source > summary { cursor: pointer; padding: .6em .8em; display: flex; flex-wrap: wrap; gap: .8em; align-items: baseline; }
summary .name { font-weight: 700; }
summary .type { color: #59636e; }
.state { font-weight: 700; padding: 0 .4em; border-radius: 3px; }
.state.up { background: #dcf5e3; color: #11612b; }
.state.down { background: #fde2e1; color: #8a1c17; }
.state.waiting { background: #eceff3; color: #3b4550; }
.error { color: #8a1c17; flex-basis: 100%; font-family: ui-monospace, monospace; font-size: .85em; }
.counts span { margin-right: .6em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: .25em .6em; border-top: 1px solid #eceff3; white-space: nowrap; }
th { color: #59636e; font-weight: 600; background: #fafbfc; }
th:first-child, td:first-child, td.sev, th.sev { text-align: left; }
.sev { font-weight: 700; }
.sev-normal { color: #11612b; }
.sev-warning { color: #7a4d00; background: #fff4d6; }
.sev-critical { color: #fff; background: #b42318; }
.sev-stalled { color: #fff; background: #5b2a86; }
.more { padding: .4em .8em; color: #59636e; }
svg.spark { display: block; }
svg.spark polyline { fill: none; stroke: #2f6feb; stroke-width: 1.5; }
svg.spark line { stroke: #d0a000; stroke-dasharray: 2 2; stroke-width: 1; }
`;

const SCRIPT = `
"use strict";
var REFRESH_MS = ${PAGE_REFRESH_SECONDS * 1000};
var COLLAPSE_ABOVE = ${PAGE_COLLAPSE_ABOVE};
var MAX_ROWS = 500;
var RANK = { stalled: 0, critical: 1, warning: 2, normal: 3 };
var MARK = { normal: "\\u2713", warning: "\\u25B2", critical: "\\u2716", stalled: "\\u25A0" };
var open = {};
var filterText = "";
var refreshes = 0;
var groups = document.getElementById("sources");

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function seconds(v) {
  if (v === undefined) return "\\u2013";
  if (v < 10) return v.toFixed(2) + " s";
  if (v < 120) return v.toFixed(1) + " s";
  if (v < 7200) return (v / 60).toFixed(1) + " min";
  return (v / 3600).toFixed(1) + " h";
}
function rate(v) { return v === undefined ? "\\u2013" : (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + "/s"; }
function spark(points) {
  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", "120");
  svg.setAttribute("height", "22");
  svg.setAttribute("role", "img");
  if (!points || points.length === 0) { svg.setAttribute("aria-label", "no history yet"); return svg; }
  var max = 0.001, i;
  for (i = 0; i < points.length; i++) if (points[i][1] > max) max = points[i][1];
  var t0 = points[0][0], span = Math.max(1, points[points.length - 1][0] - t0), coords = [];
  for (i = 0; i < points.length; i++) {
    coords.push((2 + 116 * (points[i][0] - t0) / span).toFixed(1) + "," + (20 - 18 * points[i][1] / max).toFixed(1));
  }
  if (points.length === 1) coords.push("118," + coords[0].split(",")[1]);
  var line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.appendChild(line);
  svg.setAttribute("aria-label", "delay over the last " + Math.round(-t0 / 60) + " min, peak " + seconds(max));
  return svg;
}
function row(node, history) {
  var tr = el("tr");
  tr.setAttribute("data-node", node.id);
  tr.appendChild(el("td", "id", node.id));
  var sev = el("td", "sev sev-" + node.severity, (MARK[node.severity] || "") + " " + node.severity + (node.provisional ? "?" : ""));
  sev.setAttribute("data-severity", node.severity);
  if (node.provisional) sev.title = "delay not measured yet: a lower bound";
  tr.appendChild(sev);
  tr.appendChild(el("td", "", String(node.lag)));
  tr.appendChild(el("td", "delay", seconds(node.delaySeconds)));
  tr.appendChild(el("td", "", seconds(node.predictedDelaySeconds)));
  tr.appendChild(el("td", "", seconds(node.catchUpSeconds)));
  tr.appendChild(el("td", "", seconds(node.secondsToCritical)));
  tr.appendChild(el("td", "", rate(node.applyRate)));
  var chart = el("td", "chart");
  chart.appendChild(spark(history ? history[node.id] : undefined));
  tr.appendChild(chart);
  return tr;
}
function table(source, history) {
  var t = el("table"), head = el("tr");
  ["Node", "Severity", "Lag (entries)", "Delay", "Forecast", "Catch-up ETA", "To critical", "Apply rate", "Delay, last 10 min"].forEach(function (h, i) {
    head.appendChild(el("th", i === 1 ? "sev" : "", h));
  });
  var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
  var body = el("tbody");
  var nodes = source.nodes.filter(function (n) { return filterText === "" || n.id.toLowerCase().indexOf(filterText) >= 0; });
  nodes.sort(function (a, b) { return (RANK[a.severity] - RANK[b.severity]) || ((b.delaySeconds || 0) - (a.delaySeconds || 0)) || (a.id < b.id ? -1 : 1); });
  nodes.slice(0, MAX_ROWS).forEach(function (n) { body.appendChild(row(n, history)); });
  t.appendChild(body);
  var wrap = el("div");
  wrap.appendChild(t);
  if (nodes.length > MAX_ROWS) wrap.appendChild(el("div", "more", (nodes.length - MAX_ROWS) + " more nodes (worst first shown): filter by node id to find one"));
  if (nodes.length === 0) wrap.appendChild(el("div", "more", source.nodes.length === 0 ? "no node reported yet" : "no node matches the filter"));
  return wrap;
}
function summary(source) {
  var s = el("summary");
  s.appendChild(el("span", "name", source.name));
  s.appendChild(el("span", "type", source.type));
  var state = source.up ? "up" : (source.lastPoll ? "down" : "waiting");
  var badge = el("span", "state " + state, state === "up" ? "\\u25CF up" : state === "down" ? "\\u25CB down" : "\\u25CC not read yet");
  badge.setAttribute("data-state", state);
  s.appendChild(badge);
  var counts = { normal: 0, warning: 0, critical: 0, stalled: 0 };
  source.nodes.forEach(function (n) { counts[n.severity] = (counts[n.severity] || 0) + 1; });
  var c = el("span", "counts");
  c.appendChild(el("span", "", source.nodes.length + (source.nodes.length === 1 ? " node" : " nodes")));
  ["stalled", "critical", "warning", "normal"].forEach(function (k) { if (counts[k] > 0) c.appendChild(el("span", "sev sev-" + k, MARK[k] + " " + counts[k] + " " + k)); });
  s.appendChild(c);
  if (source.lastPoll) s.appendChild(el("span", "type", "polled " + new Date(source.lastPoll).toLocaleTimeString()));
  if (source.lastError) s.appendChild(el("span", "error", source.lastError));
  return s;
}
function render(doc, histories) {
  var seen = {};
  doc.sources.forEach(function (source) {
    seen[source.name] = true;
    var d = groups.querySelector("details[data-source=\\"" + CSS.escape(source.name) + "\\"]");
    if (!d) {
      d = el("details", "source");
      d.setAttribute("data-source", source.name);
      d.addEventListener("toggle", function () {
        var was = open[source.name];
        open[source.name] = d.open;
        if (d.open && !was) refresh();
      });
      groups.appendChild(d);
    }
    if (open[source.name] === undefined) open[source.name] = source.nodes.length <= COLLAPSE_ABOVE;
    d.open = open[source.name];
    d.replaceChildren(summary(source));
    if (d.open) d.appendChild(table(source, histories[source.name]));
  });
  Array.prototype.slice.call(groups.children).forEach(function (d) { if (!seen[d.getAttribute("data-source")]) d.remove(); });
}
function getJson(url) {
  return fetch(url, { cache: "no-store" }).then(function (r) {
    if (!r.ok) throw new Error(url + " answered " + r.status);
    return r.json();
  });
}
var busy = false;
function refresh() {
  if (busy) return;
  busy = true;
  getJson("status").then(function (doc) {
    var wanted = doc.sources.filter(function (s) { return open[s.name] !== undefined ? open[s.name] : s.nodes.length <= COLLAPSE_ABOVE; });
    return Promise.all(wanted.map(function (s) {
      return getJson("history?source=" + encodeURIComponent(s.name)).then(function (h) { return [s.name, h.nodes]; }, function () { return [s.name, {}]; });
    })).then(function (pairs) {
      var histories = {};
      pairs.forEach(function (p) { histories[p[0]] = p[1]; });
      render(doc, histories);
      refreshes++;
      var total = 0;
      doc.sources.forEach(function (s) { total += s.nodes.length; });
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString() + " \\u00B7 " + doc.sources.length + " sources, " + total + " nodes";
      document.body.setAttribute("data-refreshes", String(refreshes));
      document.getElementById("banner").style.display = "none";
    });
  }).catch(function (e) {
    var b = document.getElementById("banner");
    b.textContent = "Cannot read replag (" + e.message + "): showing the last figures read.";
    b.style.display = "block";
  }).then(function () { busy = false; });
}
document.getElementById("filter").addEventListener("input", function (e) { filterText = e.target.value.trim().toLowerCase(); refresh(); });
refresh();
setInterval(refresh, REFRESH_MS);
`;

/** The page's HTML. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>replag: replication lag</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-refreshes="0">
<header><h1>replag: replication lag</h1><span class="meta" id="updated">loading…</span><span class="meta">refreshes every ${PAGE_REFRESH_SECONDS} s · JSON at <a href="status" style="color:#9ecbff">/status</a></span></header>
<div id="banner" role="alert"></div>
<main>
<div class="tools"><label>Filter nodes <input id="filter" type="search" placeholder="node id"></label></div>
<div id="sources"></div>
<noscript>This page needs JavaScript to refresh; the same figures are at <a href="status">/status</a>.</noscript>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** `GET /`: the page. */
export function pageAnswer(): HttpAnswer {
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Everything is inline: nothing else may load (no external asset, and no injected one either).
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:",
    },
    body: PAGE_HTML,
  };
}
