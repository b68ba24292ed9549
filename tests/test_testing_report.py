"""The conformance report: JSON files per case, an index, one self-contained HTML page.

The results are real: small cases played in memory against our connections,
one that fails on purpose (it expects an echo the testee does not send) and
one whose payload and description are hostile HTML. Headless Chromium renders
the page with its script to check what a reader sees (required in CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core.connection import ClientConnection, ServerConnection
from wsproto_core.testing.cases import (
    VERDICTS,
    Case,
    Deflate,
    Send,
    SendMessage,
    fails,
    received_pong,
    received_text,
)
from wsproto_core.testing.engine import CaseResult, WireEntry
from wsproto_core.testing.memory import URL, run_in_memory
from wsproto_core.testing.report import FAMILY_NAMES, counts, summary_text, write_report
from wsproto_core.testing.wire import Frame, ping, text

if TYPE_CHECKING:
    from pathlib import Path

    from wsproto_core.testing.cases import Role

HOSTILE = "</script><img src=x onerror=alert(1)>"
"""A payload that runs script wherever a report pastes it into HTML unescaped."""

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

ECHO = Case(
    "1.1.1",
    "Send text message with payload 0.",
    "Receive echo'ed text message (with empty payload). Clean close with normal code.",
    steps=(Send((text(""),)),),
    ok=(received_text(""),),
)
HOSTILE_PING = Case(
    "2.6",
    f"Send a ping whose payload is {HOSTILE}",
    f"A pong with the payload as sent: {HOSTILE}",
    steps=(Send((ping(HOSTILE.encode()),), chop=1), Send((text(HOSTILE),))),
    ok=(received_pong(HOSTILE.encode()), received_text(HOSTILE)),
)
RESERVED_OPCODE = Case(
    "4.1.1",
    "Send frame with reserved non-control Opcode = 3.",
    "The connection is failed immediately.",
    steps=(Send((Frame(3),)),),
    close=fails(1002),
)
EMPTY_TEXT = Case(
    "6.1.1",
    "Send text message of length 0.",
    "A message is echoed back to us (with empty payload).",
    steps=(Send((text(""),)),),
    ok=None,
)
WRONG_ECHO = Case(
    "7.1.1",
    "Send a message followed by a close frame.",
    "This case expects an echo the testee will not send: it must fail.",
    steps=(Send((text("Hello World!"),)),),
    ok=(received_text("Hello World?"),),
)
COMPRESSED = Case(
    "12.1.1",
    "Send 10 compressed messages each of payload size 16.",
    "Receive echo'ed messages (with payload as sent).",
    steps=(SendMessage(b"0123456789abcdef", count=10),),
    ok=tuple(received_text("0123456789abcdef") for _ in range(10)),
    deflate=Deflate(),
)
NO_KEY = Case(
    "handshake.1",
    "A request without Sec-WebSocket-Key.",
    "HTTP 400.",
    request=(
        b"GET /echo HTTP/1.1\r\nHost: testee.invalid\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ),
    statuses=(400,),
    roles=frozenset({"server"}),
)


def _without_deflate(case: Case, role: Role) -> ServerConnection | ClientConnection:
    """A testee that declines permessage-deflate: compression cases are UNIMPLEMENTED."""
    if role == "server":
        return ServerConnection()
    return ClientConnection(URL, version=case.version)


def _play() -> list[CaseResult]:
    results = []
    for case in (ECHO, HOSTILE_PING, RESERVED_OPCODE, EMPTY_TEXT, WRONG_ECHO, NO_KEY):
        results += [
            run_in_memory(case, role) for role in ("server", "client") if role in case.roles
        ]
    results.append(run_in_memory(COMPRESSED, "server"))
    results.append(run_in_memory(COMPRESSED, "client", _without_deflate))
    return results


EXPECTED_COUNTS = {
    "1": {"OK": 2},
    "2": {"OK": 2},
    "4": {"OK": 2},
    "6": {"INFORMATIONAL": 2},
    "7": {"FAILED": 2},
    "12": {"OK": 1, "UNIMPLEMENTED": 1},
    "handshake": {"OK": 1},
}
"""What :func:`_play` must come to, by family (verdicts not named are 0)."""


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    played = _play()
    # The report is only as good as its input: the cases came out as designed.
    assert {f: {v: n for v, n in row.items() if n} for f, row in counts(played).items()} == (
        EXPECTED_COUNTS
    )
    return played


@pytest.fixture
def report(tmp_path: Path, results: list[CaseResult]) -> Path:
    # Reversed: the report sorts the results itself.
    return write_report(results[::-1], tmp_path / "report", title=f"our core {HOSTILE}")


def _full(row: dict[str, int]) -> dict[str, int]:
    return {verdict: row.get(verdict, 0) for verdict in VERDICTS}


# -- counts and the text summary ----------------------------------------------------


def _result(case_id: str, verdict: str = "OK", testee: Role = "server") -> CaseResult:
    return CaseResult(Case(case_id, "d", "e"), testee, verdict, "", "OK", "")  # type: ignore[arg-type]


def test_counts_maps_every_verdict_of_each_family_in_report_order() -> None:
    ids = ["limits.1", "10.1", "9.2", "legacy.1", "handshake.2", "2.1", "9.3", "custom.1"]
    table = counts([_result(i, "FAILED" if i == "9.3" else "OK") for i in ids])
    assert list(table) == ["2", "9", "10", "handshake", "legacy", "limits", "custom"]
    assert table["9"] == {
        "OK": 1,
        "NON-STRICT": 0,
        "INFORMATIONAL": 0,
        "UNIMPLEMENTED": 0,
        "FAILED": 1,
    }
    assert all(list(row) == list(VERDICTS) for row in table.values())


def test_counts_takes_the_worse_of_behaviour_and_close() -> None:
    result = CaseResult(Case("3.1", "d", "e"), "server", "OK", "", "NON-STRICT", "")
    assert counts([result])["3"]["NON-STRICT"] == 1


def test_summary_text_has_a_row_per_family_and_a_total(results: list[CaseResult]) -> None:
    lines = summary_text(results).splitlines()
    assert lines[0].split()[1:] == [*VERDICTS, "Total"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == [*EXPECTED_COUNTS, "Total"]
    assert "Close Handling" in rows["7"]
    assert FAMILY_NAMES["12"] in rows["12"]
    # The numbers end each line: OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED, total.
    assert [int(n) for n in rows["7"].split()[-6:]] == [0, 0, 0, 0, 2, 2]
    assert [int(n) for n in rows["12"].split()[-6:]] == [1, 0, 0, 1, 0, 2]
    assert [int(n) for n in rows["Total"].split()[-6:]] == [8, 0, 2, 1, 2, 13]


def test_summary_text_columns_line_up(results: list[CaseResult]) -> None:
    lines = summary_text(results).splitlines()
    assert len({len(line) for line in lines}) == 1


# -- the files ---------------------------------------------------------------------------


def test_write_report_writes_a_json_file_per_case(report: Path, results: list[CaseResult]) -> None:
    assert report.name == "index.html"
    assert report.is_file()
    files = sorted(p.name for p in (report.parent / "cases").iterdir())
    assert files == sorted(f"{r.case.id}-{r.testee}.json" for r in results)
    for result in results:
        path = report.parent / "cases" / f"{result.case.id}-{result.testee}.json"
        assert json.loads(path.read_text()) == json.loads(json.dumps(result.to_json()))


def test_index_json_has_the_counts_and_a_line_per_case(
    report: Path, results: list[CaseResult]
) -> None:
    index = json.loads((report.parent / "index.json").read_text())
    assert index["title"] == f"our core {HOSTILE}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", index["date"])
    assert index["counts"] == {f: _full(row) for f, row in EXPECTED_COUNTS.items()}
    assert list(index["counts"]) == list(EXPECTED_COUNTS)
    assert index["total"] == len(results) == 13
    assert index["totals"]["FAILED"] == 2
    lines = {(line["id"], line["testee"]): line for line in index["cases"]}
    assert len(lines) == len(results)
    failed = lines[("7.1.1", "client")]
    assert failed["verdict"] == failed["behaviour"] == "FAILED"
    assert failed["close_behaviour"] == "OK"
    assert lines[("12.1.1", "client")]["verdict"] == "UNIMPLEMENTED"
    for line in index["cases"]:
        assert (report.parent / line["file"]).is_file()
        assert isinstance(line["duration"], float)


def test_index_json_lists_the_cases_in_autobahn_order(report: Path) -> None:
    index = json.loads((report.parent / "index.json").read_text())
    order = [(line["id"], line["testee"]) for line in index["cases"]]
    numbered = ["1.1.1", "2.6", "4.1.1", "6.1.1", "7.1.1", "12.1.1"]
    assert order == [
        *((case_id, testee) for case_id in numbered for testee in ("client", "server")),
        ("handshake.1", "server"),
    ]


def test_file_names_are_safe_and_unique(tmp_path: Path) -> None:
    results = [_result("../../etc/passwd"), _result("a/b c"), _result("1.1"), _result("1.1")]
    index = write_report(results, tmp_path, title="t")
    names = sorted(p.name for p in (tmp_path / "cases").iterdir())
    assert names == [
        ".._.._etc_passwd-server.json",
        "1.1-server-2.json",
        "1.1-server.json",
        "a_b_c-server.json",
    ]
    assert index == tmp_path / "index.html"
    assert not (tmp_path.parent / "etc").exists()


def test_an_empty_run_still_makes_a_report(tmp_path: Path) -> None:
    index = write_report([], tmp_path / "empty", title="nothing")
    assert json.loads((index.parent / "index.json").read_text())["total"] == 0
    assert "<table id='summary'>" in index.read_text()
    assert summary_text([]).splitlines()[-1].split()[1:] == ["0"] * 6


# -- the page -----------------------------------------------------------------------------


def _data_block(page: str) -> Any:
    match = re.search(
        r"<script type='application/json' id='report-data'>(.*?)</script>", page, re.DOTALL
    )
    assert match is not None
    return json.loads(match.group(1))


def test_the_page_never_carries_a_hostile_string_raw(report: Path) -> None:
    page = report.read_text()
    assert HOSTILE not in page
    assert "<img" not in page
    assert "</script><" not in page
    # It is there, as text: in the title, escaped, and in the data the script reads.
    assert "our core &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    data = _data_block(page)
    ping_case = next(c for c in data["cases"] if c["id"] == "2.6" and c["testee"] == "server")
    assert HOSTILE in ping_case["description"]
    assert any(HOSTILE in w[2] for w in ping_case["wire"])


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_page_parses_to_our_elements_only(report: Path) -> None:
    parser = _Tags()
    parser.feed(report.read_text())
    names = {tag for tag, _ in parser.tags}
    assert "img" not in names
    assert [attrs.get("type") for tag, attrs in parser.tags if tag == "script"] == [
        "application/json",
        None,
    ]
    handlers = [(tag, a) for tag, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert handlers == []


def test_the_page_is_self_contained(report: Path) -> None:
    page = report.read_text()
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, re.I)
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert "default-src 'none'" in page


def test_the_page_summary_table_has_a_row_per_family(report: Path) -> None:
    page = report.read_text()
    table = page.split("<table id='summary'>")[1].split("</table>")[0]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>.*?</tr>", body)
    assert len(rows) == len(EXPECTED_COUNTS)
    assert "Close Handling" in rows[4]
    cells = re.findall(r"<td class='n ([^']*)'>(\d+)</td>", rows[4])
    assert cells == [
        ("zero", "0"),
        ("zero", "0"),
        ("zero", "0"),
        ("zero", "0"),
        ("v-FAILED", "2"),
        ("total", "2"),
    ]


def test_the_page_data_holds_every_case_with_its_wire_log(
    report: Path, results: list[CaseResult]
) -> None:
    data = _data_block(report.read_text())
    assert len(data["cases"]) == len(results)
    assert data["families"]["7"] == "Close Handling"
    failed = next(c for c in data["cases"] if c["id"] == "7.1.1" and c["testee"] == "server")
    assert failed["expected"] == [["text (12 bytes) b'Hello World?'", 1]]
    assert failed["received"] == [["text (12 bytes) b'Hello World!'", 1]]
    assert failed["file"] == "cases/7.1.1-server.json"
    assert [w[0] for w in failed["wire"]][:2] == ["out", "in"]
    assert any(w[2] == "text fin len=12 b'Hello World!'" for w in failed["wire"])


def test_the_page_folds_repeated_wire_lines_and_cuts_long_ones(tmp_path: Path) -> None:
    wire = [WireEntry("out", 0.0, "out text fin len=3 b'abc'")] * 50
    wire += [WireEntry("in", 1.0, "in binary fin len=9999 " + "x" * 5000)]
    result = CaseResult(Case("9.1.1", "d", "e"), "server", "OK", "", "OK", "", wire=wire)
    page = write_report([result], tmp_path, title="t").read_text()
    case = _data_block(page)["cases"][0]
    assert case["wire"][0] == ["out", 0.0, "text fin len=3 b'abc'", 50]
    assert len(case["wire"][1][2]) < 300
    assert case["wire_entries"] == 51
    full = json.loads((tmp_path / "cases" / "9.1.1-server.json").read_text())
    assert len(full["wire"]) == 51  # the case's own file keeps the log whole


# -- the page, rendered -----------------------------------------------------------------


def _chromium() -> str:
    """Headless Chromium's path; skip (fail in CI) without it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is not None:
        return path
    message = "headless Chromium renders the report: install it (Debian package chromium)"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing browser is a failure)", pytrace=False)
    pytest.skip(message)


