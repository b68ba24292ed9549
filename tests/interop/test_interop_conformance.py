"""The conformance kit against independent servers and clients, held to known verdicts.

Five testees, each written as its library's documentation shows an echo server or
an Autobahn testee client: the echo servers of websockets and wsproto
(``echo_peers.py``) and of Node's ws (``ws_echo.mjs``), played by the kit's runner
with the default catalogue; and the clients of websockets
(``fuzzing_client_websockets.py``) and ws (``fuzzing_client.mjs``), driven through
the kit's fuzzing server. Every verdict must be the one that
``conformance_expectations.json`` gives for its case (OK where it names none): the
kit is checked against what is known of each library (docs/topics/conformance.rst
explains every difference), and each library against its own past.

All five run at once (``conformance_runs.py``: a process per testee), and each runs
several cases at a time: the kit spends most of a
case waiting, for the testee's answer or for the wait that shows none is coming.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conformance_runs import CLIENTS, SERVERS, TESTEES, Verdict, client_job, server_job
from coverage_helpers import children_without_coverage
from interop_harness import HERE, require

if TYPE_CHECKING:
    from collections.abc import Sequence

pytestmark = pytest.mark.interop

EXPECTATIONS = HERE / "conformance_expectations.json"


class Played:
    """The five testees' verdicts, played once for the module, and the logs of their peers."""

    def __init__(self, log_dir: Path) -> None:
        self.verdicts: dict[str, list[Verdict]] = {}
        self.seconds: dict[str, float] = {}
        self.logs: list[Path] = []
        self.total = 0.0
        started = time.monotonic()
        spawn = multiprocessing.get_context("spawn")
        # The children without coverage: tracing the kit nearly doubled their time.
        pool = ProcessPoolExecutor(len(TESTEES), mp_context=spawn)
        with children_without_coverage(), pool:
            jobs = [pool.submit(server_job, testee, str(log_dir)) for testee in SERVERS]
            jobs += [pool.submit(client_job, testee, str(log_dir)) for testee in CLIENTS]
            for job in jobs:
                verdicts, seconds, logs = job.result()
                self.verdicts.update(verdicts)
                self.seconds.update(seconds)
                self.logs += [Path(log) for log in logs]
        self.total = time.monotonic() - started

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return tuple(self.logs)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """The five testees, started and played once for the module's tests."""
    require("ws")
    return Played(tmp_path_factory.mktemp("conformance"))


def expectations() -> dict[str, Any]:
    """``conformance_expectations.json``, less its comments."""
    loaded: dict[str, Any] = json.loads(EXPECTATIONS.read_text())
    return {name: value for name, value in loaded.items() if not name.startswith("_")}


def disagreements(expected: dict[str, Any], verdicts: Sequence[Verdict]) -> list[str]:
    """One line per case whose verdict is not an accepted one: case, expected, got, reason."""
    accepted_by_case = {
        case: [value] if isinstance(value, str) else value
        for case, value in expected["verdicts"].items()
        if not case.startswith("_")
    }
    lines = []
    for verdict in verdicts:
        accepted = accepted_by_case.get(verdict.case, ["OK"])
        if verdict.verdict not in accepted:
            lines.append(
                f"{verdict.case:<14} expected {' or '.join(accepted):<28} "
                f"got {verdict.verdict:<13} {verdict.reason}"
            )
    seen = {verdict.case for verdict in verdicts}
    lines += [
        f"{case:<14} expected {' or '.join(accepted)}, but it was not played"
        for case, accepted in accepted_by_case.items()
        if case not in seen
    ]
    return lines


@pytest.mark.parametrize("testee", TESTEES)
def test_verdicts_are_the_expected_ones(played: Played, testee: str) -> None:
    expected = expectations()[testee]
    verdicts = played.verdicts[testee]
    assert len(verdicts) == expected["cases"], f"{testee}: {len(verdicts)} cases played"
    wrong = disagreements(expected, verdicts)
    assert not wrong, (
        f"{testee}: {len(wrong)} verdicts differ from {EXPECTATIONS.name} "
        f"(case, expected, got, reason):\n" + "\n".join(wrong)
    )


def test_disagreements_name_case_expected_got_and_reason() -> None:
    expected = {"cases": 3, "verdicts": {"2": ["OK", "NON-STRICT"], "3": "FAILED", "4": "OK"}}
    verdicts = [
        Verdict("1", "FAILED", "close code 1002, expected 1000"),
        Verdict("2", "NON-STRICT", "received nothing"),
        Verdict("3", "OK", "as expected"),
    ]
    lines = disagreements(expected, verdicts)
    assert [" ".join(line.split()) for line in lines] == [
        "1 expected OK got FAILED close code 1002, expected 1000",
        "3 expected FAILED got OK as expected",
        "4 expected OK, but it was not played",
    ]
