"""A pytest plugin: check a WebSocket server's conformance from your own test suite.

pytest loads it by itself once wsproto-core is installed (a ``pytest11`` entry
point named ``wsproto_core``; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, add
``-p wsproto_core`` or ``pytest_plugins = ["wsproto_core.testing.pytest_plugin"]``).
The server under test must be running and answer at a ``ws://`` or
``wss://`` URL as an *echo* endpoint: every message sent back as it came, as
the Autobahn Testsuite's testees do. Cases are chosen by id patterns
(``"1.*,5.*"``, ``"6.4.?"``; a bare family, ``"7"``, stands for its cases).

The ``conformance`` fixture plays a set of cases in one test::

    def test_my_server_conforms(conformance, server_url):
        conformance.check(server_url, cases="1.*,2.*,5.*", exclude="5.1?")

A check that does not pass raises one ``AssertionError`` listing each case
that was not OK with its reasons. ``pytest --conformance-report DIR`` also
writes an HTML report of each check, passed or failed, into ``DIR/<test name>/`` and names it in
the failure.

:func:`conformance_cases` and :func:`assert_case` make one test per case,
each failure with its case's reasons and wire log::

    import pytest
    from wsproto_core.testing.pytest_plugin import assert_case, conformance_cases

    @pytest.mark.parametrize("case", conformance_cases("1.*,5.*", exclude="9.*"))
    def test_case(case, server_url):
        assert_case(server_url, case)

Both block while they play (a case at a time, each on a connection of its
own), so the server must run in another thread or process; in an ``async``
test, ``await`` :func:`wsproto_core.testing.runner.run_cases` instead. Importing
this module imports no more of the kit: the cases and the runner load when
first used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import ssl
    from collections.abc import Coroutine, Iterable
    from typing import TypeAlias

    from _pytest.mark.structures import ParameterSet

    from .cases import Case
    from .engine import CaseResult

    Patterns: TypeAlias = "str | Iterable[str]"
    """Id patterns: ``"1.*,5.*"`` or ``["1.*", "5.*"]``."""

__all__ = [
    "REPORT_OPTION",
    "Conformance",
    "assert_case",
    "conformance",
    "conformance_cases",
    "pytest_addoption",
]

REPORT_OPTION = "--conformance-report"
"""The command-line option naming the directory for the HTML reports."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--conformance-report DIR``."""
    group = parser.getgroup("wsproto_core", "WebSocket conformance (wsproto_core)")
    group.addoption(
        REPORT_OPTION,
        metavar="DIR",
        default=None,
        help="write an HTML report of each conformance check into DIR/<test name>/",
    )


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Conformance:
    """Check a server's conformance: ``conformance.check(url, cases="1.*,2.*")``."""
    directory = request.config.getoption(REPORT_OPTION)
    return Conformance(None if directory is None else Path(directory), request.node.name)


