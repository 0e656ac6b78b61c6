"""Batch review page for a folder that ``predict.py`` wrote: one offline HTML file to check many readings by eye.

Every page of ``report.csv`` is a row with a thumbnail of its overlay, its layout, gain, speed (when the report
has it), scale, confidence, Einthoven / Goldberger consistency and status; the table sorts on any column
(lowest confidence first by default, failed pages before all) and filters by status and by text. Clicking a row
shows the overlay large, the 12 leads drawn as signals, and links to the page's CSV / WFDB / EDF / DICOM / JSON
files (those predict.py wrote).

Files written beside the page: ``thumbs/<stem>.jpg`` (small JPEGs made with OpenCV, loaded lazily, so 2,000
pages cost 2,000 small requests made only as rows scroll into view) and ``signals/<stem>.js`` (each page's
leads at 100 Hz, rounded to 0.01 mV). The signals are per-page script files rather than JSON embedded in the
page: 12 leads x 10 s at 100 Hz is about 20 kB a page, 40 MB for 2,000 pages, far too much to parse on load,
and a page opened from ``file://`` may not ``fetch`` a file but may load a ``<script>``, so the detail view
injects ``signals/<stem>.js`` when a page is opened. Both are rebuilt only when their source is newer.

Page address options (after ``#``, joined by ``&``): ``sort=<column>:asc|desc``, ``status=<status>``,
``q=<text>``, ``page=<stem>`` (open one page), ``selftest=1`` (check sorting, filtering, thumbnails and the
signal plot and write the result into ``<pre id="selftest">``, for the browser test).

Usage: ``python -m ecgdl.review <predict output_dir> [--out <file.html>]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgdl.constants import LEADS
from ecgdl.viz.pages import href, make_thumbnail

__all__ = ["main", "write_review"]

REPORT_FILE = "report.csv"
#: report.csv columns shown in the table, in order (those absent from a report are left out)
COLUMNS = (
    "stem",
    "status",
    "confidence",
    "einthoven_db",
    "goldberger_db",
    "layout",
    "gain_mm_per_mv",
    "speed_mm_per_s",
    "px_per_mm",
    "fs_hz",
    "turned_deg",
    "reader",
    "seconds",
    "error",
)
#: label and file-name suffix of the overlay predict.py writes with ``save_overlay=true``
OVERLAY = ("overlay", "-overlay.png")


def _finite_runs(values: np.ndarray) -> list[list[Any]]:
    """``[[start, [v, v, ...]], ...]``: the runs of finite values of a 1-D array, values in 0.01 mV (ints)."""
    finite = np.isfinite(values)
    if not finite.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], finite, [False]]).astype(np.int8)))
    hundredths = np.zeros(values.shape, np.int64)
    hundredths[finite] = np.round(values[finite] * 100).astype(np.int64)
    return [[int(a), hundredths[a:b].tolist()] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def write_signal_script(
    csv_path: Path, js_path: Path, stem: str, fs_hz: float, out_fs_hz: float
) -> Path | None:
    """``js_path``: a script that hands the page's 12 leads (``out_fs_hz``, 0.01 mV) to ``ecgReviewSignal``;
    kept when newer than ``csv_path``; None when the CSV is missing or unreadable."""
    try:
        if js_path.is_file() and js_path.stat().st_mtime >= csv_path.stat().st_mtime:
            return js_path
        frame = pd.read_csv(csv_path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    signal = np.full((len(frame), len(LEADS)), np.nan)
    for k, lead in enumerate(LEADS):
        if lead in frame:
            signal[:, k] = pd.to_numeric(frame[lead], errors="coerce").to_numpy(float)
    fs = fs_hz if math.isfinite(fs_hz) and fs_hz > 0 else 500.0
    step = max(1.0, fs / out_fs_hz)
    index = np.round(np.arange(0, len(signal), step)).astype(int)
    index = index[index < len(signal)]
    picked = signal[index]
    payload = {
        "stem": stem,
        "fs": fs / step,
        "n": len(index),
        "leads": [_finite_runs(picked[:, k]) for k in range(len(LEADS))],
    }
    js_path.parent.mkdir(parents=True, exist_ok=True)
    js_path.write_text(f"ecgReviewSignal({json.dumps(payload, separators=(',', ':'))});\n", encoding="utf-8")
    return js_path


def _cell(value: Any) -> Any:
    """A report value as JSON: finite floats rounded, NaN / empty as null."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return round(float(value), 4) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    text = str(value)
    return text if text and text != "nan" else None


