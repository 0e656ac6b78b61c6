"""The leaderboard dashboard: one self-contained HTML page that works offline.

The page holds plotly.js once (inlined from the installed ``plotly`` package, no CDN) and the runs' figures as
one embedded JSON document; every plot is drawn in the browser from that JSON, so 500 runs cost 500 JSON records,
not 500 figures. It shows the ranked table (click a header to sort), a model x (set, degradation) heatmap of SNR,
the per-page SNR distribution of the top runs (box plots with the mean and the run's pooled SNR), and two chosen
runs side by side: overrides, commit, date, a gallery of the best and worst pages' overlays (small JPEG
thumbnails under ``<out>/thumbs/`` that link to the full images), per-lead SNR bars, per-page SNR of one against
the other, the config keys that differ and the pages that differ most.

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
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from ecgdl.constants import LEADS
from ecgdl.leaderboard.runs import TYPE_PREFIX, results_table, run_details
from ecgdl.leaderboard.tables import SORT_SCRIPT, TABLE_STYLE, html_table

__all__ = ["dashboard_html", "plotly_bundle"]


def plotly_bundle() -> str:
    """The plotly.js bundle shipped with the ``plotly`` Python package (a dependency of ecgdl)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _round(value: Any, digits: int = 2) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return round(out, digits) if math.isfinite(out) else None


def href(path: Path, base: Path) -> str:
    """A relative link from a page in ``base`` to ``path`` (URL-quoted, forward slashes)."""
    return quote(Path(os.path.relpath(path, base)).as_posix())


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
    from ecgdl.review import make_thumbnail

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


def _heatmap_json(frame: pd.DataFrame) -> dict[str, Any]:
    table = results_table(frame)
    if table.empty:
        return {"x": [], "y": [], "z": []}
    return {
        "x": [str(c) for c in table.columns],
        "y": [str(i) for i in table.index],
        "z": [[_round(v) for v in row] for row in table.to_numpy()],
    }


def _script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</`` that could end it)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


