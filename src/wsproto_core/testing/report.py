"""A conformance run as a report people read: one HTML page, and JSON beside it.

:func:`write_report` writes into a directory:

* ``index.html``: one self-contained page (inline style and script, no request
  leaves it, it works from ``file://``): the totals, a table by family, then
  every case as a row that opens on what the peer sent, what came back, how
  the connection ended and the wire log;
* ``index.json``: the title, the date, the counts by family and verdict, and
  one line per case;
* ``cases/<id>-<testee>.json``: each case's :meth:`.CaseResult.to_json`.

:func:`summary_text` is the table by family as plain text, for a terminal.

What a testee sends back is hostile. The page escapes every string it
writes itself (:func:`html.escape`); the cases travel to its script as JSON in
a ``<script type="application/json">`` block in which every ``<``, ``>`` and
``&`` is a ``\\u`` escape, and the script makes text nodes only. The page's
Content-Security-Policy lets its own script run and nothing else, and loads
nothing from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cases import VERDICTS, Verdict

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from .engine import CaseResult

__all__ = ["FAMILY_NAMES", "counts", "summary_text", "write_report"]

FAMILY_NAMES: dict[str, str] = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Miscellaneous",
    "12": "WebSocket Compression (different payloads)",
    "13": "WebSocket Compression (different parameters)",
    "handshake": "Opening Handshake",
    "legacy": "Legacy Versions (8, 7, hixie-76, hixie-75)",
    "limits": "Maximum Message Size",
    "rules": "Rules beyond Autobahn",
    "deflate": "Compression Rules beyond Autobahn",
}
"""The name of each family: Autobahn's for its numbers, ours for the groups."""

_GROUPS = ("handshake", "legacy", "limits", "rules", "deflate")

_TEXT_CUT = 120
"""A wire log line longer than this is cut in the page (the case's JSON file has it whole)."""

_WIRE_HEAD = 50
_WIRE_TAIL = 25
"""A case's wire log in the page: its first and last lines, when it has more (after folding)."""

_LIST_CAP = 60
"""The most (folded) items of an expected or received list the page shows."""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _family_key(family: str) -> tuple[int, int, str]:
    """Autobahn's families by number, then our groups, then anything else by name."""
    if family.isdigit():
        return (0, int(family), "")
    if family in _GROUPS:
        return (1, _GROUPS.index(family), "")
    return (2, 0, family)


def _result_key(result: CaseResult) -> tuple[object, ...]:
    case = result.case
    return (_family_key(case.family), case.sort_key(), result.testee)


def _family_name(family: str) -> str:
    return FAMILY_NAMES.get(family, family)


def counts(results: Iterable[CaseResult]) -> dict[str, dict[Verdict, int]]:
    """How many results of each family got each verdict (the worse of behaviour and close).

    Families come in report order (Autobahn's numbers, then ``handshake``,
    ``legacy``, ``limits``); each maps every verdict of :data:`.VERDICTS`, in
    that order, to its count, zeros included. Only families with results appear.
    """
    table: dict[str, dict[Verdict, int]] = {}
    for result in results:
        row = table.setdefault(result.case.family, dict.fromkeys(VERDICTS, 0))
        row[result.verdict] += 1
    return {family: table[family] for family in sorted(table, key=_family_key)}


def _totals(table: dict[str, dict[Verdict, int]]) -> dict[Verdict, int]:
    totals = dict.fromkeys(VERDICTS, 0)
    for row in table.values():
        for verdict, n in row.items():
            totals[verdict] += n
    return totals


def summary_text(results: Iterable[CaseResult]) -> str:
    """The results by family and verdict as a plain-text table, a total line last.

    Example::

        Family                      OK  NON-STRICT  INFORMATIONAL  UNIMPLEMENTED  FAILED  Total
        1          Framing          16           0              0              0       0     16
        ...
        Total                       16           0              0              0       0     16
    """
    table = counts(results)
    labels = [f"{family:<10} {_family_name(family)}" for family in table]
    width = max([len("Family"), *map(len, labels)])
    columns = [*VERDICTS, "Total"]

    def line(label: str, values: list[int]) -> str:
        cells = "  ".join(f"{n:>{len(name)}}" for name, n in zip(columns, values, strict=True))
        return f"{label:<{width}}  {cells}"

    lines = [f"{'Family':<{width}}  " + "  ".join(columns)]
    for label, row in zip(labels, table.values(), strict=True):
        lines.append(line(label, [*row.values(), sum(row.values())]))
    totals = _totals(table)
    lines.append(line("Total", [*totals.values(), sum(totals.values())]))
    return "\n".join(lines) + "\n"


