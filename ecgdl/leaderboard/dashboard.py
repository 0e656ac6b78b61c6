"""The leaderboard dashboard: one self-contained HTML page that works offline.

The fixed figures (a model x (set, degradation) heatmap of SNR and the per-page SNR boxes of the top runs) are
drawn by matplotlib when the page is built and inlined as SVG (:mod:`ecgdl.leaderboard.figures`); the runs are
one embedded JSON document from which the page's script draws what follows the user's choice of two runs:
overrides, commit, date, a gallery of the best and worst pages' overlays (small JPEG thumbnails under
``<out>/thumbs/`` that link to the full images), per-lead SNR bars, per-page SNR of one against the other, the
config keys that differ and the pages that differ most. The ranked table sorts when a header is clicked.

Page address options (after ``#``, joined by ``&``): ``a=<rank>``, ``b=<rank>`` choose the two runs,
``sort=<column>:asc|desc`` sorts the ranked table, ``view=<element id>`` scrolls to a section (``sec-compare``),
``selftest=1`` checks that the plots drew and that sorting works and writes the result into
``<pre id="selftest">`` (for the browser test).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from ecgdl.constants import LEADS
from ecgdl.leaderboard.figures import heatmap_svg, page_box_svg
from ecgdl.leaderboard.runs import TYPE_PREFIX, results_table, run_details
from ecgdl.leaderboard.tables import SORT_SCRIPT, TABLE_STYLE, html_table
from ecgdl.viz.pages import href, make_thumbnail

__all__ = ["dashboard_html"]


def _round(value: Any, digits: int = 2) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return round(out, digits) if math.isfinite(out) else None


def _intern(table: dict[str, int], text: str) -> int:
    index = table.get(text)
    if index is None:
        index = table[text] = len(table)
    return index


def _runs_json(
    frame: pd.DataFrame,
    root: Path | None,
    out_dir: Path,
    overlays_per_tag: int,
    thumb_width_px: int,
    workers: int,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """One JSON record per run; config items and page names are interned in two shared string tables (runs of
    one sweep share most of both)."""
    items: dict[str, int] = {}
    pages: dict[str, int] = {}
    records = []
    jobs: list[tuple[list[Any], Path, Path]] = []  # (gallery entry, overlay png, thumbnail to write)
    for row in frame.to_dict("records"):
        record: dict[str, Any] = {
            "rank": int(row["rank"]),
            "label": str(row["run"]),
            "snr": _round(row.get("snr_db")),
            "model": row.get("model") if isinstance(row.get("model"), str) else None,
            "set": row.get("eval_set") if isinstance(row.get("eval_set"), str) else None,
            "n": _round(row.get("n_images"), 0),
            "path": str(row["path"]),
        }
        if root is not None:
            details = run_details(root, str(row["path"]), overlays_per_tag=overlays_per_tag)
            gallery = []
            for tag, page, db, png in details.overlays:
                leads_png = png.with_name(png.name.replace("-overlay.png", "-leads.png"))
                entry = [
                    tag,
                    page,
                    _round(db),
                    href(png, out_dir),
                    href(png, out_dir),
                    href(leads_png, out_dir) if leads_png.is_file() else "",
                ]
                gallery.append(entry)
                jobs.append((entry, png, out_dir / "thumbs" / "runs" / str(row["path"]) / f"{png.stem}.jpg"))
            record.update(
                href=href(root / str(row["path"]), out_dir),
                ovr=details.overrides,
                commit=details.commit,
                date=details.date,
                cfg=[_intern(items, f"{key}={value}") for key, value in details.config.items()],
                pid=[_intern(pages, page) for page in details.page_ids],
                db=[_round(v) for v in details.page_db],
                lead=[_round(v) for v in details.lead_db],
                gal=gallery,
            )
        records.append(record)
    with ThreadPoolExecutor(max(1, workers)) as pool:  # PNG decoding dominates; OpenCV releases the GIL
        thumbs = list(pool.map(lambda job: make_thumbnail(job[1], job[2], thumb_width_px), jobs))
    for (entry, _, _), thumb in zip(jobs, thumbs, strict=True):
        if thumb is not None:
            entry[3] = href(thumb, out_dir)
    return records, list(items), list(pages)


def _heatmap(table: pd.DataFrame) -> str:
    if table.empty:
        return '<p class="hint">No run names its model and evaluation set (metrics.json "model" and "eval_set").</p>'
    return heatmap_svg(table)


def _page_boxes(runs: list[dict[str, Any]], top_runs: int) -> str:
    shown = [r for r in runs[:top_runs] if r.get("db")]
    if not shown:
        return '<p class="hint">No run has a per_image.csv.</p>'
    names = [_short(r, 44) for r in shown]
    return page_box_svg(names, [r["db"] for r in shown], [r["snr"] for r in shown])


def _short(run: dict[str, Any], n: int) -> str:
    label = run["label"] if len(run["label"]) <= n else run["label"][: n - 1] + "\u2026"
    return f"#{run['rank']} {label}"


def _script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</`` that could end it)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


_STYLE = """
body{max-width:1500px}
h2{margin-top:1.6em;border-bottom:1px solid #ddd}
nav a{margin-right:1em}
.hint{color:#555;font-size:13px}
.plot{width:100%;min-height:120px}
.plot svg{width:100%;height:auto;display:block}
.scroll{max-height:min(60vh,560px);overflow:auto;margin-bottom:1em}
.scroll table{margin-bottom:0}
#ranked tbody tr{cursor:pointer}
#ranked tbody tr:hover{background:#f6f9ff}
#ranked tr.sel-a td:first-child{box-shadow:inset 4px 0 #2e6fb5}
#ranked tr.sel-b td:first-child{box-shadow:inset 4px 0 #e6862e}
.pick{display:flex;gap:2em;flex-wrap:wrap;margin:.5em 0}
.pick select{max-width:42em}
.cards{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;overflow:hidden}
.card.a{border-top:4px solid #2e6fb5}.card.b{border-top:4px solid #e6862e}
.card h3{margin:.2em 0 .5em;font-size:16px;word-break:break-all}
table.kv td,table.kv th{border:none;padding:1px 8px 1px 0;cursor:default;background:none;vertical-align:top}
code{background:#f4f4f4;padding:0 3px;border-radius:3px;font-size:12px}
.gallery{display:flex;flex-wrap:wrap;gap:8px;margin-top:.6em}
.gallery figure{margin:0;width:THUMBpx;font-size:12px}
.gallery img{width:THUMBpx;height:auto;min-height:60px;border:1px solid #ccc;display:block;background:#fafafa}
.gallery figure.worst figcaption b{color:#b3261e}.gallery figure.best figcaption b{color:#1e7b34}
.two{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
#cfgdiff td,#pagediff td{font-size:13px;word-break:break-all}
"""

_DASHBOARD_SCRIPT = r"""
(function(){
'use strict';
var D = JSON.parse(document.getElementById('lb-data').textContent);
var RUNS = D.runs, LEADS = D.leads;
var state = {a: RUNS.length ? 0 : -1, b: RUNS.length > 1 ? 1 : -1};
function esc(s){ return String(s == null ? '' : s).replace(/[&<>"']/g, function(c){
  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
function num(v, d){ return v == null ? '' : v.toFixed(d == null ? 2 : d); }
function short(r, n){ n = n || 48; var s = r.label.length > n ? r.label.slice(0, n - 1) + '\u2026' : r.label;
  return '#' + r.rank + ' ' + s; }
// The two plots that follow the chosen runs are a few SVG elements written here: a browser plotting library
// would cost more to parse than the page's whole load budget (see ecgdl/leaderboard/figures.py).
function niceTicks(lo, hi){
  if (!(hi > lo)){ lo -= 1; hi += 1; }
  var raw = (hi - lo) / 5, step = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / step, out = [];
  step *= f > 5 ? 10 : f > 2 ? 5 : f > 1 ? 2 : 1;
  for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toFixed(6));
  return out;
}
function axes(W, H, m, ylo, yhi, ylab, xlo, xhi, xlab){
  // a plot frame: scales from data to pixels and the grid, ticks and labels; xlo == null: a category axis
  var yt = niceTicks(ylo, yhi); ylo = Math.min(ylo, yt[0]); yhi = Math.max(yhi, yt[yt.length - 1]);
  var f = {sy: function(v){ return m.t + (yhi - v) / (yhi - ylo) * (H - m.t - m.b); },
    parts: ['<svg viewBox="0 0 ' + W + ' ' + H + '" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">']};
  yt.forEach(function(v){ var y = f.sy(v).toFixed(1);
    f.parts.push('<line x1="' + m.l + '" y1="' + y + '" x2="' + (W - m.r) + '" y2="' + y + '" stroke="#e4e4e4"/>',
      '<text x="' + (m.l - 5) + '" y="' + (+y + 4) + '" text-anchor="end" fill="#444">' + v + '</text>'); });
  f.parts.push('<text transform="translate(14,' + ((m.t + H - m.b) / 2) + ') rotate(-90)" text-anchor="middle" fill="#222">' + esc(ylab) + '</text>');
  if (xlo != null){
    var xt = niceTicks(xlo, xhi); xlo = Math.min(xlo, xt[0]); xhi = Math.max(xhi, xt[xt.length - 1]);
    f.sx = function(v){ return m.l + (v - xlo) / (xhi - xlo) * (W - m.l - m.r); };
    xt.forEach(function(v){ var x = f.sx(v).toFixed(1);
      f.parts.push('<line x1="' + x + '" y1="' + m.t + '" x2="' + x + '" y2="' + (H - m.b) + '" stroke="#e4e4e4"/>',
        '<text x="' + x + '" y="' + (H - m.b + 16) + '" text-anchor="middle" fill="#444">' + v + '</text>'); });
    f.parts.push('<text x="' + ((m.l + W - m.r) / 2) + '" y="' + (H - 6) + '" text-anchor="middle" fill="#222">' + esc(xlab) + '</text>');
  }
  return f;
}
function drawLeads(){
  var series = [['a', '#2e6fb5'], ['b', '#e6862e']].filter(function(w){
    var i = state[w[0]]; return i >= 0 && RUNS[i].lead && RUNS[i].lead.length; });
  var el = document.getElementById('leadbars');
  if (!series.length){ el.innerHTML = '<p class="hint">No per_lead.csv in the chosen runs.</p>'; return; }
  var vals = [0];
  series.forEach(function(w){ RUNS[state[w[0]]].lead.forEach(function(v){ if (v != null) vals.push(v); }); });
  var W = 1000, H = 300, m = {l: 56, r: 10, t: 34, b: 30};
  var f = axes(W, H, m, Math.min.apply(null, vals), Math.max.apply(null, vals), 'mean SNR per page (dB)');
  var slot = (W - m.l - m.r) / LEADS.length, bw = slot * 0.8 / series.length, zero = f.sy(0);
  LEADS.forEach(function(lead, k){
    f.parts.push('<text x="' + (m.l + (k + 0.5) * slot).toFixed(1) + '" y="' + (H - m.b + 16) + '" text-anchor="middle" fill="#222">' + lead + '</text>');
    series.forEach(function(w, j){
      var v = RUNS[state[w[0]]].lead[k]; if (v == null) return;
      var y = f.sy(v), top = Math.min(y, zero), x = m.l + k * slot + slot * 0.1 + j * bw;
      f.parts.push('<rect class="bar" x="' + x.toFixed(1) + '" y="' + top.toFixed(1) + '" width="' + bw.toFixed(1) +
        '" height="' + Math.max(Math.abs(zero - y), 0.5).toFixed(1) + '" fill="' + w[1] + '"><title>' +
        w[0].toUpperCase() + ' ' + lead + ': ' + num(v) + ' dB</title></rect>'); }); });
  series.forEach(function(w, j){
    var x = m.l + j * 420;
    f.parts.push('<rect x="' + x + '" y="8" width="12" height="12" fill="' + w[1] + '"/><text x="' + (x + 17) +
      '" y="19" fill="#222">' + esc(w[0].toUpperCase() + ' ' + short(RUNS[state[w[0]]], 52)) + '</text>'); });
  el.innerHTML = f.parts.join('') + '</svg>';
}
function card(which, i){
  var el = document.getElementById('card-' + which);
  if (i < 0){ el.innerHTML = '<p class="hint">(no run)</p>'; return; }
  var r = RUNS[i];
  var rows = [['SNR', num(r.snr) + ' dB'], ['model', esc(r.model)], ['set', esc(r.set)], ['pages', num(r.n, 0)],
    ['date', esc(r.date)], ['commit', r.commit ? '<code>' + esc(r.commit) + '</code>' : '(not recorded)'],
    ['overrides', (r.ovr || []).map(function(o){ return '<code>' + esc(o) + '</code>'; }).join(' ') || '(none)'],
    ['folder', r.href ? '<a href="' + esc(r.href) + '">' + esc(r.path) + '</a>' : esc(r.path)]];
  var gal = (r.gal || []).map(function(g){
    return '<figure class="' + esc(g[0]) + '"><a href="' + esc(g[4]) + '"><img loading="lazy" src="' + esc(g[3]) +
      '" alt="' + esc(g[0] + ' page ' + g[1]) + '"></a><figcaption><b>' + esc(g[0]) + '</b> ' + esc(g[1]) + ': ' +
      num(g[2]) + ' dB' + (g[5] ? ' <a href="' + esc(g[5]) + '">leads</a>' : '') + '</figcaption></figure>'; }).join('');
  el.innerHTML = '<h3>' + which.toUpperCase() + ': #' + r.rank + ' ' + esc(r.label) + '</h3><table class="kv">' +
    rows.map(function(x){ return '<tr><th>' + x[0] + '</th><td>' + x[1] + '</td></tr>'; }).join('') + '</table>' +
    (gal ? '<div class="gallery">' + gal + '</div>' : '<p class="hint">No overlays in this run (evaluate.py overlays=N writes them).</p>');
}
function pagesOf(r){ var m = {}; (r.pid || []).forEach(function(p, k){ m[D.pages[p]] = r.db[k]; }); return m; }
function drawCompare(){
  var sc = document.getElementById('pagescatter'), cd = document.getElementById('cfgdiff'), pd = document.getElementById('pagediff');
  if (state.a < 0 || state.b < 0){ sc.innerHTML = '<p class="hint">Two runs are needed.</p>'; return; }
  var A = RUNS[state.a], B = RUNS[state.b], ma = pagesOf(A), mb = pagesOf(B), rows = [], xs = [], ys = [], names = [];
  Object.keys(ma).concat(Object.keys(mb).filter(function(p){ return !(p in ma); })).forEach(function(p){
    var a = p in ma ? ma[p] : null, b = p in mb ? mb[p] : null;
    var d = a != null && b != null ? b - a : null;
    rows.push([p, a, b, d]);
    if (d != null){ xs.push(a); ys.push(b); names.push(p); } });
  rows.sort(function(x, y){ return (y[3] == null ? -1 : Math.abs(y[3])) - (x[3] == null ? -1 : Math.abs(x[3])); });
  if (!xs.length){ sc.innerHTML = '<p class="hint">The two runs share no page.</p>'; }
  else {
    var all = xs.concat(ys), lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    var W = 520, H = 400, m = {l: 56, r: 12, t: 12, b: 44}, f = axes(W, H, m, lo, hi, 'B: SNR per page (dB)', lo, hi, 'A: SNR per page (dB)');
    f.parts.push('<line x1="' + f.sx(lo).toFixed(1) + '" y1="' + f.sy(lo).toFixed(1) + '" x2="' + f.sx(hi).toFixed(1) +
      '" y2="' + f.sy(hi).toFixed(1) + '" stroke="#999" stroke-dasharray="4 3"/>');
    xs.forEach(function(x, k){ f.parts.push('<circle class="pt" cx="' + f.sx(x).toFixed(1) + '" cy="' + f.sy(ys[k]).toFixed(1) +
      '" r="3.2" fill="#6a4fb3" fill-opacity="0.75"><title>' + esc(names[k]) + ': A ' + num(x) + ' dB, B ' + num(ys[k]) + ' dB</title></circle>'); });
    sc.innerHTML = f.parts.join('') + '</svg>';
  }
  pd.innerHTML = '<caption>Pages of A and B, largest difference first (' + rows.length + ')</caption>' +
    '<thead><tr><th>page</th><th>A (dB)</th><th>B (dB)</th><th>B - A</th></tr></thead><tbody>' +
    rows.map(function(x){ return '<tr><td>' + esc(x[0]) + '</td><td class="num">' + num(x[1]) + '</td><td class="num">' +
      num(x[2]) + '</td><td class="num">' + num(x[3]) + '</td></tr>'; }).join('') + '</tbody>';
  function cfg(r){ var m = {}; (r.cfg || []).forEach(function(k){ var s = D.items[k], j = s.indexOf('='); m[s.slice(0, j)] = s.slice(j + 1); }); return m; }
  var ca = cfg(A), cb = cfg(B), keys = Object.keys(ca), diff = [];
  Object.keys(cb).forEach(function(k){ if (!(k in ca)) keys.push(k); });
  keys.sort().forEach(function(k){ if (ca[k] !== cb[k]) diff.push([k, ca[k], cb[k]]); });
  cd.innerHTML = '<caption>Config keys that differ (' + diff.length + ' of ' + keys.length + ')</caption>' +
    '<thead><tr><th>key</th><th>A</th><th>B</th></tr></thead><tbody>' + diff.map(function(x){
      return '<tr><td><code>' + esc(x[0]) + '</code></td><td>' + (x[1] == null ? '<i>absent</i>' : esc(x[1])) +
        '</td><td>' + (x[2] == null ? '<i>absent</i>' : esc(x[2])) + '</td></tr>'; }).join('') + '</tbody>';
}
function mark(){
  document.querySelectorAll('#ranked tbody tr').forEach(function(tr){
    var i = +tr.getAttribute('data-row');
    tr.classList.toggle('sel-a', i === state.a); tr.classList.toggle('sel-b', i === state.b); });
  document.getElementById('pick-a').value = String(state.a); document.getElementById('pick-b').value = String(state.b);
}
function choose(which, i){
  state[which] = i; card('a', state.a); card('b', state.b); drawLeads(); drawCompare(); mark();
}
function byRank(rank){ for (var i = 0; i < RUNS.length; i++){ if (RUNS[i].rank === rank) return i; } return -1; }
function sortBy(col, dir){
  var th = Array.prototype.filter.call(document.querySelectorAll('#ranked th'), function(h){ return h.textContent === col; })[0];
  if (!th) return false;
  for (var k = 0; k < 2 && !th.classList.contains(dir); k++) th.click();
  return true;
}
function columnValues(col){
  var ths = Array.prototype.slice.call(document.querySelectorAll('#ranked th'));
  var k = ths.map(function(h){ return h.textContent; }).indexOf(col);
  return Array.prototype.map.call(document.querySelectorAll('#ranked tbody tr'), function(tr){
    var v = tr.cells[k].getAttribute('data-v'); return v === '' ? NaN : Number(v); });
}
function selftest(){
  var out = [];
  function check(name, ok){ out.push((ok ? 'ok   ' : 'FAIL ') + name); }
  function drew(id, parts){ var svg = document.querySelector('#' + id + ' svg');
    if (!svg) return false; var box = svg.getBoundingClientRect();
    return box.width > 50 && box.height > 50 && svg.querySelectorAll(parts).length > 0; }
  if (D.heat.y.length) check('heatmap drew', drew('heatmap', 'image, path'));
  if (RUNS.some(function(r){ return r.db && r.db.length; })) check('per-page box plot drew', drew('pagebox', 'path'));
  if (state.a >= 0 && (RUNS[state.a].lead || []).length) check('per-lead bars drew', drew('leadbars', 'rect.bar'));
  check('page scatter drew', RUNS.length < 2 || drew('pagescatter', 'circle.pt'));
  var nGal = RUNS.length ? (RUNS[state.a].gal || []).length : 0;
  check('gallery has ' + nGal + ' thumbnails', document.querySelectorAll('#card-a .gallery img').length === nGal);
  var n = RUNS.length, snr = null;
  sortBy('snr_db', 'desc'); var v = columnValues('snr_db').filter(function(x){ return !isNaN(x); });
  check('sort snr_db descending', v.every(function(x, k){ return k === 0 || v[k - 1] >= x; }));
  sortBy('snr_db', 'asc'); v = columnValues('snr_db').filter(function(x){ return !isNaN(x); });
  check('sort snr_db ascending', v.every(function(x, k){ return k === 0 || v[k - 1] <= x; }) && (n < 2 || v[0] <= v[v.length - 1]));
  sortBy('rank', 'asc'); v = columnValues('rank');
  check('sort rank ascending', v.every(function(x, k){ return x === k + 1; }));
  check('all ' + n + ' runs listed after sorting', v.length === n);
  var el = document.getElementById('selftest');
  el.textContent = out.join('\n'); el.hidden = false;
  document.body.setAttribute('data-selftest', out.some(function(s){ return s.indexOf('FAIL') === 0; }) ? 'fail' : 'pass');
}
['a', 'b'].forEach(function(w){
  var sel = document.getElementById('pick-' + w);
  sel.innerHTML = RUNS.map(function(r, i){ return '<option value="' + i + '">' + esc(short(r, 90)) + '</option>'; }).join('');
  sel.addEventListener('change', function(){ choose(w, +sel.value); }); });
document.querySelector('#ranked tbody').addEventListener('click', function(ev){
  if (ev.target.closest('a')) return;
  var tr = ev.target.closest('tr[data-row]'); if (!tr) return;
  choose(ev.shiftKey ? 'b' : 'a', +tr.getAttribute('data-row'));
});
var opts = new URLSearchParams(location.hash.slice(1));
if (opts.get('a') && byRank(+opts.get('a')) >= 0) state.a = byRank(+opts.get('a'));
if (opts.get('b') && byRank(+opts.get('b')) >= 0) state.b = byRank(+opts.get('b'));
choose('a', state.a);
if (opts.get('sort')){ var s = opts.get('sort').split(':'); sortBy(s[0], s[1] || 'desc'); }
if (opts.get('view') && document.getElementById(opts.get('view'))) document.getElementById(opts.get('view')).scrollIntoView();
window.addEventListener('load', function(){ document.body.setAttribute('data-load-ms', Math.round(performance.now())); });
document.body.setAttribute('data-ready-ms', Math.round(performance.now()));
if (opts.get('selftest')) setTimeout(selftest, 0);
})();
"""


def dashboard_html(
    frame: pd.DataFrame,
    out_dir: Path,
    *,
    runs_root: Path | None = None,
    title: str = "ecgdl leaderboard",
    top_runs: int = 40,
    overlays_per_tag: int = 3,
    thumb_width_px: int = 240,
    workers: int = 2,
    shown_rows: int = 100,
) -> str:
    """The dashboard page for a :func:`~ecgdl.leaderboard.runs.collect_runs` frame, to be written into
    ``out_dir`` (links are relative to it; gallery thumbnails are written under ``out_dir/thumbs/``).

    ``runs_root`` is the folder the frame's ``path`` column is relative to; without it the page has the tables,
    the heatmap and no per-run detail. ``top_runs`` runs get a box of their per-page SNR; ``workers`` threads
    make the thumbnails; the tables lay out their first ``shown_rows`` rows at once and the rest on demand.
    """
    out_dir = Path(out_dir).resolve()
    root = Path(runs_root).resolve() if runs_root is not None else None
    runs, items, pages = _runs_json(frame, root, out_dir, overlays_per_tag, thumb_width_px, workers)
    heat = results_table(frame)
    data = {
        "runs": runs,
        "items": items,
        "pages": pages,
        "leads": list(LEADS),
        "heat": {  # what the heatmap shows, for scripts and the self-check
            "x": [str(c) for c in heat.columns],
            "y": [str(i) for i in heat.index],
            "z": [[_round(v) for v in row] for row in heat.to_numpy()],
        },
    }
    type_cols = [c for c in frame.columns if c.startswith(TYPE_PREFIX)]
    main = frame[[c for c in frame.columns if c not in type_cols]].copy()
    main["date"] = [r.get("date") for r in runs]
    main["commit"] = [r.get("commit") for r in runs]
    links = {"path": [r.get("href", "") for r in runs]}
    tables = [
        '<div class="scroll">',
        html_table(
            main, ["snr_db"], "Runs ranked by SNR (dB)", table_id="ranked", links=links, shown_rows=shown_rows
        ),
        "</div>",
    ]
    if type_cols:
        per_type = frame[["rank", "run", *type_cols]].rename(
            columns={c: c[len(TYPE_PREFIX) :] for c in type_cols}
        )
        bars = [c[len(TYPE_PREFIX) :] for c in type_cols]
        tables += [
            '<div class="scroll">',
            html_table(per_type, bars, "SNR (dB) per image type", table_id="per-type", shown_rows=shown_rows),
            "</div>",
        ]
    where = f" under <code>{html.escape(str(root))}</code>" if root is not None else ""
    built = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    style = TABLE_STYLE + _STYLE.replace("THUMB", str(int(thumb_width_px)))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style>"
        "</head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="hint">{len(frame)} runs{where}; built {built}. Click a run to show it as A '
        "(shift-click: B); click a header to sort.</p>"
        '<nav><a href="#sec-heat">heatmap</a><a href="#sec-runs">runs</a><a href="#sec-dist">per-page SNR</a>'
        '<a href="#sec-compare">two runs</a></nav>'
        '<section id="sec-heat"><h2>SNR by model and evaluation set / degradation</h2>'
        f'<p class="hint">Best run per cell (dB).</p><div id="heatmap" class="plot">{_heatmap(heat)}</div></section>'
        f'<section id="sec-runs"><h2>Runs</h2>{"".join(tables)}</section>'
        f'<section id="sec-dist"><h2>Per-page SNR of the top {int(top_runs)} runs</h2>'
        f'<div id="pagebox" class="plot">{_page_boxes(runs, int(top_runs))}</div></section>'
        '<section id="sec-compare"><h2>Two runs</h2><div class="pick">'
        '<label>A <select id="pick-a"></select></label><label>B <select id="pick-b"></select></label></div>'
        '<div class="cards"><div class="card a" id="card-a"></div><div class="card b" id="card-b"></div></div>'
        '<h3>Per-lead SNR</h3><div id="leadbars" class="plot"></div>'
        '<div class="two"><div><h3>Per-page SNR, B against A</h3><div id="pagescatter" class="plot"></div>'
        '<div class="scroll"><table id="pagediff"></table></div></div>'
        '<div><h3>Configuration</h3><div class="scroll"><table id="cfgdiff"></table></div></div></div>'
        '</section><pre id="selftest" hidden></pre>'
        f'<script type="application/json" id="lb-data">{_script_json(data)}</script>'
        f"<script>{SORT_SCRIPT}</script><script>{_DASHBOARD_SCRIPT}</script></body></html>\n"
    )
