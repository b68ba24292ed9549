"""The pytest plugin: a project's tests check a live server, passing and failing runs."""

from __future__ import annotations

import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from asyncio_helpers import async_test
from runner_helpers import SMOKE, echo_server_thread, raw_server_thread, reversed_echo, smoke

from wsproto_core.testing import runner
from wsproto_core.testing.pytest_plugin import Conformance, assert_case, conformance_cases

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runner_helpers import ThreadedServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = "wsproto_core.testing.pytest_plugin"


def _installed() -> bool:
    """Whether the installed distribution declares the entry point (else: load it by hand)."""
    return any(ep.value == PLUGIN for ep in metadata.entry_points(group="pytest11"))


PLUGIN_ARGS = (
    *(() if _installed() else ("-p", PLUGIN)),
    # This process imported the plugin already: too late to rewrite its asserts (it has none).
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)
"""What the inner pytest runs need to load the plugin."""

PROJECT_TESTS = """
import pytest

from wsproto_core.testing.cases import Case, Send, Sync, fails, received_text
from wsproto_core.testing.pytest_plugin import assert_case, conformance_cases
from wsproto_core.testing.wire import Frame, text

URL = {url!r}
SERVER = frozenset({{"server"}})
CASES = [
    Case(
        "smoke.1", "Send a text message 'Hello'", "Echoed",
        steps=(Send((text("Hello"),)),), ok=(received_text("Hello"),), roles=SERVER,
    ),
    Case(
        "smoke.5", "Send a frame with the reserved opcode 3", "Fails with 1002",
        steps=(Send((Frame(3, b"x"),)), Sync(late=True)), close=fails(1002), roles=SERVER,
    ),
]


def test_server_conforms(conformance):
    results = conformance.check(URL, cases=CASES)
    assert [r.verdict for r in results] == ["OK", "OK"]


@pytest.mark.parametrize("case", conformance_cases(cases=CASES))
def test_case(case):
    assert_case(URL, case)
"""


@pytest.fixture(scope="module")
def echo() -> Iterator[ThreadedServer]:
    with echo_server_thread() as server:
        yield server


@pytest.fixture(scope="module")
def broken() -> Iterator[ThreadedServer]:
    with raw_server_thread(reversed_echo) as server:
        yield server