def _file_names(results: Sequence[CaseResult]) -> list[str]:
    """``<id>-<testee>.json`` for each result, made safe and unique."""
    names: list[str] = []
    used: set[str] = set()
    for result in results:
        stem = _SAFE_NAME.sub("_", f"{result.case.id}-{result.testee}")
        name, n = f"{stem}.json", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.json"
        used.add(name.lower())
        names.append(name)
    return names


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def write_report(
    results: Sequence[CaseResult], directory: str | os.PathLike[str], *, title: str
) -> Path:
    """Write the report of ``results`` into ``directory`` and return its ``index.html``.

    The directory (and its ``cases`` folder) is made if need be; files of the
    same names are replaced, others left alone.

    Args:
        results: The results, in any order (the report sorts them by family
            and case id, as Autobahn numbers them).
        directory: Where to write.
        title: The report's title (the testee's name, say).

    Returns:
        The path of ``index.html``.
    """
    root = Path(directory)
    (root / "cases").mkdir(parents=True, exist_ok=True)
    ordered = sorted(results, key=_result_key)
    names = _file_names(ordered)
    date = datetime.now(timezone.utc).replace(microsecond=0)
    records: list[dict[str, Any]] = []
    for result, name in zip(ordered, names, strict=True):
        data = result.to_json()
        _write_json(root / "cases" / name, data)
        records.append(_page_record(data, f"cases/{name}"))
    table = counts(ordered)
    _write_json(root / "index.json", _index(ordered, names, table, title, date))
    index = root / "index.html"
    index.write_text(_page(title, date, ordered, table, records), encoding="utf-8")
    return index


def _index(
    results: Sequence[CaseResult],
    names: list[str],
    table: dict[str, dict[Verdict, int]],
    title: str,
    date: datetime,
) -> dict[str, Any]:
    return {
        "title": title,
        "date": date.isoformat(),
        "total": len(results),
        "totals": _totals(table),
        "counts": table,
        "families": {family: _family_name(family) for family in table},
        "cases": [
            {
                "id": result.case.id,
                "testee": result.testee,
                "verdict": result.verdict,
                "behaviour": result.behaviour,
                "close_behaviour": result.close_behaviour,
                "duration": round(result.duration, 6),
                "file": f"cases/{name}",
            }
            for result, name in zip(results, names, strict=True)
        ],
    }


# -- the page ------------------------------------------------------------------


def _page_record(data: dict[str, Any], file: str) -> dict[str, Any]:
    """A case's JSON as the page's script takes it: the wire log lighter, the file named."""
    record = dict(data)
    record["file"] = file
    record["wire_entries"] = len(data["wire"])
    record["wire"] = _compact_wire(data["wire"])
    for key in ("expected", "non_strict", "received"):
        record[key] = _runs(data[key])
    if data["received"] == data["expected"]:
        record["received"] = "expected"  # the page shows the list once for both
    return record


def _runs(items: list[str] | None) -> list[list[Any]] | None:
    """``[item, repeats]``: a list with its runs of equal items folded.

    Past :data:`_LIST_CAP` runs, one last ``[None, count]`` counts the items left out.
    """
    if items is None:
        return None
    runs: list[list[Any]] = []
    for whole in items:
        item = whole if len(whole) <= _TEXT_CUT else whole[:_TEXT_CUT] + " [cut]"
        if runs and runs[-1][0] == item:
            runs[-1][1] += 1
        else:
            runs.append([item, 1])
    if len(runs) > _LIST_CAP:
        left_out = sum(run[1] for run in runs[_LIST_CAP:])
        runs = [*runs[:_LIST_CAP], [None, left_out]]
    return runs


def _compact_wire(wire: list[list[Any]]) -> list[list[Any]]:
    """``[direction, at, text, repeats]``: repeats folded, long lines cut, no direction prefix.

    A log longer than :data:`_WIRE_HEAD` + :data:`_WIRE_TAIL` lines keeps its
    first and last lines around a ``"gap"`` line that counts the entries left out.
    """
    rows: list[list[Any]] = []
    for direction, at, text in wire:
        if text.startswith(f"{direction} "):
            text = text[len(direction) + 1 :]
        if len(text) > _TEXT_CUT:
            text = text[:_TEXT_CUT] + " [cut]"
        last = rows[-1] if rows else None
        if last is not None and last[0] == direction and last[2] == text:
            last[3] += 1
        else:
            rows.append([direction, at, text, 1])
    if len(rows) <= _WIRE_HEAD + _WIRE_TAIL:
        return rows
    middle = rows[_WIRE_HEAD:-_WIRE_TAIL]
    skipped = sum(row[3] for row in middle)
    return [*rows[:_WIRE_HEAD], ["gap", middle[0][1], "", skipped], *rows[-_WIRE_TAIL:]]


