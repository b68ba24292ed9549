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

The four testees run at once (one event loop; the threading server and the
sync client in threads of their own): the catalogue's cases wait out a timeout
here and there, and one testee's waits are the others' time to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from fuzzing_helpers import fuzzing_server

from wsproto_core.__main__ import _compression, _parser, _router
from wsproto_core.asyncio import ConnectionClosed
from wsproto_core.asyncio import connect as asyncio_connect
from wsproto_core.asyncio import serve as asyncio_serve
from wsproto_core.sync import connect as sync_connect
from wsproto_core.sync import serve as sync_serve
from wsproto_core.testing.catalogue import CatalogueOptions, catalogue
from wsproto_core.testing.runner import run_cases, server_cases

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable, Iterator, Sequence

    from wsproto_core.testing.cases import Case
    from wsproto_core.testing.engine import CaseResult

MAX_SIZE = 1 << 20
"""The testees' maximum message size, and the ``limits`` group's ``max_size``."""

TIMEOUT = 5.0
"""Seconds the conformance peer waits for news, wherever it waits.

A safety net on a loaded machine: every wait ends on an event (an echo, a
pong, a close), but 6.4.3 and 6.4.4 wait it out once each, inside a frame
where no ping can go, so it costs twice this much per testee.
"""

WIRE_SHOWN = 12
"""The last lines of a bad case's wire log shown in a failure message."""

SERVE_ARGUMENTS = ("--port", "0", "--max-message-size", str(MAX_SIZE), "--allow-draft75")


@dataclass
class Played:
    """One testee's run: the cases it had to play, their results, the errors it raised."""

    cases: list[Case]
    results: list[CaseResult]
    errors: list[str]
    seconds: float


def open_cases(cases: Sequence[Case]) -> set[str]:
    """The ids of the cases whose outcome RFC 6455 leaves open: INFORMATIONAL at best and worst.

    A case with a raw ``request`` is judged by its HTTP status alone, whatever
    ``ok`` says.
    """
    return {case.id for case in cases if case.ok is None and case.request is None}


def describe(played: Played, bad: Sequence[CaseResult]) -> str:
    """Every bad result with its verdicts, their reasons and the end of its wire log."""
    lines = [f"{len(bad)} of {len(played.results)} cases are not as they should be:"]
    for result in bad:
        lines.append(
            f"{result.case.id} {result.verdict}: behaviour {result.behaviour} "
            f"({result.behaviour_reason}); close {result.close_behaviour} ({result.close_reason})"
        )
        shown = result.wire[-WIRE_SHOWN:]
        if len(result.wire) > len(shown):
            lines.append(f"    ... {len(result.wire) - len(shown)} lines before")
        lines += [f"    {w.at:7.3f} {w.direction:4} {w.text[:160]}" for w in shown]
    lines += [f"error: {error}" for error in played.errors]
    return "\n".join(lines)


def check(played: Played) -> None:
    """Every case played, in order, OK but the open ones, which are INFORMATIONAL."""
    assert [r.case.id for r in played.results] == [c.id for c in played.cases], describe(played, [])
    informational = open_cases(played.cases)
    bad = [
        r
        for r in played.results
        if (r.behaviour, r.close_behaviour)
        != (("INFORMATIONAL" if r.case.id in informational else "OK"), "OK")
    ]
    assert not bad and not played.errors, describe(played, bad)


# -- the testees --------------------------------------------------------------------------------


def serve_args() -> argparse.Namespace:
    """``serve``'s options as the CLI parses them for ``serve`` + :data:`SERVE_ARGUMENTS`."""
    return _parser().parse_args(["serve", *SERVE_ARGUMENTS])


@contextlib.contextmanager
def threading_server(args: argparse.Namespace) -> Iterator[int]:
    """The threading adapter serving what the CLI serves, in a thread: its port."""
    server = sync_serve(
        _router(args),
        host="127.0.0.1",
        port=0,
        max_connections=args.max_connections or None,
        compression=_compression(args),
    )
    thread = threading.Thread(target=server.serve_forever, name="dogfood-threading-server")
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        thread.join(30)
        assert not thread.is_alive(), "the threading server did not stop"


async def asyncio_client(url: str, agent: str) -> list[str]:
    """Our asyncio client as an Autobahn echo testee, every case; the errors it raised."""
    async with asyncio_connect(f"{url}/getCaseCount") as ws:
        count = int(await ws.recv())
    errors = []
    for n in range(1, count + 1):
        try:
            ws = await asyncio_connect(
                f"{url}/runCase?case={n}&agent={quote(agent)}", max_message_size=MAX_SIZE
            )
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    await ws.send(message)
            await ws.wait_closed()
        except Exception as exc:
            errors.append(f"case #{n}: {exc!r}")
    return errors


def sync_client(url: str, agent: str) -> list[str]:
    """Our sync client as an Autobahn echo testee, every case; the errors it raised."""
    with sync_connect(f"{url}/getCaseCount") as ws:
        count = int(ws.recv())
    errors = []
    for n in range(1, count + 1):
        try:
            with (
                sync_connect(
                    f"{url}/runCase?case={n}&agent={quote(agent)}", max_message_size=MAX_SIZE
                ) as ws,
                contextlib.suppress(ConnectionClosed),
            ):
                for message in ws:
                    ws.send(message)
        except Exception as exc:
            errors.append(f"case #{n}: {exc!r}")
    return errors


