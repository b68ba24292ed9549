"""Dogfood: our own servers and clients pass the whole conformance kit over loopback sockets.

The testees are what users run:

* the asyncio server and the threading server, each serving what
  ``python -m wsproto_core serve`` serves (the demo router from the CLI's own
  argument parsing, with its compression settings), the echo handler at
  ``/echo``, with a 1 MiB message limit (so the ``limits`` group runs with a
  ``max_size`` that matches) and draft-hixie-75 allowed (so every ``legacy``
  case is implemented);
* the asyncio client and the sync client, as Autobahn-style echo testees
  (``/getCaseCount``, ``/runCase``) of the kit's fuzzing server, with the same
  message limit.

Each plays every case of the catalogue for its role and must get OK, except
the cases whose outcome RFC 6455 leaves open (``ok is None`` in the catalogue),
which must be INFORMATIONAL: no FAILED, no NON-STRICT, no UNIMPLEMENTED.

The four testees run at once, each in a process of its own with its peer
(:mod:`dogfood_helpers`): in one process they would share one core, and the
threads' fight for the interpreter lock made that slower than one after the
other. Each testee plays its cases in two lanes, two connections at once, so
a case that waits out the peer's timeout holds up one lane only.

Last, the command line end to end: ``python -m wsproto_core conformance``
against ``python -m wsproto_core serve``, a case or two of each family.
"""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import pytest
from coverage_helpers import children_without_coverage
from dogfood_helpers import (
    MAX_SIZE,
    SERVE_ARGUMENTS,
    SERVERS,
    TESTEES,
    TIMEOUT,
    Outcome,
    Played,
    cases_for,
    open_cases,
    play,
    whole_catalogue,
)

from wsproto_core.testing.catalogue import select

if TYPE_CHECKING:
    from pathlib import Path


def describe(played: Played, bad: list[Outcome]) -> str:
    """Every bad outcome with its verdicts, their reasons and the end of its wire log."""
    lines = [
        f"{played.testee}: {len(bad)} of {len(played.outcomes)} cases are not as they should be "
        f"({played.seconds:.1f} s):"
    ]
    for outcome in bad:
        lines.append(
            f"{outcome.id}: behaviour {outcome.behaviour} ({outcome.behaviour_reason}); "
            f"close {outcome.close_behaviour} ({outcome.close_reason})"
        )
        if outcome.wire_lines > len(outcome.wire):
            lines.append(f"    ... {outcome.wire_lines - len(outcome.wire)} lines before")
        lines += [f"    {line}" for line in outcome.wire]
    lines += [f"error: {error}" for error in played.errors]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def dogfood() -> dict[str, Played]:
    """Every testee's run, played once for the module: the four at once, a process each.

    The children run without coverage: tracing doubles their time (most of it
    in the compression families) and the rest of the suite covers what they run.
    """
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads forked
    with children_without_coverage(), ProcessPoolExecutor(len(TESTEES), mp_context=spawn) as pool:
        return {played.testee: played for played in pool.map(play, TESTEES)}


@pytest.mark.parametrize("testee", TESTEES)
def test_every_case_is_ok_but_the_open_ones_which_are_informational(
    testee: str, dogfood: dict[str, Played]
) -> None:
    played = dogfood[testee]
    cases = cases_for("server" if testee in SERVERS else "client")
    assert [o.id for o in played.outcomes] == [c.id for c in cases], describe(played, [])
    informational = open_cases(cases)
    bad = [
        o
        for o in played.outcomes
        if (o.behaviour, o.close_behaviour)
        != ("INFORMATIONAL" if o.id in informational else "OK", "OK")
    ]
    assert not bad, describe(played, bad)
    assert not played.errors, describe(played, bad)


def test_the_testees_play_the_whole_catalogue_with_every_group() -> None:
    everything = whole_catalogue()
    server, client = cases_for("server"), cases_for("client")
    assert {c.id for c in server} | {c.id for c in client} == {c.id for c in everything}
    # The groups the options bring in: limits (max_size) and all of legacy (draft-75 allowed).
    assert {"limits", "legacy", "handshake", "12", "13"} <= {c.family for c in server}
    assert "limits" in {c.family for c in client}
    assert "hixie-75" in {c.version for c in server if c.family == "legacy"}
    # The open cases are real and the same for both roles: the tests above are not vacuous.
    assert open_cases(server)
    assert open_cases(server) == open_cases(client)


# -- the CLI, end to end ------------------------------------------------------------------------

CLI_CASES = (
    *("1.1.1", "2.10", "3.2", "4.1.1", "5.19", "6.4.1", "7.1.6", "7.5.1", "9.1.1", "10.1.1"),
    *("12.1.1", "13.3.1", "rules.1", "handshake", "legacy", "limits"),
)
"""A case or two of each family, and the groups the options bring in, in full."""


def test_conformance_against_serve_exits_0_and_every_case_is_ok_but_the_open_ones(
    tmp_path: Path,
) -> None:
    # python -m wsproto_core serve, then python -m wsproto_core conformance against it.
    with (tmp_path / "serve.log").open("w+") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "wsproto_core", "serve", *SERVE_ARGUMENTS],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert serve.stdout is not None
            line = serve.stdout.readline()  # once it listens
            listening = re.fullmatch(r"serving on http://127\.0\.0\.1:(\d+)/\n", line)
            assert listening, (line, log.read())
            conformance = subprocess.run(
                [
                    sys.executable, "-m", "wsproto_core", "conformance", "--strict",
                    "--max-size", str(MAX_SIZE), "--timeout", str(TIMEOUT),
                    "--cases", ",".join(CLI_CASES), f"ws://127.0.0.1:{listening[1]}/echo",
                ],
                capture_output=True,
                text=True,
                timeout=240,
            )  # fmt: skip
        finally:
            serve.terminate()
            serve.communicate(timeout=60)
    assert (conformance.returncode, conformance.stderr) == (0, ""), conformance.stdout
    lines = conformance.stdout.splitlines()
    table = next(n for n, line in enumerate(lines) if line.split()[:2] == ["family", "OK"])
    verdicts = dict(line.split()[:2] for line in lines[:table])
    chosen = [c for c in select(whole_catalogue(), CLI_CASES) if "server" in c.roles]
    informational = open_cases(chosen)
    assert informational
    assert verdicts == {c.id: "INFORMATIONAL" if c.id in informational else "OK" for c in chosen}
    assert serve.returncode == 0  # SIGTERM: a clean stop