class Conformance:
    """Plays cases against a server and asserts that they pass: the ``conformance`` fixture.

    Args:
        report_dir: Where each check writes its HTML report (in a directory
            named for the test), or ``None`` for no report.
        name: The test's name, for the report's directory and title.
    """

    def __init__(self, report_dir: Path | None = None, name: str = "conformance") -> None:
        self.report_dir = report_dir
        self.name = name
        self._checks = 0

    def check(
        self,
        url: str,
        cases: Patterns | Iterable[Case] = "1.*,2.*",
        exclude: Patterns = (),
        *,
        max_size: int | None = None,
        strict: bool = True,
        scale: float | None = None,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> list[CaseResult]:
        """Play the cases against the echo server at ``url``; fail unless they pass.

        Args:
            url: The server's ``ws://`` or ``wss://`` URL.
            cases: Id patterns of the catalogue's cases to play, or the
                :class:`~wsproto_core.testing.cases.Case` objects themselves.
            exclude: Id patterns of cases to leave out.
            max_size: The server's maximum message size: adds the ``limits`` group.
            strict: A NON-STRICT verdict fails the check too.
            scale: Family 9's sizes as a fraction of Autobahn's (default 1/64).
            timeout: Seconds to wait for the server at each point a case waits.
            ssl_context: For ``wss://``: the client TLS context.

        Returns:
            The results, when the check passes.

        Raises:
            AssertionError: A case FAILED (or was NON-STRICT, with ``strict``):
                every case that was not OK, with its reasons.
            ValueError: No case matches.
        """
        __tracebackhide__ = True
        chosen = _choose(cases, exclude, max_size=max_size, scale=scale)
        results = _block(_play(url, chosen, timeout, ssl_context))
        failing = [r for r in results if _fails(r, strict)]
        report = self._write_report(results, url)
        if not failing:
            return results
        raise AssertionError(_summary(url, results, failing, report))

    def _write_report(self, results: list[CaseResult], url: str) -> Path | None:
        """The check's HTML report, if asked for; the path of its index page."""
        if self.report_dir is None:
            return None
        self._checks += 1
        name = re.sub(r"[^\w.-]+", "_", self.name).strip("_") or "conformance"
        if self._checks > 1:
            name += f"-{self._checks}"
        from .report import write_report

        title = f"WebSocket conformance of {url} ({self.name})"
        return write_report(results, self.report_dir / name, title=title)


def conformance_cases(
    include: Patterns = "*",
    exclude: Patterns = (),
    *,
    max_size: int | None = None,
    scale: float | None = None,
    cases: Iterable[Case] | None = None,
) -> list[ParameterSet]:
    """The cases for a server testee, for ``@pytest.mark.parametrize``, each with its id.

    Args:
        include: Id patterns of the cases to play.
        exclude: Id patterns of cases to leave out.
        max_size: The server's maximum message size: adds the ``limits`` group.
        scale: Family 9's sizes as a fraction of Autobahn's (default 1/64).
        cases: Choose among these instead of the catalogue's.

    Raises:
        ValueError: No case matches (a test parametrized with nothing would
            be skipped without a word).
    """
    from .catalogue import select

    if cases is not None:
        chosen = _for_servers(select(cases, _patterns(include), _patterns(exclude)))
    else:
        chosen = _choose(include, exclude, max_size=max_size, scale=scale)
    return [pytest.param(case, id=case.id) for case in chosen]


def assert_case(
    url: str,
    case: Case,
    *,
    strict: bool = True,
    timeout: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> CaseResult:
    """Play ``case`` against the echo server at ``url``; fail unless it passes.

    Raises:
        AssertionError: The case FAILED (or was NON-STRICT, with ``strict``):
            its description, both verdicts with their reasons, and the wire log.
    """
    __tracebackhide__ = True
    result = _block(_play(url, [case], timeout, ssl_context))[0]
    if _fails(result, strict):
        raise AssertionError(_explain(result, url))
    return result


# -- choosing and playing --------------------------------------------------------------------


def _patterns(value: Patterns) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def _for_servers(cases: list[Case]) -> list[Case]:
    chosen = [case for case in cases if "server" in case.roles]
    if not chosen:
        raise ValueError("no conformance case for a server matches")
    return chosen


def _choose(
    cases: Patterns | Iterable[Case],
    exclude: Patterns,
    *,
    max_size: int | None,
    scale: float | None,
) -> list[Case]:
    """The cases a check names: by patterns over the catalogue, or given, less ``exclude``."""
    from .cases import Case
    from .catalogue import CatalogueOptions, catalogue, select

    items = [cases] if isinstance(cases, str) else list(cases)
    if items and all(isinstance(item, Case) for item in items):
        given: list[Case] = [item for item in items if isinstance(item, Case)]
        return _for_servers(select(given, ("*",), _patterns(exclude)))
    include = _patterns(",".join(item for item in items if isinstance(item, str)))
    options = CatalogueOptions(scale=scale or CatalogueOptions.scale, max_size=max_size)
    chosen = select(catalogue(options), include, _patterns(exclude))
    try:
        return _for_servers(chosen)
    except ValueError:
        raise ValueError(
            f"no conformance case for a server matches {','.join(include)!r}"
            + (f" less {','.join(_patterns(exclude))!r}" if _patterns(exclude) else "")
        ) from None


async def _play(
    url: str, cases: list[Case], timeout: float | None, ssl_context: ssl.SSLContext | None
) -> list[CaseResult]:
    from .engine import DEFAULT_TIMEOUT
    from .runner import run_cases

    return await run_cases(url, cases, timeout=timeout or DEFAULT_TIMEOUT, ssl_context=ssl_context)


def _block(play: Coroutine[Any, Any, list[CaseResult]]) -> list[CaseResult]:
    """Run ``play`` to its end, refusing to block a running event loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(play)
    play.close()
    raise RuntimeError(
        "conformance checks block: in a running event loop (an async test), "
        "await wsproto_core.testing.runner.run_cases() instead"
    )


# -- what a failure says ---------------------------------------------------------------------


def _fails(result: CaseResult, strict: bool) -> bool:
    return result.verdict == "FAILED" or (strict and result.verdict == "NON-STRICT")


def _reasons(result: CaseResult) -> list[str]:
    return [
        f"behaviour {result.behaviour}: {result.behaviour_reason}",
        f"close {result.close_behaviour}: {result.close_reason}",
    ]


def _summary(
    url: str, results: list[CaseResult], failing: list[CaseResult], report: Path | None
) -> str:
    lines = [f"{len(failing)} of {len(results)} conformance cases failed against {url}:"]
    for result in failing:
        lines.append(f"  {result.case.id} {result.verdict}: {result.case.description}")
        lines.extend(f"    {reason}" for reason in _reasons(result))
    others = [r for r in results if r.verdict != "OK" and r not in failing]
    if others:
        shown = ", ".join(f"{r.case.id} {r.verdict}" for r in others)
        lines.append(f"not OK, but not failures: {shown}")
    if report is not None:
        lines.append(f"HTML report: {report}")
    return "\n".join(lines)


def _explain(result: CaseResult, url: str) -> str:
    case = result.case
    lines = [
        f"{case.id} {result.verdict} against {url}: {case.description}",
        f"expected: {case.expectation}",
        *_reasons(result),
        "wire log:",
    ]
    for entry in result.wire:  # a frame's text starts with its direction already
        shown = entry.text.removeprefix(f"{entry.direction} ")
        lines.append(f"  {entry.at:8.3f} {entry.direction:4} {shown}")
    return "\n".join(lines)