async def timed(playing: Awaitable[list[CaseResult] | list[str]]) -> tuple[object, float]:
    started = time.monotonic()
    outcome = await playing
    return outcome, time.monotonic() - started


async def play_all() -> dict[str, Played]:
    """The four testees at once, each through every case of its role."""
    args = serve_args()
    for_servers = server_cases(max_size=MAX_SIZE)
    options = CatalogueOptions(max_size=MAX_SIZE)
    for_clients = [c for c in catalogue(options) if "client" in c.roles]
    async with contextlib.AsyncExitStack() as stack:
        server = asyncio_serve(
            _router(args),
            host="127.0.0.1",
            port=0,
            max_connections=args.max_connections or None,
            compression=_compression(args),
        )
        await server.start()
        await stack.enter_async_context(server)
        threads_port = stack.enter_context(threading_server(args))
        fuzzing, url = await stack.enter_async_context(fuzzing_server(for_clients, timeout=TIMEOUT))
        servers: dict[str, Callable[[], Awaitable[list[CaseResult]]]] = {
            "asyncio server": lambda: run_cases(
                f"ws://127.0.0.1:{server.port}/echo", for_servers, timeout=TIMEOUT
            ),
            "threading server": lambda: run_cases(
                f"ws://127.0.0.1:{threads_port}/echo", for_servers, timeout=TIMEOUT
            ),
        }
        clients: dict[str, Callable[[], Awaitable[list[str]]]] = {
            "asyncio client": lambda: asyncio_client(url, "asyncio client"),
            "sync client": lambda: asyncio.to_thread(sync_client, url, "sync client"),
        }
        names = [*servers, *clients]
        outcomes = await asyncio.gather(
            *(timed(play()) for play in (*servers.values(), *clients.values()))
        )
    played = {}
    for name, (outcome, seconds) in zip(names, outcomes, strict=True):
        if name in servers:
            played[name] = Played(for_servers, outcome, [], seconds)  # type: ignore[arg-type]
        else:
            results = fuzzing.results(name)
            played[name] = Played(for_clients, results, outcome, seconds)  # type: ignore[arg-type]
    return played


@pytest.fixture(scope="module")
def dogfood() -> dict[str, Played]:
    """Every testee's run: played once for the module, the four at once."""
    return asyncio.run(play_all())


# -- the verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "testee", ["asyncio server", "threading server", "asyncio client", "sync client"]
)
def test_every_case_is_ok_but_the_open_ones(testee: str, dogfood: dict[str, Played]) -> None:
    check(dogfood[testee])


def test_the_cases_cover_the_catalogue_for_each_role(dogfood: dict[str, Played]) -> None:
    everything = catalogue(CatalogueOptions(max_size=MAX_SIZE))
    server = dogfood["asyncio server"].cases
    client = dogfood["asyncio client"].cases
    assert [c.id for c in server] == [c.id for c in everything if "server" in c.roles]
    assert [c.id for c in client] == [c.id for c in everything if "client" in c.roles]
    # The groups that need the options given: limits (max_size) and legacy (draft-75 too).
    families = {c.family for c in server}
    assert {"limits", "legacy", "handshake", "12", "13"} <= families
    assert any(c.family == "limits" for c in client)
    # The open cases are few and real: the assertions above are not vacuous.
    assert open_cases(server)
    assert open_cases(server) == open_cases(client)


# -- the CLI, end to end ------------------------------------------------------------------------

CLI_CASES = "1.1.1,2.10,3.2,4.1.1,5.19,6.4.1,7.1.6,7.5.1,9.1.1,10.1.1,12.1.1,13.3.1,rules.1"
"""A case or two of each family, for the CLI run; the groups follow in full."""


def test_conformance_against_serve_exits_0_and_every_case_is_ok_but_the_open_ones() -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "wsproto_core", "serve", *SERVE_ARGUMENTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        listening = re.fullmatch(r"serving on http://127\.0\.0\.1:(\d+)/\n", line)
        assert listening, line
        url = f"ws://127.0.0.1:{listening[1]}/echo"
        cases = f"{CLI_CASES},handshake.*,legacy.*,limits.*"
        conformance = subprocess.run(
            [
                sys.executable, "-m", "wsproto_core", "conformance", "--strict",
                "--max-size", str(MAX_SIZE), "--timeout", str(TIMEOUT), "--cases", cases, url,
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )  # fmt: skip
    finally:
        serve.terminate()
        serve.communicate(timeout=60)
    assert (conformance.returncode, conformance.stderr) == (0, ""), conformance.stdout
    verdicts = dict(
        line.split()[:2] for line in conformance.stdout.splitlines() if " " in line.strip()
    )
    chosen = server_cases(
        [*CLI_CASES.split(","), "handshake", "legacy", "limits"], max_size=MAX_SIZE
    )
    expected = {c.id: "INFORMATIONAL" if c.id in open_cases(chosen) else "OK" for c in chosen}
    assert {i: verdicts.get(i) for i in expected} == expected, conformance.stdout
    assert serve.returncode == 0
