"""Plain tables of a leaderboard: Markdown, and HTML tables that sort when a header is clicked."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Sequence
from typing import Any

import pandas as pd


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and digits == 0:
            return str(int(value))
        return f"{value:.{digits}f}"
    return str(value)


DIGITS = {"rank": 0, "n_images": 0, "n_failed": 0, "rmse_mv": 4}


def markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for _, row in frame.iterrows():
        cells = [fmt(row[c], DIGITS.get(c, 2)).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


TABLE_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:14px;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f0f0f0;cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cell{position:relative;min-width:90px}
.bar{position:absolute;left:0;top:2px;bottom:2px;background:#7fb3e6;opacity:.55}
.cell span{position:relative}
"""

SORT_SCRIPT = """
function showAllRows(table){
  var more = table.parentNode.querySelector('template.more-rows[data-for="' + table.id + '"]');
  if (!more) { return; }
  table.tBodies[0].appendChild(more.content);
  more.parentNode.querySelectorAll('button.more-rows[data-for="' + table.id + '"]').forEach(function(b){ b.remove(); });
  more.remove();
}
document.querySelectorAll('button.more-rows').forEach(function(button){
  button.addEventListener('click', function(){ showAllRows(document.getElementById(button.getAttribute('data-for'))); });
});
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      showAllRows(table);
      var desc = !th.classList.contains('desc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(desc ? 'desc' : 'asc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var nx = x === '' ? NaN : Number(x), ny = y === '' ? NaN : Number(y);
        var ex = isNaN(nx), ey = isNaN(ny);
        if (ex && ey) { return String(x).localeCompare(String(y)) * (desc ? -1 : 1); }
        if (ex) { return 1; } if (ey) { return -1; }
        return desc ? ny - nx : nx - ny;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def bar_cell(value: Any, lo: float, hi: float, digits: int) -> str:
    text = html.escape(fmt(value, digits))
    data = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if data == "" or not isinstance(value, numbers.Real) or hi <= lo:
        return f'<td class="num" data-v="{html.escape(data)}">{text}</td>'
    width = max(0.0, min(100.0, 100.0 * (float(value) - lo) / (hi - lo)))
    return (
        f'<td class="num cell" data-v="{html.escape(data)}"><div class="bar" style="width:{width:.1f}%"></div>'
        f"<span>{text}</span></td>"
    )


def html_table(
    frame: pd.DataFrame,
    bar_cols: Sequence[str],
    caption: str,
    *,
    table_id: str = "",
    links: dict | None = None,
    shown_rows: int | None = None,
) -> str:
    """A sortable table; ``bar_cols`` get CSS bars on one common scale (from min(0, lowest) to the highest).

    Row ``i`` carries ``data-row="i"``; ``links`` maps a column to hrefs (one per row) that its cells link to.
    With ``shown_rows`` (and a ``table_id``), rows after the first ``shown_rows`` wait in an inert
    ``<template>`` until a "show all" button or a sort brings them in: a browser lays out a table of thousands
    of cells in about a second on a slow machine, and the first rows are what a reader looks at.
    """
    cols = list(frame.columns)
    ranges = {}
    values = (
        pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in bar_cols]).dropna() if bar_cols else []
    )
    if len(values):
        lo = min(0.0, float(values.min()))
        ranges = dict.fromkeys(bar_cols, (lo, max(float(values.max()), lo + 1e-9)))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    links = links or {}
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for c in cols:
            value = row[c]
            digits = DIGITS.get(c, 2)
            if c in ranges:
                cells.append(bar_cell(value, *ranges[c], digits))
            else:
                is_num = isinstance(value, numbers.Real) and not isinstance(value, bool)
                data = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
                cls = ' class="num"' if is_num else ""
                text = html.escape(fmt(value, digits))
                if c in links and links[c][i]:
                    text = f'<a href="{html.escape(links[c][i])}">{text}</a>'
                cells.append(f'<td{cls} data-v="{html.escape(data)}">{text}</td>')
        body.append(f'<tr data-row="{i}">' + "".join(cells) + "</tr>")
    id_attr = f' id="{html.escape(table_id)}"' if table_id else ""
    cut = len(body) if shown_rows is None or not table_id else max(0, int(shown_rows))
    more = ""
    if cut < len(body):
        ref = html.escape(table_id)
        more = (
            f'<template class="more-rows" data-for="{ref}">{"".join(body[cut:])}</template>'
            f'<button type="button" class="more-rows" data-for="{ref}">show all {len(body)} rows '
            f"(the first {cut} are shown; sorting shows all)</button>"
        )
    return (
        f'<table class="sortable"{id_attr}><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body[:cut])}</tbody></table>{more}"
    )