_STYLE = """
body{max-width:1500px}
h2{margin-top:1.6em;border-bottom:1px solid #ddd}
nav a{margin-right:1em}
.hint{color:#555;font-size:13px}
.plot{width:100%;min-height:120px}
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
var RUNS = D.runs, LEADS = D.leads, PLOT = {responsive: true, displaylogo: false};
var state = {a: RUNS.length ? 0 : -1, b: RUNS.length > 1 ? 1 : -1};
var drawn = [];
function esc(s){ return String(s == null ? '' : s).replace(/[&<>"']/g, function(c){
  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
function num(v, d){ return v == null ? '' : v.toFixed(d == null ? 2 : d); }
function short(r, n){ n = n || 48; var s = r.label.length > n ? r.label.slice(0, n - 1) + '\u2026' : r.label;
  return '#' + r.rank + ' ' + s; }
function plot(id, traces, layout, react){
  var el = document.getElementById(id);
  var p = (react ? Plotly.react : Plotly.newPlot)(el, traces, layout, PLOT);
  drawn.push(p); return p;
}
function drawHeat(){
  var h = D.heat, el = document.getElementById('heatmap');
  if (!h.y.length){ el.textContent = 'No run names its model and evaluation set (metrics.json "model" and "eval_set").'; return; }
  plot('heatmap', [{type: 'heatmap', z: h.z, x: h.x, y: h.y, colorscale: 'Viridis', texttemplate: '%{z:.1f}',
    hovertemplate: '%{y}<br>%{x}<br>%{z:.2f} dB<extra></extra>', colorbar: {title: {text: 'dB'}}, hoverongaps: false}],
    {height: 170 + 30 * h.y.length, margin: {l: 130, r: 20, t: 10, b: 150}, xaxis: {tickangle: -35}, yaxis: {autorange: 'reversed'}});
}
function drawBox(){
  var el = document.getElementById('pagebox');
  var shown = RUNS.slice(0, D.top).filter(function(r){ return r.db && r.db.length; });
  if (!shown.length){ el.textContent = 'No run has a per_image.csv.'; return; }
  var names = shown.map(function(r){ return short(r, 44); });
  var nPoints = shown.reduce(function(n, r){ return n + r.db.length; }, 0);  // every page a dot while few
  var traces = shown.map(function(r, k){ return {type: 'box', x: r.db, y: r.db.map(function(){ return names[k]; }),
    name: names[k], orientation: 'h', boxpoints: nPoints <= 1000 ? 'all' : 'outliers', jitter: 0.4, pointpos: 0,
    marker: {size: 3, color: '#2e6fb5'}, line: {color: '#2e6fb5'}, boxmean: true, showlegend: false,
    text: r.pid.map(function(i){ return D.pages[i]; }), hovertemplate: '%{text}: %{x:.2f} dB<extra></extra>'}; });
  traces.push({type: 'scatter', mode: 'markers', x: shown.map(function(r){ return r.snr; }), y: names,
    name: "run's pooled SNR", marker: {symbol: 'diamond', size: 9, color: '#e6862e'},
    hovertemplate: '%{y}<br>pooled %{x:.2f} dB<extra></extra>'});
  plot('pagebox', traces, {height: 140 + 28 * shown.length, margin: {l: 330, r: 20, t: 10, b: 45},
    xaxis: {title: {text: 'SNR per page (dB); box: quartiles, dashed: mean'}, zeroline: false},
    yaxis: {autorange: 'reversed', categoryorder: 'array', categoryarray: names}, legend: {orientation: 'h', y: 1.02, yanchor: 'bottom'}});
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
function drawLeads(){
  var traces = [];
  [['a', '#2e6fb5'], ['b', '#e6862e']].forEach(function(w){
    var i = state[w[0]]; if (i < 0 || !RUNS[i].lead || !RUNS[i].lead.length) return;
    traces.push({type: 'bar', x: LEADS, y: RUNS[i].lead, name: w[0].toUpperCase() + ' ' + short(RUNS[i], 60),
      marker: {color: w[1]}, hovertemplate: '%{x}: %{y:.2f} dB<extra></extra>'}); });
  plot('leadbars', traces, {barmode: 'group', height: 330, margin: {l: 60, r: 20, t: 30, b: 40},
    yaxis: {title: {text: 'mean SNR per page (dB)'}}, legend: {orientation: 'h', y: 1.12}}, true);
}
function pagesOf(r){ var m = {}; (r.pid || []).forEach(function(p, k){ m[D.pages[p]] = r.db[k]; }); return m; }
function drawCompare(){
  var sc = document.getElementById('pagescatter'), cd = document.getElementById('cfgdiff'), pd = document.getElementById('pagediff');
  if (state.a < 0 || state.b < 0){ sc.textContent = 'Two runs are needed.'; return; }
  var A = RUNS[state.a], B = RUNS[state.b], ma = pagesOf(A), mb = pagesOf(B), rows = [], xs = [], ys = [], names = [];
  Object.keys(ma).concat(Object.keys(mb).filter(function(p){ return !(p in ma); })).forEach(function(p){
    var a = p in ma ? ma[p] : null, b = p in mb ? mb[p] : null;
    var d = a != null && b != null ? b - a : null;
    rows.push([p, a, b, d]);
    if (d != null){ xs.push(a); ys.push(b); names.push(p); } });
  rows.sort(function(x, y){ return (y[3] == null ? -1 : Math.abs(y[3])) - (x[3] == null ? -1 : Math.abs(x[3])); });
  var all = xs.concat(ys), lo = Math.min.apply(null, all.length ? all : [0]), hi = Math.max.apply(null, all.length ? all : [1]);
  plot('pagescatter', [{type: 'scatter', mode: 'markers', x: xs, y: ys, text: names, marker: {size: 6, color: '#6a4fb3'},
    hovertemplate: '%{text}<br>A %{x:.2f} dB<br>B %{y:.2f} dB<extra></extra>'}],
    {height: 380, margin: {l: 60, r: 20, t: 20, b: 50}, xaxis: {title: {text: 'A: SNR per page (dB)'}},
     yaxis: {title: {text: 'B: SNR per page (dB)'}},
     shapes: [{type: 'line', x0: lo, y0: lo, x1: hi, y1: hi, line: {dash: 'dot', color: '#999'}}]}, true);
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
  function drew(id){ var svg = document.querySelector('#' + id + ' .main-svg');
    return !!svg && svg.getBoundingClientRect().width > 50 && svg.getBoundingClientRect().height > 50; }
  if (D.heat.y.length) check('heatmap drew', drew('heatmap') && document.querySelectorAll('#heatmap .hm, #heatmap .heatmaplayer image, #heatmap .heatmaplayer').length > 0);
  check('per-page box plot drew', drew('pagebox') && document.querySelectorAll('#pagebox .boxlayer .trace').length > 0);
  check('per-lead bars drew', drew('leadbars') && document.querySelectorAll('#leadbars .barlayer .point').length > 0);
  check('page scatter drew', RUNS.length < 2 || drew('pagescatter'));
  var nGal = RUNS.length ? (RUNS[state.a].gal || []).length : 0;
  check('gallery has ' + nGal + ' thumbnails', document.querySelectorAll('#card-a .gallery img').length === nGal);
  var n = RUNS.length, snr = null;
  sortBy('snr_db', 'desc'); var v = columnValues('snr_db').filter(function(x){ return !isNaN(x); });
  check('sort snr_db descending', v.every(function(x, k){ return k === 0 || v[k - 1] >= x; }));
  sortBy('snr_db', 'asc'); v = columnValues('snr_db').filter(function(x){ return !isNaN(x); });
  check('sort snr_db ascending', v.every(function(x, k){ return k === 0 || v[k - 1] <= x; }) && (n < 2 || v[0] <= v[v.length - 1]));
  sortBy('rank', 'asc'); v = columnValues('rank');
  check('sort rank ascending', v.every(function(x, k){ return x === k + 1; }));
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
drawHeat(); drawBox(); choose('a', state.a);
if (opts.get('sort')){ var s = opts.get('sort').split(':'); sortBy(s[0], s[1] || 'desc'); }
if (opts.get('view') && document.getElementById(opts.get('view'))) document.getElementById(opts.get('view')).scrollIntoView();
window.addEventListener('load', function(){ document.body.setAttribute('data-load-ms', Math.round(performance.now())); });
Promise.all(drawn).then(function(){ document.body.setAttribute('data-ready-ms', Math.round(performance.now())); });
if (opts.get('selftest')) Promise.all(drawn).then(function(){ setTimeout(selftest, 0); }, function(e){
  var el = document.getElementById('selftest'); el.textContent = 'FAIL plotting: ' + e; el.hidden = false; });
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
) -> str:
    """The dashboard page for a :func:`~ecgdl.leaderboard.runs.collect_runs` frame, to be written into
    ``out_dir`` (links are relative to it; gallery thumbnails are written under ``out_dir/thumbs/``).

    ``runs_root`` is the folder the frame's ``path`` column is relative to; without it the page has the tables,
    the heatmap and no per-run detail. ``top_runs`` runs get a box of their per-page SNR; ``workers`` threads
    make the thumbnails.
    """
    out_dir = Path(out_dir).resolve()
    root = Path(runs_root).resolve() if runs_root is not None else None
    runs, items, pages = _runs_json(frame, root, out_dir, overlays_per_tag, thumb_width_px, workers)
    data = {
        "runs": runs,
        "items": items,
        "pages": pages,
        "leads": list(LEADS),
        "heat": _heatmap_json(frame),
        "top": int(top_runs),
    }
    type_cols = [c for c in frame.columns if c.startswith(TYPE_PREFIX)]
    main = frame[[c for c in frame.columns if c not in type_cols]].copy()
    main["date"] = [r.get("date") for r in runs]
    main["commit"] = [r.get("commit") for r in runs]
    links = {"path": [r.get("href", "") for r in runs]}
    tables = [
        '<div class="scroll">',
        html_table(main, ["snr_db"], "Runs ranked by SNR (dB)", table_id="ranked", links=links),
        "</div>",
    ]
    if type_cols:
        per_type = frame[["rank", "run", *type_cols]].rename(
            columns={c: c[len(TYPE_PREFIX) :] for c in type_cols}
        )
        bars = [c[len(TYPE_PREFIX) :] for c in type_cols]
        tables += ['<div class="scroll">', html_table(per_type, bars, "SNR (dB) per image type"), "</div>"]
    where = f" under <code>{html.escape(str(root))}</code>" if root is not None else ""
    built = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    style = TABLE_STYLE + _STYLE.replace("THUMB", str(int(thumb_width_px)))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style>"
        f"<script>{plotly_bundle()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="hint">{len(frame)} runs{where}; built {built}. Click a run to show it as A '
        "(shift-click: B); click a header to sort.</p>"
        '<nav><a href="#sec-heat">heatmap</a><a href="#sec-runs">runs</a><a href="#sec-dist">per-page SNR</a>'
        '<a href="#sec-compare">two runs</a></nav>'
        '<section id="sec-heat"><h2>SNR by model and evaluation set / degradation</h2>'
        '<p class="hint">Best run per cell (dB).</p><div id="heatmap" class="plot"></div></section>'
        f'<section id="sec-runs"><h2>Runs</h2>{"".join(tables)}</section>'
        f'<section id="sec-dist"><h2>Per-page SNR of the top {int(top_runs)} runs</h2>'
        '<div id="pagebox" class="plot"></div></section>'
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
