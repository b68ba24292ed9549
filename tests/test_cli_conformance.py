"""``wsproto-core conformance``: a line per case, a table by family, the exit status, errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from runner_helpers import (
    SMOKE,
    drops_on_first_frame,
    echo_server_thread,
    raw_server_thread,
    reversed_echo,
    smoke,
)

import wsproto_core.testing.catalogue as catalogue_package
from wsproto_core.__main__ import main
from wsproto_core.testing import properties
from wsproto_core.testing.cases import Case, Send, received_text
from wsproto_core.testing.wire import text

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterator

    from runner_helpers import ThreadedServer

CLIENT_ONLY = Case(
    "client.1",
    "A case for client testees",
    "-",
    steps=(Send((text("x"),)),),
    ok=(received_text("x"),),
    roles=frozenset({"client"}),
)

HEADER = "family  OK  NON-STRICT  INFORMATIONAL  UNIMPLEMENTED  FAILED"


@pytest.fixture(autouse=True)
def smoke_catalogue(monkeypatch: pytest.MonkeyPatch) -> list[Case]:
    """The catalogue is the smoke cases and a case for clients only (whatever the options)."""
    cases = [*SMOKE, CLIENT_ONLY]
    monkeypatch.setattr(catalogue_package, "catalogue", lambda options: cases)
    return cases


@pytest.fixture(scope="module")
def echo() -> Iterator[ThreadedServer]:
    with echo_server_thread() as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """``main(["conformance", *argv])``: the status, the lines of stdout, stderr."""
    status = main(["conformance", *argv])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def row(family: str, ok: int, non_strict: int, failed: int) -> str:
    counts = (ok, non_strict, 0, 0, failed)
    widths = (2, 10, 13, 13, 6)
    return family.ljust(6) + "".join(f"  {n:>{w}}" for n, w in zip(counts, widths, strict=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a run ---------------------------------------------------------------------------------------


def test_a_passing_run_prints_a_line_per_case_then_the_table_and_exits_0(
    echo: ThreadedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, err = run(capsys, echo.url("/echo"))
    assert status == 0, lines
    assert err == ""
    assert [line.split()[:2] for line in lines[:7]] == [[c.id, "OK"] for c in SMOKE]
    assert lines[0] == "smoke.1  OK             received 1 message or pong, as expected"
    assert lines[7:10] == [HEADER, row("smoke", 7, 0, 0), row("all", 7, 0, 0)]
    assert re.fullmatch(r"7 cases in \d+\.\d s", lines[10])
    assert len(lines) == 11


def test_quiet_prints_the_table_alone(
    echo: ThreadedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, _ = run(capsys, "--quiet", echo.url())
    assert status == 0
    assert lines[:3] == [HEADER, row("smoke", 7, 0, 0), row("all", 7, 0, 0)]
    assert len(lines) == 4


def test_cases_and_exclude_choose_by_id_patterns(
    echo: ThreadedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, _ = run(
        capsys, "--cases", "smoke.[1-3], client.*", "--exclude", "smoke.2", echo.url()
    )
    assert status == 0
    assert [line.split()[0] for line in lines[:2]] == ["smoke.1", "smoke.3"]
    assert lines[2:4] == [HEADER, row("smoke", 2, 0, 0)]


def test_a_failed_case_shows_why_and_the_exit_status_is_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with raw_server_thread(reversed_echo) as server:
        status, lines, err = run(capsys, "--cases", "smoke.1,smoke.3", server.url())
    assert status == 1
    assert err == ""
    assert lines[0] == (
        "smoke.1  FAILED         #1: expected text (5 bytes) b'Hello', got text (5 bytes) b'olleH'"
    )
    assert lines[1].split()[:2] == ["smoke.3", "OK"]
    assert lines[2:5] == [HEADER, row("smoke", 1, 0, 1), row("all", 1, 0, 1)]


@pytest.mark.parametrize(("strict", "status"), [((), 0), (("--strict",), 1)])
def test_a_non_strict_case_fails_the_run_only_with_strict(
    strict: tuple[str, ...], status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with raw_server_thread(drops_on_first_frame) as server:
        got, lines, _ = run(capsys, *strict, "--cases", "smoke.5", server.url())
    assert got == status
    assert lines[0].startswith("smoke.5  NON-STRICT     the testee dropped the connection")
    assert lines[2] == row("smoke", 0, 1, 0)


def test_a_server_that_cannot_be_reached_is_one_error_line_and_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    status, lines, err = run(capsys, f"ws://127.0.0.1:{port}/")
    assert status == 1
    assert lines == []
    assert err == f"wsproto-core: error: cannot connect to 127.0.0.1:{port}: connection refused\n"


async def not_found(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


def test_a_url_that_is_not_a_websocket_endpoint_is_one_error_line_and_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with raw_server_thread(not_found) as server:
        status, lines, err = run(capsys, server.url("/nowhere"))
    assert status == 1
    assert lines == []
    assert err == (
        f"wsproto-core: error: {server.url('/nowhere')}: "
        "the testee refused the handshake with HTTP 404\n"
    )


# -- --report ------------------------------------------------------------------------------------


def fake_module(
    monkeypatch: pytest.MonkeyPatch, name: str, **functions: Callable[..., Any]
) -> None:
    """Put a module ``wsproto_core.testing.NAME`` with these functions in ``sys.modules``."""
    module = types.ModuleType(f"wsproto_core.testing.{name}")
    for function_name, function in functions.items():
        setattr(module, function_name, function)
    monkeypatch.setitem(sys.modules, module.__name__, module)


def test_report_hands_every_result_to_write_report_and_prints_the_index_path(
    echo: ThreadedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    calls: list[tuple[list[str], str, str]] = []

    def write_report(results: list[Any], directory: str, *, title: str) -> Path:
        calls.append(([r.case.id for r in results], directory, title))
        return Path(directory) / "index.html"

    fake_module(monkeypatch, "report", write_report=write_report)
    url = echo.url("/echo")
    status, lines, _ = run(
        capsys, "--quiet", "--cases", "smoke.1,smoke.2", "--report", str(tmp_path), url
    )
    assert status == 0
    assert calls == [(["smoke.1", "smoke.2"], str(tmp_path), f"WebSocket conformance of {url}")]
    assert lines[-1] == f"report: {tmp_path / 'index.html'}"


def test_a_report_that_cannot_be_written_is_an_error(
    echo: ThreadedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def write_report(results: list[Any], directory: str, *, title: str) -> Path:
        raise PermissionError(13, "Permission denied")

    fake_module(monkeypatch, "report", write_report=write_report)
    status, _, err = run(capsys, "--quiet", "--cases", "smoke.1", "--report", "/x", echo.url())
    assert status == 1
    assert err == "wsproto-core: error: cannot write the report to /x: permission denied\n"


def test_report_writes_the_html_report(
    echo: ThreadedServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, lines, _ = run(
        capsys, "--quiet", "--cases", "smoke.1", "--report", str(tmp_path), echo.url()
    )
    assert status == 0
    index = Path(lines[-1].removeprefix("report: "))
    assert index.is_file()
    assert index.parent == tmp_path or tmp_path in index.parents
    assert "smoke.1" in index.read_text()


# -- --serve: wired to the fuzzing server (tested with it) ---------------------------------------


def test_serve_runs_the_fuzzing_server_with_the_cases_for_clients(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int, list[str], str | None]] = []

    async def serve_fuzzing(
        host: str,
        port: int,
        cases: list[Case],
        *,
        report_dir: str | None,
        ready: Callable[[int], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        calls.append((host, port, [c.id for c in cases], report_dir))
        assert ready is not None
        assert stop is not None
        ready(9001)

    fake_module(monkeypatch, "fuzzing_server", serve_fuzzing=serve_fuzzing)
    status, lines, _ = run(capsys, "--serve", "0", "--report", "out")
    assert status == 0
    # SMOKE cases are for server testees only: the client one alone is served.
    assert calls == [("127.0.0.1", 0, ["client.1"], "out")]
    assert lines == ["serving 1 conformance cases for clients on ws://127.0.0.1:9001/"]


def test_serve_listens_on_host(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts: list[str] = []

    async def serve_fuzzing(host: str, port: int, cases: list[Case], **options: Any) -> None:
        hosts.append(host)

    fake_module(monkeypatch, "fuzzing_server", serve_fuzzing=serve_fuzzing)
    assert run(capsys, "--serve", "8080", "--host", "::1")[0] == 0
    assert hosts == ["::1"]


def test_serve_on_a_port_in_use_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def serve_fuzzing(host: str, port: int, cases: list[Case], **options: Any) -> None:
        raise OSError(98, "Address already in use")

    fake_module(monkeypatch, "fuzzing_server", serve_fuzzing=serve_fuzzing)
    status, _, err = run(capsys, "--serve", "8080")
    assert status == 1
    assert err == "wsproto-core: error: cannot listen on 127.0.0.1:8080: address already in use\n"


def test_serve_runs_until_sigterm_then_exits_0() -> None:
    # The real fuzzing server, in a process of its own, over the real catalogue.
    process = subprocess.Popen(
        [sys.executable, "-m", "wsproto_core", "conformance", "--serve", "0", "--cases", "1.1.*"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert re.fullmatch(
            r"serving 8 conformance cases for clients on ws://127\.0\.0\.1:\d+/\n", line
        ), line
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert err == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


# -- usage errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [],
            "conformance needs a server's URL (ws://host:port/path) to test it, "
            "or --serve PORT to test clients",
        ),
        (["--serve", "0", "ws://x/"], "give a server's URL or --serve PORT, not both"),
        (["--host", "::", "ws://x/"], "--host goes with --serve"),
        (["--serve", "0", "--timeout", "1"], "--timeout goes with a URL, not with --serve"),
        (["--serve", "0", "--strict"], "--strict goes with a URL, not with --serve"),
        (
            ["http://x/"],
            "argument URL: 'http://x/' is not a valid WebSocket URI: the scheme must be ws or wss; "
            "did you mean 'ws://x/'?",
        ),
        (["--cases", "9.*", "ws://x/"], "no conformance case for a server matches --cases 9.*"),
        (
            ["--cases", "smoke", "--exclude", "smoke.*", "ws://x/"],
            "no conformance case for a server matches --cases smoke --exclude smoke.*",
        ),
        (
            ["--serve", "0", "--cases", "smoke"],
            "no conformance case for a client matches --cases smoke",
        ),
        (
            ["--cases", ",", "ws://x/"],
            "argument --cases: expected case ids or patterns like 1.*,5.*, got ','",
        ),
        (["--scale", "0", "ws://x/"], "argument --scale: expected a positive number, got '0'"),
        (["--scale", "big", "ws://x/"], "argument --scale: expected a positive number, got 'big'"),
        (
            ["--timeout", "-1", "ws://x/"],
            "argument --timeout: expected a positive number of seconds, got '-1'",
        ),
        (["--serve", "0", "--property", "5"], "--property goes with a URL, not with --serve"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["conformance", *argv])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"wsproto-core: error: {expected}\n"


def test_the_smoke_cases_are_what_the_tests_think() -> None:
    # The table rows above count on the smoke cases' ids: one family, seven cases.
    assert [c.family for c in SMOKE] == ["smoke"] * 7
    assert smoke("smoke.5").close.codes == (1002,)


def test_the_table_widens_a_column_for_counts_longer_than_its_name() -> None:
    from wsproto_core.__main__ import _summary
    from wsproto_core.testing.engine import CaseResult

    many = [CaseResult(smoke("smoke.1"), "server", "OK", "", "OK", "") for _ in range(120)]
    lines = _summary(many, 1.5)
    assert lines == [
        "family   OK  NON-STRICT  INFORMATIONAL  UNIMPLEMENTED  FAILED",
        "smoke   120           0              0              0       0",
        "all     120           0              0              0       0",
        "120 cases in 1.5 s",
    ]


# -- the property mode ---------------------------------------------------------------------------


def test_property_mode_against_an_echo_server_keeps_every_invariant(
    capsys: pytest.CaptureFixture[str], echo: ThreadedServer
) -> None:
    status, lines, err = run(capsys, "--property", "30", echo.url())
    assert (status, err) == (0, "")
    assert re.fullmatch(r"property: 30 scripts kept every invariant \(\d+\.\d s\)", lines[-1])


def test_property_mode_prints_the_shrunk_script_of_a_broken_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with raw_server_thread(reversed_echo) as server:
        status, lines, _ = run(capsys, "--property", "100", server.url())
    assert status == 1
    out = "\n".join(lines)
    assert "property FAILED: FAILED: behaviour FAILED" in out
    # The shrunk script: one message of two bytes (the least that a reversal changes).
    source = out.split("minimal script (replay with wsproto_core.testing.properties.replay):\n")[1]
    case = eval(source.splitlines()[0], properties._namespace())
    [step] = case.steps
    assert len(b"".join(frame.payload for frame in step.frames)) == 2, source