@pytest.fixture
def smoke_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue is the smoke cases."""
    from wsproto_core.testing import catalogue

    monkeypatch.setattr(catalogue, "catalogue", lambda options: list(SMOKE))


def fake_report(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], Path, str]]:
    """``wsproto_core.testing.report`` replaced by one that records its calls."""
    calls: list[tuple[list[str], Path, str]] = []

    def write_report(results: list[Any], directory: Path, *, title: str) -> Path:
        calls.append(([r.case.id for r in results], Path(directory), title))
        return Path(directory) / "index.html"

    module = types.ModuleType("wsproto_core.testing.report")
    module.write_report = write_report  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return calls


# -- a project's test suite, run by pytest -------------------------------------------------------


def test_a_project_against_a_conforming_server_passes(
    pytester: pytest.Pytester, echo: ThreadedServer
) -> None:
    pytester.makepyfile(test_project=PROJECT_TESTS.format(url=echo.url("/echo")))
    result = pytester.runpytest(*PLUGIN_ARGS, "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_case?smoke.1? PASSED*", "*test_case?smoke.5? PASSED*"])


def test_a_project_against_a_broken_server_fails_with_the_reasons(
    pytester: pytest.Pytester, broken: ThreadedServer
) -> None:
    url = broken.url()
    pytester.makepyfile(test_project=PROJECT_TESTS.format(url=url))
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=1, failed=2)  # smoke.5 passes: the server fails bad frames
    result.stdout.fnmatch_lines(
        [
            f"E * AssertionError: 1 of 2 conformance cases failed against {url}:",
            "E *   smoke.1 FAILED: Send a text message 'Hello'",
            "E *     behaviour FAILED: #1: expected text (5 bytes) b'Hello', "
            "got text (5 bytes) b'olleH'",
            "E *     close OK: closed with code 1000 cleanly",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            f"E * AssertionError: smoke.1 FAILED against {url}: Send a text message 'Hello'",
            "E * expected: Echoed",
            "E * behaviour FAILED: *",
            "E * close OK: *",
            "E * wire log:",
            "E * 0.0* out  GET / HTTP/1.1 ...",
            "E * 0.0* in   HTTP 101 ...",
            "E * 0.0* out  text fin masked len=5 b'Hello'",
            "E * 0.0* in   text fin len=5 b'olleH'",
        ]
    )
    # The plugin's own frames are hidden from the traceback.
    assert "def check(" not in result.stdout.str()


def test_the_report_option_names_each_failing_checks_report(
    pytester: pytest.Pytester, broken: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_report(monkeypatch)
    pytester.makepyfile(test_project=PROJECT_TESTS.format(url=broken.url()))
    reports = pytester.path / "reports"
    result = pytester.runpytest(*PLUGIN_ARGS, "--conformance-report", str(reports))
    result.assert_outcomes(passed=1, failed=2)
    directory = reports / "test_server_conforms"
    assert calls == [
        (["smoke.1", "smoke.5"], directory, f"WebSocket conformance of {broken.url()} "
         "(test_server_conforms)")
    ]  # fmt: skip
    result.stdout.fnmatch_lines([f"E * HTML report: {directory / 'index.html'}"])


def test_the_report_option_writes_the_html_report_of_a_failing_check(
    pytester: pytest.Pytester, broken: ThreadedServer
) -> None:
    pytester.makepyfile(test_project=PROJECT_TESTS.format(url=broken.url()))
    reports = pytester.path / "reports"
    result = pytester.runpytest(
        *PLUGIN_ARGS, "--conformance-report", str(reports), "-k", "conforms"
    )
    result.assert_outcomes(failed=1, deselected=2)
    index = reports / "test_server_conforms" / "index.html"
    assert index.is_file()
    assert "smoke.1" in index.read_text()


def test_the_report_option_is_in_pytests_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN_ARGS, "--help")
    result.stdout.fnmatch_lines(["*--conformance-report=DIR*"])


# -- the helpers, called directly ----------------------------------------------------------------


@pytest.mark.usefixtures("smoke_catalogue")
def test_check_chooses_the_catalogues_cases_by_patterns(echo: ThreadedServer) -> None:
    results = Conformance().check(echo.url(), "smoke.[1-4], smoke.7", exclude="smoke.2")
    assert [r.case.id for r in results] == ["smoke.1", "smoke.3", "smoke.4", "smoke.7"]


@pytest.mark.usefixtures("smoke_catalogue")
def test_check_with_no_matching_case_is_an_error(echo: ThreadedServer) -> None:
    with pytest.raises(
        ValueError, match=r"no conformance case for a server matches '9\.\*' less '9\.1\.\*'$"
    ):
        Conformance().check(echo.url(), "9.*", exclude=["9.1.*"])


@pytest.mark.usefixtures("smoke_catalogue")
def test_conformance_cases_are_parameters_named_by_id() -> None:
    params = conformance_cases("smoke.*", exclude="smoke.[2-7]")
    assert [(p.id, p.values) for p in params] == [("smoke.1", (smoke("smoke.1"),))]
    with pytest.raises(ValueError, match="no conformance case"):
        conformance_cases("nothing")


def test_a_non_strict_case_fails_only_a_strict_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine's NON-STRICT verdict, whatever the server: what the plugin does with it.
    async def non_strict(url: str, cases: list[Any], **options: Any) -> list[Any]:
        result = runner.CaseResult(cases[0], "server", "OK", "ok", "NON-STRICT", "late")
        return [result]

    monkeypatch.setattr(runner, "run_cases", non_strict)
    case = smoke("smoke.1")
    assert assert_case("ws://testee.invalid/", case, strict=False).verdict == "NON-STRICT"
    with pytest.raises(AssertionError, match="close NON-STRICT: late"):
        assert_case("ws://testee.invalid/", case)
    with pytest.raises(AssertionError, match=r"1 of 1 conformance cases failed"):
        Conformance().check("ws://testee.invalid/", [case])
    assert Conformance().check("ws://testee.invalid/", [case], strict=False)


@async_test
async def test_a_check_refuses_to_block_a_running_event_loop() -> None:
    with pytest.raises(RuntimeError, match=r"await wsproto_core\.testing\.runner\.run_cases\(\)"):
        assert_case("ws://127.0.0.1:1/", smoke("smoke.1"))


def test_the_plugin_loads_none_of_the_kit_until_used() -> None:
    code = (
        f"import sys, {PLUGIN}; "
        "print(sorted(m for m in sys.modules if m.startswith('wsproto_core.testing')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"['wsproto_core.testing', '{PLUGIN}']"


def test_pyproject_declares_the_pytest11_entry_point() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"wsproto_core": PLUGIN}


def test_each_check_of_a_test_has_its_own_report_and_the_summary_names_other_verdicts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = fake_report(monkeypatch)

    async def mixed(url: str, cases: list[Any], **options: Any) -> list[Any]:
        info = runner.CaseResult(cases[0], "server", "INFORMATIONAL", "noted", "OK", "closed")
        failed = runner.CaseResult(cases[1], "server", "FAILED", "wrong", "OK", "closed")
        return [info, failed]

    monkeypatch.setattr(runner, "run_cases", mixed)
    check = Conformance(tmp_path, "test_x[a b]")
    for n in (1, 2):
        with pytest.raises(AssertionError) as info:
            check.check("ws://testee.invalid/", SMOKE[:2])
        directory = tmp_path / ("test_x_a_b" if n == 1 else "test_x_a_b-2")
        assert str(info.value) == (
            "1 of 2 conformance cases failed against ws://testee.invalid/:\n"
            "  smoke.2 FAILED: Send a binary message in two fragments\n"
            "    behaviour FAILED: wrong\n"
            "    close OK: closed\n"
            "not OK, but not failures: smoke.1 INFORMATIONAL\n"
            f"HTML report: {directory / 'index.html'}"
        )
    assert [directory for _, directory, _ in calls] == [
        tmp_path / "test_x_a_b",
        tmp_path / "test_x_a_b-2",
    ]
