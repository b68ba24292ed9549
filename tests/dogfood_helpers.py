"""For the dogfood tests: one of our testees through the whole catalogue, in a process of its own.

:func:`play` runs in a child process (so four testees use every core, not one
interpreter lock) and returns plain data: the verdicts and their reasons, and
the end of the wire log of any case that is not OK.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import functools
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from fuzzing_helpers import fuzzing_server

from wsproto_core.__main__ import _compression, _parser, _router
from wsproto_core.asyncio import ConnectionClosed
from wsproto_core.asyncio import connect as asyncio_connect
from wsproto_core.asyncio import serve as asyncio_serve
from wsproto_core.sync import connect as sync_connect
from wsproto_core.sync import serve as sync_serve
from wsproto_core.testing.catalogue import CatalogueOptions, catalogue
from wsproto_core.testing.runner import run_cases

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator, Iterator, Sequence

    from wsproto_core.testing.cases import Case, Role
    from wsproto_core.testing.engine import CaseResult

MAX_SIZE = 1 << 20
"""The testees' maximum message size, and the ``limits`` group's ``max_size``."""

TIMEOUT = 5.0
"""Seconds the conformance peer waits for news, wherever it waits.

A safety net on a loaded machine: every wait ends on an event (an echo, a
pong, a close), but 6.4.3 and 6.4.4 wait it out once each, inside a frame
where no ping can go, so it costs twice this much per testee.
"""

PLAY_LIMIT = 240.0
"""Seconds a testee's run may take before its process ends, the stacks of its threads dumped.

A safety net against a hang (pytest-timeout's 300 s cannot end a child process).
"""

WIRE_SHOWN = 12
"""The last lines of a bad case's wire log kept for the failure message."""

SERVE_ARGUMENTS = ("--port", "0", "--max-message-size", str(MAX_SIZE), "--allow-draft75")
"""``python -m wsproto_core serve``'s options for the servers under test."""

LANES = 2
"""Connections each testee serves at once: its cases are dealt out to this many lanes.

A case that waits out :data:`TIMEOUT` then holds up one lane, not the testee's run.
"""

SERVERS = ("asyncio server", "threading server")
CLIENTS = ("asyncio client", "sync client")
TESTEES = (*SERVERS, *CLIENTS)


@dataclass(frozen=True)
class Outcome:
    """One case's verdicts, and the end of its wire log if it is not OK."""

    id: str
    behaviour: str
    behaviour_reason: str
    close_behaviour: str
    close_reason: str
    wire: tuple[str, ...] = ()
    wire_lines: int = 0

    @classmethod
    def of(cls, result: CaseResult) -> Outcome:
        """The outcome of ``result``."""
        wire: tuple[str, ...] = ()
        if result.verdict != "OK":
            wire = tuple(
                f"{w.at:7.3f} {w.direction:4} {w.text[:160]}" for w in result.wire[-WIRE_SHOWN:]
            )
        return cls(
            result.case.id,
            result.behaviour,
            result.behaviour_reason,
            result.close_behaviour,
            result.close_reason,
            wire,
            len(result.wire),
        )


@dataclass(frozen=True)
class Played:
    """One testee's run: every case's outcome, in order, the errors it raised, its time."""

    testee: str
    outcomes: list[Outcome]
    errors: list[str]
    seconds: float


@functools.cache
def whole_catalogue() -> tuple[Case, ...]:
    """The catalogue, the ``limits`` group at :data:`MAX_SIZE` (built once: it takes time)."""
    return tuple(catalogue(CatalogueOptions(max_size=MAX_SIZE)))


def cases_for(role: Role) -> list[Case]:
    """The catalogue's cases for a testee in ``role``."""
    return [c for c in whole_catalogue() if role in c.roles]


def open_cases(cases: Sequence[Case]) -> set[str]:
    """The ids of the cases whose outcome RFC 6455 leaves open: INFORMATIONAL at best and worst.

    A case with a raw ``request`` is judged by its HTTP status alone, whatever
    ``ok`` says.
    """
    return {case.id for case in cases if case.ok is None and case.request is None}


# -- the servers --------------------------------------------------------------------------------


def serve_args() -> argparse.Namespace:
    """``serve``'s options as the CLI parses ``serve`` and :data:`SERVE_ARGUMENTS`."""
    return _parser().parse_args(["serve", *SERVE_ARGUMENTS])


@contextlib.asynccontextmanager
async def asyncio_server() -> AsyncIterator[int]:
    """The asyncio adapter serving what the CLI serves: its port."""
    args = serve_args()
    server = asyncio_serve(
        _router(args),
        host="127.0.0.1",
        port=0,
        max_connections=args.max_connections or None,
        compression=_compression(args),
    )
    await server.start()
    async with server:
        yield server.port


@contextlib.contextmanager
def threading_server() -> Iterator[int]:
    """The threading adapter serving what the CLI serves, in a thread: its port."""
    args = serve_args()
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


async def play_server(testee: str) -> tuple[list[CaseResult], list[str]]:
    """Every case for servers against the ``/echo`` route of ``testee``."""
    cases = cases_for("server")
    async with contextlib.AsyncExitStack() as stack:
        if testee == "asyncio server":
            port = await stack.enter_async_context(asyncio_server())
        else:
            port = stack.enter_context(threading_server())
        url = f"ws://127.0.0.1:{port}/echo"
        lanes = await asyncio.gather(
            *(run_cases(url, cases[lane::LANES], timeout=TIMEOUT) for lane in range(LANES))
        )
    by_id = {result.case.id: result for results in lanes for result in results}
    return [by_id[case.id] for case in cases if case.id in by_id], []


# -- the clients --------------------------------------------------------------------------------


async def asyncio_client(url: str, agent: str, lane: int) -> list[str]:
    """Our asyncio client as an Autobahn echo testee, the cases of ``lane``: its errors."""
    async with asyncio_connect(f"{url}/getCaseCount") as ws:
        count = int(await ws.recv())
    errors = []
    for n in range(1 + lane, count + 1, LANES):
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


def sync_client(url: str, agent: str, lane: int) -> list[str]:
    """Our sync client as an Autobahn echo testee, the cases of ``lane``: its errors."""
    with sync_connect(f"{url}/getCaseCount") as ws:
        count = int(ws.recv())
    errors = []
    for n in range(1 + lane, count + 1, LANES):
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


async def play_client(testee: str) -> tuple[list[CaseResult], list[str]]:
    """Every case for clients, ``testee`` against the kit's fuzzing server."""
    async with fuzzing_server(cases_for("client"), timeout=TIMEOUT) as (server, url):
        if testee == "asyncio client":
            lanes = [asyncio_client(url, testee, lane) for lane in range(LANES)]
        else:
            lanes = [asyncio.to_thread(sync_client, url, testee, lane) for lane in range(LANES)]
        errors = [error for errors in await asyncio.gather(*lanes) for error in errors]
    return server.results(testee), errors


def play(testee: str) -> Played:
    """Play every case of ``testee``'s role against it (one of :data:`TESTEES`)."""
    if testee not in TESTEES:
        raise ValueError(f"no such testee: {testee!r}")
    started = time.monotonic()
    faulthandler.dump_traceback_later(PLAY_LIMIT, exit=True)
    try:
        playing = play_server(testee) if testee in SERVERS else play_client(testee)
        results, errors = asyncio.run(playing)
    finally:
        faulthandler.cancel_dump_traceback_later()
    return Played(testee, [Outcome.of(r) for r in results], errors, time.monotonic() - started)