def _script_json(data: object) -> str:
    """JSON that cannot end, or comment out, the ``<script>`` element it is in."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _css_class(verdict: str) -> str:
    return "v-" + verdict.replace("-", "")


def _page(
    title: str,
    date: datetime,
    results: Sequence[CaseResult],
    table: dict[str, dict[Verdict, int]],
    records: list[dict[str, Any]],
) -> str:
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    data = {"families": {f: _family_name(f) for f in table}, "cases": records}
    return "".join(
        [
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n",
            f"<meta http-equiv='Content-Security-Policy' content=\"{policy}\">\n",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n",
            f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
            "<div class='wrap'>\n",
            _header(title, date, results, table),
            _summary(table),
            _controls(table),
            "<main id='cases' aria-live='polite'></main>\n",
            "<noscript><p class='empty'>The cases need JavaScript to show; each one is "
            "also in <code>cases/</code>, as JSON.</p></noscript>\n",
            "<footer>Written by wsproto_core.testing. Every case is also in "
            "<a href='index.json'>index.json</a> and <code>cases/</code>.</footer>\n",
            "</div>\n<script type='application/json' id='report-data'>",
            _script_json(data),
            f"</script>\n<script>{_SCRIPT}</script>\n</body>\n</html>\n",
        ]
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _header(
    title: str, date: datetime, results: Sequence[CaseResult], table: dict[str, dict[Verdict, int]]
) -> str:
    totals = _totals(table)
    testees = sorted({r.testee for r in results})
    facts = [
        f"<time datetime='{_esc(date.isoformat())}'>{_esc(date.strftime('%Y-%m-%d %H:%M UTC'))}"
        "</time>",
        _plural(len(results), "result"),
        _plural(len({r.case.id for r in results}), "case"),
        "testee: " + _esc(", ".join(testees) or "none"),
        f"{_duration(sum(r.duration for r in results))} in all",
    ]
    pills = "".join(
        f"<a class='pill {_css_class(v)}{' zero' if not n else ''}' href='#verdict={_esc(v)}' "
        f"title='{_esc(VERDICTS[v])}'><b>{n}</b> {_esc(v)}</a>"
        for v, n in totals.items()
    )
    return (
        f"<header>\n<p class='kicker'>WebSocket conformance report</p>\n<h1>{_esc(title)}</h1>\n"
        f"<p class='facts'>{' · '.join(facts)}</p>\n<div class='pills'>{pills}</div>\n"
        f"{_bar(totals, 'big')}</header>\n"
    )


def _bar(row: dict[Verdict, int], size: str = "") -> str:
    total = sum(row.values())
    if not total:
        return f"<div class='bar {size}'></div>"
    parts = "".join(
        f"<span class='{_css_class(v)}' style='width:{100 * n / total:.3f}%' "
        f"title='{n} {_esc(v)}'></span>"
        for v, n in row.items()
        if n
    )
    return f"<div class='bar {size}'>{parts}</div>"


def _summary_row(family: str, row: dict[Verdict, int]) -> str:
    cells = "".join(
        f"<td class='n {_css_class(v) if n else 'zero'}'>{n}</td>" for v, n in row.items()
    )
    link = f"<a href='#family={_esc(family)}'>"
    return (
        f"<tr><td class='fk'>{link}{_esc(family)}</a></td>"
        f"<th scope='row'>{link}{_esc(_family_name(family))}</a></th>{cells}"
        f"<td class='n total'>{sum(row.values())}</td><td class='barcell'>{_bar(row)}</td></tr>\n"
    )


def _summary(table: dict[str, dict[Verdict, int]]) -> str:
    heads = "".join(f"<th class='n' title='{_esc(VERDICTS[v])}'>{_esc(v)}</th>" for v in VERDICTS)
    rows = "".join(_summary_row(family, row) for family, row in table.items())
    totals = _totals(table)
    foot = "".join(f"<td class='n'>{n}</td>" for n in totals.values())
    legend = "".join(
        f"<dt><span class='badge {_css_class(v)}'>{_esc(v)}</span></dt><dd>{_esc(meaning)}</dd>"
        for v, meaning in VERDICTS.items()
    )
    return (
        "<section class='card'>\n<h2>By family</h2>\n<table id='summary'>\n"
        f"<thead><tr><th colspan='2'>Family</th>{heads}<th class='n'>Total</th><th></th></tr>"
        "</thead>\n"
        f"<tbody>\n{rows}</tbody>\n<tfoot><tr><th scope='row' colspan='2'>Total</th>{foot}"
        f"<td class='n total'>{sum(totals.values())}</td><td class='barcell'>{_bar(totals)}</td>"
        "</tr></tfoot>\n</table>\n"
        "<details class='legend'><summary>What the verdicts mean</summary>"
        f"<dl>{legend}</dl><p>A case's verdict is the worse of two: what the testee sent back "
        "(behaviour) and how the connection ended (close).</p></details>\n</section>\n"
    )


def _controls(table: dict[str, dict[Verdict, int]]) -> str:
    families = "".join(
        f"<option value='{_esc(f)}'>{_esc(f)} {_esc(_family_name(f))}</option>" for f in table
    )
    verdicts = "".join(f"<option value='{_esc(v)}'>{_esc(v)}</option>" for v in VERDICTS)
    return (
        "<nav id='controls' class='card'>\n"
        "<label>Family <select id='f-family'><option value=''>All families</option>"
        f"{families}</select></label>\n"
        "<label>Verdict <select id='f-verdict'><option value=''>Any verdict</option>"
        f"{verdicts}</select></label>\n"
        "<label class='check'><input type='checkbox' id='f-problems'> Only non-OK</label>\n"
        "<label class='grow'><input type='search' id='f-search' "
        "placeholder='Case id or words of its description'></label>\n"
        "<span id='shown'></span>\n"
        "<button type='button' id='expand'>Expand all</button>\n</nav>\n"
    )


_CSS = """
:root{--bg:#f4f5f7;--card:#fff;--fg:#1f2328;--muted:#656d76;--line:#d9dee3;--soft:#f6f8fa;
--ok:#1a7f37;--ok-bg:#dcf5e3;--ns:#9a6700;--ns-bg:#fff0c2;--in:#0969da;--in-bg:#ddf0ff;
--un:#59636e;--un-bg:#e8ebef;--fa:#cf222e;--fa-bg:#ffe3e1;
--out-c:#0550ae;--out-bg:#eef5ff;--inn-c:#6f42c1;--inn-bg:#f5f0ff;
--mono:ui-monospace,SFMono-Regular,"JetBrains Mono",Menlo,Consolas,monospace}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;
--muted:#8d96a0;--line:#30363d;--soft:#1c2129;--ok:#3fb950;--ok-bg:#12351f;--ns:#d29922;
--ns-bg:#3a2c0b;--in:#58a6ff;--in-bg:#0f2a4a;--un:#9198a1;--un-bg:#272c33;--fa:#f85149;
--fa-bg:#4a1619;--out-c:#79c0ff;--out-bg:#0f2036;--inn-c:#d2a8ff;--inn-bg:#241a3a}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif}
a{color:inherit}
code,.mono{font-family:var(--mono);font-size:12.5px}
.wrap{max-width:1280px;margin:0 auto;padding:28px 28px 40px}
header{margin-bottom:20px}
.kicker{margin:0;color:var(--muted);font-size:12px;letter-spacing:.08em;text-transform:uppercase;
font-weight:600}
h1{margin:2px 0 4px;font-size:28px;line-height:1.2;overflow-wrap:anywhere}
.facts{margin:0 0 14px;color:var(--muted)}
.pills{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:12px}
.pill{display:inline-flex;gap:6px;align-items:baseline;padding:5px 12px;border-radius:999px;
font-size:13px;font-weight:600;text-decoration:none;border:1px solid transparent}
.pill b{font-size:16px}
.pill.zero{opacity:.45}
.v-OK{color:var(--ok);background:var(--ok-bg)}
.v-NONSTRICT{color:var(--ns);background:var(--ns-bg)}
.v-INFORMATIONAL{color:var(--in);background:var(--in-bg)}
.v-UNIMPLEMENTED{color:var(--un);background:var(--un-bg)}
.v-FAILED{color:var(--fa);background:var(--fa-bg)}
.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:var(--un-bg);
min-width:80px}
.bar.big{height:10px;border-radius:5px}
.bar span{display:block;height:100%}
.bar .v-OK{background:var(--ok)}.bar .v-NONSTRICT{background:var(--ns)}
.bar .v-INFORMATIONAL{background:var(--in)}.bar .v-UNIMPLEMENTED{background:var(--un)}
.bar .v-FAILED{background:var(--fa)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:16px 18px;margin-bottom:16px;box-shadow:0 1px 2px rgba(31,35,40,.04)}
h2{font-size:15px;margin:0 0 10px}
#summary{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
#summary th,#summary td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left}
#summary thead th{font-size:11.5px;letter-spacing:.04em;color:var(--muted);font-weight:600;
white-space:nowrap}
#summary tbody th{font-weight:500;white-space:nowrap}
#summary tbody a{text-decoration:none}
#summary tbody a:hover{text-decoration:underline}
#summary td.fk{width:1%;padding-right:4px}
#summary tbody tr:hover{background:var(--soft)}
#summary tfoot th,#summary tfoot td{font-weight:700;border-bottom:0;
border-top:2px solid var(--line)}
#summary .n{text-align:right;width:1%;white-space:nowrap}
#summary td.n{font-weight:600}
#summary td.zero{color:var(--line);background:none;font-weight:400}
#summary td.total{color:var(--fg)}
#summary .barcell{width:22%;min-width:120px}
.fk{color:var(--muted);font-family:var(--mono);font-size:12.5px}
.legend{margin-top:10px;color:var(--muted);font-size:13px}
.legend summary{cursor:pointer}
.legend dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 12px;margin:10px 0}
.legend dt,.legend dd{margin:0}
.legend p{margin:0}
#controls{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;gap:10px 16px;
align-items:center;padding:10px 14px}
#controls label{display:inline-flex;gap:6px;align-items:center;color:var(--muted);font-size:13px}
#controls select{max-width:230px}
#controls .grow{flex:1;min-width:160px}
#controls .grow input{width:100%}
select,input[type=search],button{font:inherit;font-size:13px;color:var(--fg);
background:var(--card);border:1px solid var(--line);border-radius:6px;padding:5px 8px}
button{cursor:pointer;font-weight:600;background:var(--soft)}
button:hover{border-color:var(--muted)}
#shown{color:var(--muted);font-size:13px;font-variant-numeric:tabular-nums}
.family{margin-top:18px}
.family h3{display:flex;align-items:baseline;gap:10px;margin:0 0 8px;font-size:15px}
.family h3 .count{color:var(--muted);font-weight:400;font-size:13px}
.rows{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
details.case{border-top:1px solid var(--line)}
details.case:first-child{border-top:0}
details.case>summary{display:grid;
grid-template-columns:12px 104px 44px 126px 190px 130px minmax(0,1fr) 64px;
gap:12px;align-items:center;padding:7px 14px;cursor:pointer;list-style:none}
details.case>summary::-webkit-details-marker{display:none}
details.case>summary:hover{background:var(--soft)}
details.case[open]>summary{background:var(--soft);border-bottom:1px solid var(--line)}
.chev{width:0;height:0;border:5px solid transparent;border-left:6px solid var(--muted);
margin-left:3px;transition:transform .12s}
details.case[open] .chev{transform:rotate(90deg) translate(2px,-2px)}
.cid{font-family:var(--mono);font-weight:600;font-size:13px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
details.case.bad>summary{box-shadow:inset 3px 0 0 var(--accent)}
details.case.k-FAILED{--accent:var(--fa)}details.case.k-NONSTRICT{--accent:var(--ns)}
details.case.k-INFORMATIONAL{--accent:var(--in)}details.case.k-UNIMPLEMENTED{--accent:var(--un)}
.testee{color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:2px 8px;border-radius:6px;font-size:11.5px;font-weight:700;
letter-spacing:.02em;text-align:center;white-space:nowrap}
summary .badge{width:100%}
.sub{font-size:12px;color:var(--muted);white-space:nowrap}
.sub b{font-weight:600}
.sub.t-OK b{color:var(--ok)}.sub.t-NONSTRICT b{color:var(--ns)}
.sub.t-INFORMATIONAL b{color:var(--in)}
.sub.t-UNIMPLEMENTED b{color:var(--un)}.sub.t-FAILED b{color:var(--fa)}
.desc{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:var(--fg)}
.dur{text-align:right;color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums}
.body{padding:14px 18px 18px 40px;display:grid;gap:14px}
.body h4{margin:0 0 6px;font-size:12px;letter-spacing:.05em;text-transform:uppercase;
color:var(--muted)}
.facts2{display:grid;grid-template-columns:110px 1fr;gap:4px 14px;margin:0}
.facts2 dt{color:var(--muted)}
.facts2 dd{margin:0;overflow-wrap:anywhere}
.outcome{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.verdict-box{border:1px solid var(--line);border-left-width:4px;border-radius:8px;
padding:8px 12px;background:var(--card)}
.verdict-box.b-OK{border-left-color:var(--ok)}.verdict-box.b-NONSTRICT{border-left-color:var(--ns)}
.verdict-box.b-INFORMATIONAL{border-left-color:var(--in)}
.verdict-box.b-UNIMPLEMENTED{border-left-color:var(--un)}
.verdict-box.b-FAILED{border-left-color:var(--fa)}
.verdict-box .what{display:flex;gap:8px;align-items:center;font-weight:600;margin-bottom:2px}
.verdict-box p{margin:0;overflow-wrap:anywhere}
.compare{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.compare ol{margin:0;padding:0 0 0 2.4em;font-family:var(--mono);font-size:12.5px}
.compare li{overflow-wrap:anywhere;padding:1px 0}
.compare li.more{list-style:none;color:var(--muted);font-family:system-ui,sans-serif}
.compare li.diff{background:var(--fa-bg);color:var(--fa);border-radius:4px}
.more-button{margin-top:6px;font-size:12px;padding:2px 10px;font-weight:500}
.compare .same{color:var(--ok);margin:0;font-weight:600}
.compare .none{color:var(--muted);font-style:italic;margin:0}
.alt{margin-top:6px;color:var(--muted);font-size:12.5px}
.wire-wrap{overflow-x:auto}
table.wire{width:100%;border-collapse:collapse;font-family:var(--mono);font-size:12px}
table.wire th{white-space:nowrap;font-family:system-ui,sans-serif;text-align:left;
color:var(--muted);font-weight:600;font-size:11.5px;padding:4px 8px;
border-bottom:1px solid var(--line)}
table.wire td{padding:3px 8px;vertical-align:top;border-bottom:1px solid var(--soft)}
table.wire td.t{color:var(--muted);text-align:right;white-space:nowrap;width:1%;
font-variant-numeric:tabular-nums}
table.wire td.d{white-space:nowrap;width:1%;font-weight:700;text-align:center}
table.wire td.x{overflow-wrap:anywhere;white-space:pre-wrap}
tr.w-out td.d,tr.w-out td.x{color:var(--out-c)}
tr.w-out td.x{background:var(--out-bg);border-left:3px solid var(--out-c)}
tr.w-in td.d,tr.w-in td.x{color:var(--inn-c)}
tr.w-in td.x{background:var(--inn-bg);border-left:3px solid var(--inn-c)}
tr.w-note td.x{color:var(--muted);font-style:italic;font-family:system-ui,sans-serif;
border-left:3px solid transparent}
tr.w-note td.d{color:var(--muted)}
tr.w-gap td{text-align:center;color:var(--muted);font-family:system-ui,sans-serif;
background:repeating-linear-gradient(135deg,var(--soft) 0 6px,var(--card) 6px 12px);padding:6px}
tr.w-gap a{color:var(--in)}
.rep{margin-left:8px;padding:0 6px;border-radius:4px;background:var(--card);
border:1px solid var(--line);color:var(--muted);font-style:normal}
.key{display:flex;gap:16px;font-size:12px;color:var(--muted);margin:0 0 6px}
.key .o{color:var(--out-c)}.key .i{color:var(--inn-c)}
.links{display:flex;gap:14px;font-size:12.5px}
.links a{color:var(--in)}
.empty{padding:28px;text-align:center;color:var(--muted)}
footer{margin-top:28px;color:var(--muted);font-size:12px}
@media (max-width:900px){details.case>summary{grid-template-columns:14px 1fr 52px 120px 60px}
details.case>summary .sub,details.case>summary .desc{display:none}
.outcome,.compare{grid-template-columns:1fr}.body{padding-left:18px}}
"""

_SCRIPT = """
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var cases = data.cases, names = data.families;
  var main = document.getElementById("cases");
  var fFamily = document.getElementById("f-family");
  var fVerdict = document.getElementById("f-verdict");
  var fProblems = document.getElementById("f-problems");
  var fSearch = document.getElementById("f-search");
  var expandButton = document.getElementById("expand");
  var shown = document.getElementById("shown");
  var ARROW = {out: "\\u2192", "in": "\\u2190", note: "\\u2022"};
  var WHO = {out: "peer \\u2192 testee", "in": "testee \\u2192 peer", note: "note"};
  var rows = [], sections = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.append(arguments[i]);
    return parent;
  }
  function vclass(verdict) { return String(verdict).replace(/[^A-Z]/g, ""); }
  function badge(verdict) { return el("span", "badge v-" + vclass(verdict), verdict); }
  function duration(s) {
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 1 : 0) + " ms";
    return s.toFixed(2) + " s";
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many || one + "s"); }
  function stem(c) { return c.file.replace(/^cases\\//, "").replace(/\\.json$/, ""); }

  function sub(label, verdict) {
    var node = el("span", "sub t-" + vclass(verdict), label + " ");
    node.append(el("b", null, verdict));
    return node;
  }

  function summaryRow(c, index) {
    var k = vclass(c.verdict);
    var d = el("details", "case k-" + k + (k === "OK" ? "" : " bad"));
    d.id = "case-" + stem(c);
    d.dataset.index = String(index);
    var s = el("summary");
    add(s, el("span", "chev"), el("span", "cid", c.id), el("span", "testee", c.testee),
        badge(c.verdict), sub("behaviour", c.behaviour), sub("close", c.close_behaviour),
        el("span", "desc", c.description), el("span", "dur", duration(c.duration)));
    s.title = c.description;
    d.append(s);
    d.addEventListener("toggle", function () { if (d.open) build(d); });
    return d;
  }

  function build(d) {
    if (d.dataset.built) return;
    d.dataset.built = "1";
    d.append(body(cases[Number(d.dataset.index)]));
  }

  function fact(list, term, text) {
    add(list, el("dt", null, term), el("dd", null, text));
  }

  function verdictBox(label, verdict, reason) {
    var box = el("div", "verdict-box b-" + vclass(verdict));
    var what = add(el("div", "what"), el("span", null, label), badge(verdict));
    return add(box, what, el("p", null, reason));
  }

  function list(runs, against) {
    if (!runs.length) return el("p", "none", "nothing");
    var ol = el("ol"), number = 1;
    runs.forEach(function (run, i) {
      if (run[0] === null) {
        ol.append(el("li", "more", "\\u22ef " + run[1] + " more: see the case's JSON file"));
        return;
      }
      var li = el("li", null, run[0]);
      li.value = number;
      number += run[1];
      if (run[1] > 1) li.append(el("span", "rep", "\\u00d7" + run[1]));
      var other = against && against[i];
      if (against && (!other || other[0] !== run[0] || other[1] !== run[1])) li.className = "diff";
      ol.append(li);
    });
    return shorten(ol, 8);
  }

  function shorten(ol, keep) {
    var items = ol.children, hidden = items.length - keep;
    if (hidden < 3) return ol;
    for (var i = keep; i < items.length; i++) items[i].hidden = true;
    var more = el("button", "more-button", "Show " + hidden + " more");
    more.type = "button";
    more.addEventListener("click", function () {
      for (var j = keep; j < items.length; j++) items[j].hidden = false;
      more.remove();
    });
    return add(el("div"), ol, more);
  }

  function expectedColumn(c) {
    var col = add(el("div"), el("h4", null, "Expected"));
    if (c.statuses) {
      col.append(el("p", null, "an HTTP status " + c.statuses.join(" or ") +
                               " to the raw request"));
    } else if (c.expected === null || c.expected === undefined) {
      col.append(el("p", "none", "anything: the outcome is recorded, not judged"));
    } else {
      col.append(list(c.expected));
    }
    if (c.non_strict) {
      col.append(el("p", "alt", "or, for NON-STRICT:"));
      col.append(list(c.non_strict));
    }
    return col;
  }

  function compare(c) {
    var received = add(el("div"), el("h4", null, "Received"));
    var judged = c.expected && !c.statuses &&
        (c.behaviour === "FAILED" || c.behaviour === "NON-STRICT");
    if (c.statuses) {
      received.append(el("p", "none", "see the wire log for the status line"));
    } else if (c.received === "expected") {
      received.append(c.expected.length ? el("p", "same", "\\u2713 the same, item for item") :
                      list([]));
    } else {
      received.append(list(c.received, judged ? c.expected : null));
    }
    return add(el("div", "compare"), expectedColumn(c), received);
  }

  function codes(list) {
    return list.map(function (code) { return code === null ? "no code" : String(code); })
        .join(" or ");
  }

  function closeFacts(c) {
    var box = add(el("div"), el("h4", null, "Closing"));
    var dl = el("dl", "facts2");
    var e = c.expected_close;
    if (e) {
      fact(dl, "Expected", e.closed_by_me ?
          "the peer closes with 1000; the testee answers " + codes(e.codes) +
              (e.require_clean ? ", then the server drops the TCP connection" : "") :
          "the testee fails the connection with " + codes(e.codes));
    }
    var t = c.testee_close;
    fact(dl, "Testee's close", !t ? "none: it sent no close frame" :
        t[0] === null ? "a close frame without a code" :
        String(t[0]) + (t[1] ? " \\u201c" + t[1] + "\\u201d" : " (no reason)"));
    fact(dl, "Closed first by", c.closed_by_me === true ? "the peer" :
        c.closed_by_me === false ? "the testee" : "nobody (no closing handshake)");
    return add(box, dl);
  }

  function gap(c, skipped) {
    var tr = el("tr", "w-gap");
    var td = el("td", null, "\\u22ef " + plural(skipped, "entry", "entries") +
        " not shown here: the log is whole in ");
    td.colSpan = 3;
    var link = el("a", null, c.file);
    link.href = c.file;
    td.append(link);
    tr.append(td);
    return tr;
  }

  function wireTable(c) {
    var box = add(el("div"), el("h4", null, "Wire log"));
    var key = el("p", "key");
    add(key, el("span", "o", "\\u2192 peer to testee"), el("span", "i", "\\u2190 testee to peer"),
        el("span", null, "\\u2022 note"),
        el("span", null, plural(c.wire_entries, "entry", "entries")));
    var wrap = el("div", "wire-wrap"), table = el("table", "wire");
    var head = el("tr");
    add(head, el("th", null, "Time (s)"), el("th", null, ""), el("th", null, "Frame"));
    table.append(add(el("thead"), head));
    var tbody = el("tbody");
    c.wire.forEach(function (w) {
      if (w[0] === "gap") { tbody.append(gap(c, w[3])); return; }
      var tr = el("tr", "w-" + w[0]);
      var dir = el("td", "d", ARROW[w[0]] || "?");
      dir.title = WHO[w[0]] || w[0];
      var text = el("td", "x", w[2]);
      if (w[3] > 1) text.append(el("span", "rep", "\\u00d7" + w[3]));
      add(tr, el("td", "t", Number(w[1]).toFixed(3)), dir, text);
      tbody.append(tr);
    });
    table.append(tbody);
    return add(box, key, add(wrap, table));
  }

  function body(c) {
    var b = el("div", "body");
    var facts = el("dl", "facts2");
    fact(facts, "Description", c.description);
    fact(facts, "Expectation", c.expectation);
    if (c.version !== undefined && c.version !== 13) fact(facts, "Version", c.version);
    var outcome = add(el("div", "outcome"),
        verdictBox("Behaviour", c.behaviour, c.behaviour_reason),
        verdictBox("Close", c.close_behaviour, c.close_reason));
    var links = el("p", "links");
    var file = el("a", null, "JSON of this case");
    file.href = c.file;
    var self = el("a", null, "Link to this case");
    self.href = "#case=" + encodeURIComponent(stem(c));
    add(links, file, self);
    return add(b, facts, add(el("div"), el("h4", null, "What happened"), outcome), compare(c),
               closeFacts(c), wireTable(c), links);
  }

  function render() {
    var current = null;
    cases.forEach(function (c, i) {
      if (!current || current.family !== c.family) {
        var section = el("section", "family");
        var h = el("h3");
        add(h, el("span", "fk", c.family), el("span", null, names[c.family] || c.family),
            el("span", "count"));
        var box = el("div", "rows");
        add(section, h, box);
        main.append(section);
        current = {family: c.family, node: section, count: h.lastChild, box: box, rows: []};
        sections.push(current);
      }
      var row = summaryRow(c, i);
      current.box.append(row);
      current.rows.push(row);
      rows.push(row);
    });
    main.append(el("p", "empty", "No case matches the filter."));
  }

  function matches(c, family, verdict, words) {
    if (family && c.family !== family) return false;
    if (fProblems.checked && c.verdict === "OK") return false;
    if (verdict && c.verdict !== verdict) return false;
    if (!words) return true;
    var hay = (c.id + " " + c.testee + " " + c.description).toLowerCase();
    return c.id.toLowerCase().indexOf(words) === 0 || hay.indexOf(words) >= 0;
  }

  function apply() {
    var family = fFamily.value, verdict = fVerdict.value;
    var words = fSearch.value.trim().toLowerCase(), total = 0;
    sections.forEach(function (s) {
      var n = 0;
      s.rows.forEach(function (row) {
        var ok = matches(cases[Number(row.dataset.index)], family, verdict, words);
        row.hidden = !ok;
        if (ok) n++;
      });
      s.node.hidden = n === 0;
      s.count.textContent = n === s.rows.length ? plural(n, "result") : n + " of " + s.rows.length;
      total += n;
    });
    main.lastChild.hidden = total > 0;
    shown.textContent = total + " of " + cases.length + " shown";
  }

  function setAll(open) {
    rows.forEach(function (row) {
      if (row.hidden) return;
      if (open) build(row);
      row.open = open;
    });
    expandButton.textContent = open ? "Collapse all" : "Expand all";
    expandButton.dataset.open = open ? "1" : "";
  }

  function params() {
    var p = new URLSearchParams(location.search);
    new URLSearchParams(location.hash.replace(/^#/, "")).forEach(function (v, k) { p.set(k, v); });
    return p;
  }

  function choose(select, value) {
    select.value = value;
    if (select.value !== value) select.value = "";
  }

  function scrollTo(node) {
    var nav = document.getElementById("controls");
    var top = node.getBoundingClientRect().top + window.scrollY - nav.offsetHeight - 12;
    window.scrollTo(0, Math.max(top, 0));
  }

  function openCase(wanted) {
    var first = null;
    rows.forEach(function (row) {
      var c = cases[Number(row.dataset.index)];
      if (stem(c) !== wanted && c.id !== wanted) return;
      row.hidden = false;
      row.parentNode.parentNode.hidden = false;
      build(row);
      row.open = true;
      first = first || row;
    });
    if (first) scrollTo(first);
  }

  function route() {
    var p = params();  // the whole state of the filters: what it leaves out is reset
    choose(fFamily, p.get("family") || "");
    choose(fVerdict, p.get("verdict") || "");
    fProblems.checked = p.has("problems") && p.get("problems") !== "0";
    fSearch.value = p.get("q") || "";
    apply();
    if (p.get("expand") === "all") setAll(true);
    if (p.get("case")) openCase(p.get("case"));
    else if (p.has("family") || p.has("verdict")) scrollTo(main);
  }

  function remember() {
    var p = new URLSearchParams();
    if (fFamily.value) p.set("family", fFamily.value);
    if (fVerdict.value) p.set("verdict", fVerdict.value);
    if (fProblems.checked) p.set("problems", "1");
    if (fSearch.value) p.set("q", fSearch.value);
    var hash = p.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    apply();
  }

  render();
  [fFamily, fVerdict, fProblems].forEach(function (c) { c.addEventListener("change", remember); });
  fSearch.addEventListener("input", remember);
  expandButton.addEventListener("click", function () { setAll(!expandButton.dataset.open); });
  window.addEventListener("hashchange", route);
  route();
})();
"""