def _page_assets(
    row: dict[str, Any], output_dir: Path, base: Path, thumb_width_px: int, signal_fs_hz: float
) -> dict[str, Any]:
    """A page's thumbnail, large picture, signal script and file links (relative to ``base``)."""
    stem = str(row["stem"])
    overlay = output_dir / f"{stem}-overlay.png"
    image = Path(str(row.get("image") or ""))
    source = overlay if overlay.is_file() else image if str(image) and image.is_file() else None
    thumb = make_thumbnail(source, base / "thumbs" / f"{stem}.jpg", thumb_width_px) if source else None
    fs_hz = _cell(row.get("fs_hz"))
    signal = write_signal_script(
        output_dir / f"{stem}.csv",
        base / "signals" / f"{stem}.js",
        stem,
        float(fs_hz) if isinstance(fs_hz, float | int) else 500.0,
        signal_fs_hz,
    )
    from ecgdl.signals.writers import OUTPUT_SUFFIXES, output_paths  # deferred: ecgdl.signals loads scipy

    links = {}
    for path in [*output_paths(list(OUTPUT_SUFFIXES), output_dir, stem), output_dir / f"{stem}{OVERLAY[1]}"]:
        if path.is_file():  # every format predict.py may have written (format=[csv,wfdb,edf,dicom,json])
            label = OVERLAY[0] if path.name.endswith(OVERLAY[1]) else path.suffix.lstrip(".")
            links[label] = href(path, base)
    if source is image and source is not None:
        links["image"] = href(image.resolve(), base)
    return {
        "thumb": href(thumb, base) if thumb else None,
        "large": href(source.resolve(), base) if source else None,
        "signal": href(signal, base) if signal else None,
        "links": links,
    }


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#222}
.hint{color:#555;font-size:13px}
.controls{display:flex;gap:1.5em;align-items:center;margin:.8em 0;flex-wrap:wrap}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:middle}
th{background:#f0f0f0;cursor:pointer;user-select:none;position:sticky;top:0;z-index:1}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr{cursor:pointer}tbody tr:hover{background:#f6f9ff}
td.thumb{padding:2px}td.thumb img{width:140px;height:100px;object-fit:contain;display:block;background:#fafafa}
.st{padding:1px 6px;border-radius:8px;font-size:12px;white-space:nowrap}
.st-ok{background:#dff3e3;color:#1e6b2e}.st-low_confidence{background:#fff0c2;color:#7a5a00}
.st-failed{background:#fbdcdc;color:#9b1c1c}
td.err{max-width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:#9b1c1c}
td.links a{margin-right:.4em}
#detail{position:fixed;inset:2vh 2vw;background:#fff;border:1px solid #999;box-shadow:0 4px 30px rgba(0,0,0,.35);
  z-index:10;overflow:auto;padding:1em 1.5em}
#detail header{display:flex;gap:1em;align-items:center;flex-wrap:wrap}
#detail h2{margin:0;font-size:18px}
#detail .big{max-width:100%;border:1px solid #ccc}
.views{display:grid;grid-template-columns:3fr 2fr;gap:1em;margin-top:.6em;align-items:start}
#detail svg{width:100%;height:auto;border:1px solid #eee;background:#fff}
#detail .meta td,#detail .meta th{border:none;padding:1px 10px 1px 0;font-size:13px}
button{font-size:13px}
"""

_SCRIPT = r"""
(function(){
'use strict';
var D = JSON.parse(document.getElementById('review-data').textContent);
var COLS = D.columns, ROWS = D.rows, LEADS = D.leads;
var col = {}; COLS.forEach(function(c, k){ col[c] = k; });
var SHOWN = D.shown, NUMERIC = {};
SHOWN.forEach(function(c){ NUMERIC[c] = ROWS.some(function(r){ return typeof r[col[c]] === 'number'; }); });
var STATUS_ORDER = {failed: 0, low_confidence: 1, ok: 2};
var state = {key: 'confidence', dir: 'asc', status: '', q: '', order: [], limit: 0}, PAGE_ROWS = 200;
var SIG = {}, current = -1, waiting = {};
function esc(s){ return String(s == null ? '' : s).replace(/[&<>"']/g, function(c){
  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
function fmt(c, v){
  if (v == null) return '';
  if (typeof v !== 'number') return esc(v);
  if (c === 'confidence') return v.toFixed(3);
  if (c === 'turned_deg' || c === 'fs_hz') return String(Math.round(v));
  return v.toFixed(2);
}
function value(r, key){ var v = r[col[key]]; return v == null ? null : v; }
function compare(a, b){
  var x = value(a, state.key), y = value(b, state.key), s = state.dir === 'asc' ? 1 : -1;
  if (state.key === 'status'){ x = STATUS_ORDER[x] == null ? 3 : STATUS_ORDER[x]; y = STATUS_ORDER[y] == null ? 3 : STATUS_ORDER[y]; }
  if (x === y) return String(a[0]).localeCompare(String(b[0]));
  if (x == null) return -s; if (y == null) return s;  // a missing value counts as the lowest
  if (typeof x === 'number' && typeof y === 'number') return s * (x - y);
  return s * String(x).localeCompare(String(y));
}
function visible(r){
  if (state.status && value(r, 'status') !== state.status) return false;
  if (!state.q) return true;
  var q = state.q.toLowerCase();
  return ['stem', 'layout', 'reader', 'status', 'error'].some(function(c){
    var v = col[c] == null ? null : r[col[c]]; return v != null && String(v).toLowerCase().indexOf(q) >= 0; });
}
function render(){
  var idx = []; for (var i = 0; i < ROWS.length; i++){ if (visible(ROWS[i])) idx.push(i); }
  idx.sort(function(i, j){ return compare(ROWS[i], ROWS[j]); });
  state.order = idx; state.limit = PAGE_ROWS;
  document.getElementById('rows').innerHTML = rowsHtml(0, Math.min(idx.length, state.limit));
  document.getElementById('count').textContent = idx.length + ' of ' + ROWS.length + ' pages shown';
  document.querySelectorAll('#pages th[data-k]').forEach(function(th){
    th.classList.remove('asc', 'desc'); if (th.getAttribute('data-k') === state.key) th.classList.add(state.dir); });
}
// rows are added PAGE_ROWS at a time as the end of the table scrolls into view: 2,000 rows (and their lazy
// images) at once make the page slow to load and to sort
function more(){
  var n = state.order.length; if (state.limit >= n) return;
  var from = state.limit; state.limit = Math.min(n, state.limit + PAGE_ROWS);
  document.getElementById('rows').insertAdjacentHTML('beforeend', rowsHtml(from, state.limit));
}
new IntersectionObserver(function(entries){ if (entries.some(function(e){ return e.isIntersecting; })) more(); },
  {rootMargin: '800px'}).observe(document.getElementById('more'));
function rowsHtml(from, to){
  var idx = state.order, out = new Array(Math.max(0, to - from));
  for (var k = from; k < to; k++){
    var r = ROWS[idx[k]], cells = ['<td class="thumb">' + (r[col.thumb] ? '<img loading="lazy" src="' + esc(r[col.thumb]) + '" alt="">' : '') + '</td>'];
    SHOWN.forEach(function(c){
      var v = r[col[c]];
      if (c === 'status') cells.push('<td data-c="status"><span class="st st-' + esc(v) + '">' + esc(v) + '</span></td>');
      else if (c === 'error') cells.push('<td class="err" title="' + esc(v) + '">' + esc(v) + '</td>');
      else cells.push('<td data-c="' + c + '"' + (NUMERIC[c] ? ' class="num"' : '') + '>' + fmt(c, v) + '</td>');
    });
    var links = r[col.links] || {};
    cells.push('<td class="links">' + Object.keys(links).map(function(l){ return '<a href="' + esc(links[l]) + '">' + l + '</a>'; }).join('') + '</td>');
    out[k - from] = '<tr data-i="' + idx[k] + '">' + cells.join('') + '</tr>';
  }
  return out.join('');
}
function sortBy(key, dir){ state.key = key; state.dir = dir; render(); }
document.querySelectorAll('#pages th[data-k]').forEach(function(th){
  th.addEventListener('click', function(){
    var k = th.getAttribute('data-k');
    sortBy(k, state.key === k && state.dir === 'asc' ? 'desc' : 'asc'); }); });
document.getElementById('q').addEventListener('input', function(ev){ state.q = ev.target.value; render(); });
document.getElementById('status').addEventListener('change', function(ev){ state.status = ev.target.value; render(); });
document.getElementById('rows').addEventListener('click', function(ev){
  if (ev.target.closest('a')) return;
  var tr = ev.target.closest('tr[data-i]'); if (tr) open(+tr.getAttribute('data-i')); });
window.ecgReviewSignal = function(p){ SIG[p.stem] = p; if (current >= 0 && ROWS[current][0] === p.stem) drawSignal(p); };
function drawSignal(p){
  var W = 1000, rowH = 70, left = 44, mv = 22, H = rowH * LEADS.length + 20, n = Math.max(p.n, 1), sx = (W - left - 6) / n;
  var parts = ['<svg viewBox="0 0 ' + W + ' ' + H + '" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">'];
  for (var s = 0; s <= n / p.fs; s++){
    var x = (left + s * p.fs * sx).toFixed(1);
    parts.push('<line x1="' + x + '" y1="0" x2="' + x + '" y2="' + (H - 16) + '" stroke="#f2c9c9" stroke-width="1"/>');
    parts.push('<text x="' + x + '" y="' + (H - 3) + '" fill="#888" text-anchor="middle">' + s + ' s</text>');
  }
  LEADS.forEach(function(lead, k){
    var y0 = rowH * k + rowH / 2;
    parts.push('<line x1="' + left + '" y1="' + y0 + '" x2="' + W + '" y2="' + y0 + '" stroke="#eee"/>');
    parts.push('<text x="4" y="' + (y0 + 4) + '" fill="#333">' + lead + '</text>');
    (p.leads[k] || []).forEach(function(seg){
      var pts = seg[1].map(function(v, j){
        var y = Math.max(rowH * k + 2, Math.min(rowH * (k + 1) - 2, y0 - v / 100 * mv));
        return (left + (seg[0] + j) * sx).toFixed(1) + ',' + y.toFixed(1); });
      if (pts.length === 1) pts.push(pts[0]);
      parts.push('<polyline fill="none" stroke="#1f4e9c" stroke-width="1.2" points="' + pts.join(' ') + '"/>');
    });
  });
  parts.push('</svg>');
  document.getElementById('leads').innerHTML = parts.join('');
  document.getElementById('leads-note').textContent = 'Leads at ' + p.fs.toFixed(0) + ' Hz, 1 mV = ' + mv + ' units; clipped to each row.';
}
function open(i){
  current = i; var r = ROWS[i], stem = r[0], box = document.getElementById('detail');
  box.hidden = false;
  var links = r[col.links] || {};
  var meta = SHOWN.filter(function(c){ return c !== 'stem'; }).map(function(c){
    return '<tr><th>' + c + '</th><td>' + fmt(c, r[col[c]]) + '</td></tr>'; }).join('');
  box.querySelector('h2').textContent = stem;
  box.querySelector('.files').innerHTML = Object.keys(links).map(function(l){ return '<a href="' + esc(links[l]) + '">' + l + '</a>'; }).join(' ');
  box.querySelector('.meta').innerHTML = meta;
  var big = box.querySelector('.big');
  if (r[col.large]){ big.src = r[col.large]; big.hidden = false; } else { big.removeAttribute('src'); big.hidden = true; }
  document.getElementById('leads').innerHTML = '';
  document.getElementById('leads-note').textContent = r[col.signal] ? 'loading leads...' : 'No signal CSV for this page.';
  if (SIG[stem]) drawSignal(SIG[stem]);
  else if (r[col.signal] && !waiting[stem]){
    waiting[stem] = true;
    var s = document.createElement('script'); s.src = r[col.signal];
    s.onerror = function(){ document.getElementById('leads-note').textContent = 'could not load ' + r[col.signal]; };
    document.body.appendChild(s);
  }
  location.replace('#page=' + encodeURIComponent(stem));
}
function step(d){ var k = state.order.indexOf(current); if (k >= 0 && state.order[k + d] != null) open(state.order[k + d]); }
function close(){ document.getElementById('detail').hidden = true; current = -1; history.replaceState(null, '', location.pathname); }
document.getElementById('close').addEventListener('click', close);
document.getElementById('prev').addEventListener('click', function(){ step(-1); });
document.getElementById('next').addEventListener('click', function(){ step(1); });
document.addEventListener('keydown', function(ev){
  if (document.getElementById('detail').hidden) return;
  if (ev.key === 'Escape') close(); else if (ev.key === 'ArrowRight') step(1); else if (ev.key === 'ArrowLeft') step(-1); });
function selftest(){
  var out = [];
  function check(name, ok){ out.push((ok ? 'ok   ' : 'FAIL ') + name); }
  function shownValues(key){ return state.order.map(function(i){ return value(ROWS[i], key); }); }
  function ordered(v, dir){ return v.every(function(x, k){ if (k === 0) return true; var w = v[k - 1];
    if (w == null) return dir === 'asc' || x == null; if (x == null) return dir === 'desc';
    return dir === 'asc' ? w <= x : w >= x; }); }
  var saved = {key: state.key, dir: state.dir, status: state.status, q: state.q};
  if (!opts.get('sort')) check('opens least confident first', state.key === 'confidence' && state.dir === 'asc' &&
    ordered(shownValues('confidence'), 'asc') && (!ROWS.length || state.order.length === ROWS.length));
  state.status = ''; state.q = ''; sortBy('confidence', 'asc');
  check(Math.min(ROWS.length, PAGE_ROWS) + ' of ' + ROWS.length + ' rows drawn', document.querySelectorAll('#rows tr').length === Math.min(ROWS.length, PAGE_ROWS));
  check('lowest confidence first', ordered(shownValues('confidence'), 'asc'));
  var firstRow = document.querySelector('#rows tr'), firstStem = firstRow ? firstRow.cells[1].textContent : '';
  check('first row is the least confident page', !ROWS.length || firstStem === ROWS[state.order[0]][0]);
  document.querySelector('#pages th[data-k="confidence"]').click();
  check('header click sorts confidence descending', state.dir === 'desc' && ordered(shownValues('confidence'), 'desc'));
  document.querySelector('#pages th[data-k="stem"]').click();
  var stems = Array.prototype.map.call(document.querySelectorAll('#rows tr'), function(tr){ return tr.cells[1].textContent; });
  check('header click sorts by stem', stems.every(function(s, k){ return k === 0 || stems[k - 1].localeCompare(s) <= 0; }));
  var statuses = {}; ROWS.forEach(function(r){ statuses[value(r, 'status')] = (statuses[value(r, 'status')] || 0) + 1; });
  Object.keys(statuses).forEach(function(st){
    state.status = st; render();
    var got = Array.prototype.map.call(document.querySelectorAll('#rows td[data-c="status"]'), function(td){ return td.textContent; });
    check('filter status=' + st + ' keeps ' + statuses[st], state.order.length === statuses[st] && got.length === Math.min(statuses[st], PAGE_ROWS) && got.every(function(s){ return s === st; }));
  });
  var nThumb = ROWS.filter(function(r){ return r[col.thumb]; }).length;
  state.status = ''; render();
  var nDrawn = state.order.slice(0, PAGE_ROWS).filter(function(i){ return ROWS[i][col.thumb]; }).length;
  check(nThumb + ' thumbnails, ' + nDrawn + ' lazy in the first rows', document.querySelectorAll('#rows img[loading="lazy"]').length === nDrawn);
  state.key = saved.key; state.dir = saved.dir; state.status = saved.status; state.q = saved.q; render();
  var withSig = state.order.filter(function(i){ return ROWS[i][col.signal]; })[0];
  function finish(){ var el = document.getElementById('selftest'); el.textContent = out.join('\n'); el.hidden = false;
    document.body.setAttribute('data-selftest', out.some(function(s){ return s.indexOf('FAIL') === 0; }) ? 'fail' : 'pass'); }
  if (withSig == null){ finish(); return; }
  open(withSig);
  var t0 = Date.now();
  (function wait(){
    var n = document.querySelectorAll('#leads polyline').length;
    if (n > 0 || Date.now() - t0 > 5000){
      check('page ' + ROWS[withSig][0] + ' opened: ' + n + ' signal traces', n > 0);
      var big = document.querySelector('#detail .big');
      check('large overlay shown', !ROWS[withSig][col.large] || (!big.hidden && !!big.getAttribute('src')));
      finish();
    } else setTimeout(wait, 50);
  })();
}
var opts = new URLSearchParams(location.hash.slice(1));
if (opts.get('sort')){ var s = opts.get('sort').split(':'); if (col[s[0]] != null){ state.key = s[0]; state.dir = s[1] === 'desc' ? 'desc' : 'asc'; } }
if (opts.get('status')){ state.status = opts.get('status'); document.getElementById('status').value = state.status; }
if (opts.get('q')){ state.q = opts.get('q'); document.getElementById('q').value = state.q; }
render();
document.body.setAttribute('data-ready-ms', Math.round(performance.now()));
window.addEventListener('load', function(){ document.body.setAttribute('data-load-ms', Math.round(performance.now())); });
if (opts.get('selftest')) setTimeout(selftest, 0);
else if (opts.get('page')){ var want = opts.get('page'); ROWS.forEach(function(r, i){ if (r[0] === want) open(i); }); }
})();
"""

_HEADERS = {
    "stem": "page",
    "confidence": "confidence",
    "einthoven_db": "Einthoven dB",
    "goldberger_db": "Goldberger dB",
    "gain_mm_per_mv": "gain mm/mV",
    "speed_mm_per_s": "speed mm/s",
    "px_per_mm": "px/mm",
    "fs_hz": "fs Hz",
    "turned_deg": "turned",
    "seconds": "seconds",
}


def _read_report(output_dir: Path) -> pd.DataFrame:
    path = output_dir / REPORT_FILE
    if not path.is_file():
        raise ValueError(
            f"{output_dir} has no {REPORT_FILE}: give the output_dir of a predict.py run "
            "(python predict.py input=<...> output_dir=<dir> save_overlay=true)"
        )
    report = pd.read_csv(path, dtype={"stem": str, "layout": str, "reader": str, "error": str, "status": str})
    if "stem" not in report:
        raise ValueError(f"{path} has no stem column")
    return report


def write_review(
    output_dir: Path,
    out_html: Path | None = None,
    *,
    title: str | None = None,
    thumb_width_px: int = 200,
    signal_fs_hz: float = 100.0,
    workers: int = 2,
) -> Path:
    """Write the review page of a predict.py ``output_dir`` (default ``<output_dir>/review.html``) with its
    ``thumbs/`` and ``signals/`` beside it; returns the page's path."""
    output_dir = Path(output_dir).resolve()
    report = _read_report(output_dir)
    out_html = Path(out_html).resolve() if out_html is not None else output_dir / "review.html"
    base = out_html.parent
    base.mkdir(parents=True, exist_ok=True)
    records = report.to_dict("records")
    with ThreadPoolExecutor(max(1, int(workers))) as pool:  # OpenCV and pandas release the GIL while decoding
        assets = list(
            pool.map(lambda r: _page_assets(r, output_dir, base, thumb_width_px, signal_fs_hz), records)
        )
    shown = [c for c in COLUMNS if c in report.columns]
    columns = [*shown, "thumb", "large", "signal", "links"]
    rows = [
        [_cell(r.get(c)) for c in shown] + [a["thumb"], a["large"], a["signal"], a["links"]]
        for r, a in zip(records, assets, strict=True)
    ]
    data = {"columns": columns, "shown": shown, "rows": rows, "leads": list(LEADS)}
    counts = report["status"].value_counts().to_dict() if "status" in report else {}
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    heads = "".join(
        f'<th data-k="{html.escape(c)}">{html.escape(_HEADERS.get(c, c))}</th>' for c in shown if c != "error"
    )
    if "error" in shown:
        heads += '<th data-k="error">error</th>'
    shown_order = [c for c in shown if c != "error"] + (["error"] if "error" in shown else [])
    data["shown"] = shown_order
    status_options = "".join(
        f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in sorted(counts)
    )
    page_title = title or f"Review: {output_dir.name}"
    built = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    out_html.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(page_title)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>{html.escape(page_title)}</h1>"
        f'<p class="hint">{len(report)} pages in <code>{html.escape(str(output_dir))}</code> ({html.escape(summary)}); '
        f"built {built}. Least confident first; click a header to sort, a page to open it (arrow keys: "
        "previous / next, Esc: close).</p>"
        '<div class="controls"><label>status <select id="status"><option value="">all</option>'
        f'{status_options}</select></label><label>find <input id="q" type="search" '
        'placeholder="page, layout, reader, error"></label><span id="count" class="hint"></span></div>'
        f'<table id="pages"><thead><tr><th>overlay</th>{heads}<th>files</th></tr></thead>'
        '<tbody id="rows"></tbody></table><div id="more" style="height:1px"></div>'
        '<div id="detail" hidden><header><h2></h2><button id="prev">&larr; previous</button>'
        '<button id="next">next &rarr;</button><button id="close">close (Esc)</button>'
        '<span class="files"></span></header><table class="meta"></table>'
        '<div class="views"><div><img class="big" alt="overlay"></div><div><div id="leads"></div>'
        '<p id="leads-note" class="hint"></p></div></div></div>'
        '<pre id="selftest" hidden></pre>'
        f'<script type="application/json" id="review-data">{payload}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n",
        encoding="utf-8",
    )
    return out_html


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgdl.review",
        description="Write review.html for a folder that predict.py wrote (report.csv, CSVs, overlays).",
    )
    parser.add_argument("output_dir", type=Path, help="the output_dir of a predict.py run")
    parser.add_argument(
        "--out", type=Path, default=None, help="the page to write (default <output_dir>/review.html)"
    )
    parser.add_argument("--title", default=None, help="heading of the page")
    parser.add_argument("--workers", type=int, default=2, help="threads making thumbnails and signal files")
    args = parser.parse_args(argv)
    try:
        path = write_review(args.output_dir, args.out, title=args.title, workers=args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