def _rendered(page: Path, fragment: str, profile: Path) -> str:
    """The page's DOM after its script ran, as headless Chromium serializes it."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page.as_uri() + fragment,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_renders_the_summary_and_every_case(
    report: Path, results: list[CaseResult], tmp_path: Path
) -> None:
    dom = _rendered(report, "#expand=all", tmp_path / "profile")
    assert '<table id="summary">' in dom
    rows = re.findall(r"<details class=\"case k-([A-Z]+)[^\"]*\" id=\"case-([^\"]+)\"", dom)
    assert len(rows) == len(results)
    assert ("FAILED", "7.1.1-server") in rows
    assert ("OK", "handshake.1-server") in rows
    assert "13 of 13 shown" in dom
    # Expanded: each case shows its wire log, and the hostile payload is text, not markup.
    assert dom.count('<table class="wire">') == len(results)
    assert "<img" not in dom
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in dom
    assert "text (12 bytes) b'Hello World?'" in dom


def test_chromium_honours_the_filters_in_the_fragment(report: Path, tmp_path: Path) -> None:
    dom = _rendered(report, "#family=7&case=7.1.1-client", tmp_path / "profile")
    assert "2 of 13 shown" in dom
    opened = re.findall(r"<details class=\"case[^\"]*\" id=\"case-([^\"]+)\"[^>]*open", dom)
    assert opened == ["7.1.1-client"]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0123, "12 ms in all"), (2.5, "2.5 s in all"), (300.0, "5.0 min in all")],
)
def test_the_header_says_how_many_and_how_long(tmp_path: Path, seconds: float, shown: str) -> None:
    results = [_result("1.1.1", testee=role) for role in ("server", "client")]
    for result in results:
        result.duration = seconds / 2
    page = write_report(results, tmp_path, title="t").read_text()
    header = page.split("<header>")[1].split("</header>")[0]
    assert shown in header
    assert "2 results · 1 case · testee: client, server" in header
    assert "<b>2</b> OK" in header


def test_the_page_keeps_the_ends_of_a_long_wire_log_and_list(tmp_path: Path) -> None:
    wire = [WireEntry("out" if n % 2 else "in", n / 10, f"frame {n}") for n in range(200)]
    got = [received_pong(b"%d" % n) for n in range(100)]
    case = Case("9.1.1", "d", "e", ok=tuple(got[:1]))
    result = CaseResult(case, "server", "FAILED", "", "OK", "", received=got, wire=wire)
    page = write_report([result], tmp_path, title="t").read_text()
    data = _data_block(page)["cases"][0]
    texts = [w[2] for w in data["wire"]]
    assert texts[:50] == [f"frame {n}" for n in range(50)]
    assert data["wire"][50] == ["gap", 5.0, "", 125]
    assert texts[51:] == [f"frame {n}" for n in range(175, 200)]
    assert len(data["received"]) == 61
    assert data["received"][59] == ["pong (2 bytes) b'59'", 1]
    assert data["received"][60] == [None, 40]
    assert data["expected"] == [["pong (1 bytes) b'0'", 1]]


def test_the_page_shows_a_list_received_as_expected_once(
    report: Path, results: list[CaseResult]
) -> None:
    data = _data_block(report.read_text())
    echo = next(c for c in data["cases"] if c["id"] == "1.1.1" and c["testee"] == "server")
    assert echo["received"] == "expected"
    assert echo["expected"] == [["text (0 bytes) b''", 1]]
