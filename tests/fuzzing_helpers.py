"""For the fuzzing server's tests: a handful of cases, the server on a loop or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, Any

from wsproto_core.testing.cases import (
    Case,
    Send,
    Sync,
    fails,
    received_binary,
    received_pong,
    received_text,
)
from wsproto_core.testing.fuzzing_server import FuzzingServer
from wsproto_core.testing.wire import binary, cont, ping, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

    from wsproto_core.testing.engine import CaseResult

CASES: tuple[Case, ...] = (
    Case(
        "t.1",
        "Send a text message",
        "The client echoes it; the server closes with 1000 and the client answers 1000",
        steps=(Send((text("Hello, fuzzing \u2713"),)),),
        ok=(received_text("Hello, fuzzing \u2713"),),
    ),
    Case(
        "t.2",
        "Send a binary message in two fragments, one write per frame",
        "The client echoes the whole message",
        steps=(Send((binary(b"\x00\xff", fin=False), cont(b"\x01")), chop=0),),
        ok=(received_binary(b"\x00\xff\x01"),),
    ),
    Case(
        "t.3",
        "Send a text message in two fragments with a ping between them",
        "The client answers the ping at once, then echoes the message",
        steps=(Send((text("frag", fin=False), ping(b"inside"), cont("ment")), chop=0),),
        ok=(received_pong(b"inside"), received_text("fragment")),
    ),
    Case(
        "t.4",
        "Send a text message, then one with RSV = 2, then a ping (as Autobahn's 3.2)",
        "The client echoes the first, then fails the connection with 1002 "
        "without answering the ping; failing it before the echo is NON-STRICT",
        steps=(Send((text("Hello"),)), Send((text("Hello", rsv=2),)), Sync(late=True)),
        ok=(received_text("Hello"),),
        non_strict=(),
        close=fails(1002),
    ),
    Case(
        "t.5",
        "Send a text message whose payload is not UTF-8",
        "The client fails the connection with 1007",
        steps=(Send((text(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80"),)),),
        ok=(),
        close=fails(1007),
    ),
    Case(
        "t.server",
        "A case for testee servers only",
        "Never offered by the fuzzing server",
        steps=(Send((text("x"),)),),
        ok=(received_text("x"),),
        roles=frozenset(("server",)),
    ),
)
CLIENT_CASES = [case for case in CASES if "client" in case.roles]


@contextlib.asynccontextmanager
async def fuzzing_server(
    cases: Sequence[Case] = CASES, **options: Any
) -> AsyncIterator[tuple[FuzzingServer, str]]:
    """A :class:`FuzzingServer` on 127.0.0.1 for the block: the server and its ``ws://`` URL."""
    server = FuzzingServer(cases, **options)
    stop = asyncio.Event()
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(server.serve("127.0.0.1", 0, ready=port.set_result, stop=stop))
    try:
        yield server, f"ws://127.0.0.1:{await port}"
    finally:
        stop.set()
        await task


def describe_failures(results: Sequence[CaseResult]) -> str:
    """Every result that is not OK, with its reasons and wire log."""
    lines = []
    for result in results:
        if result.verdict == "OK":
            continue
        lines.append(
            f"{result.case.id}: behaviour {result.behaviour} ({result.behaviour_reason}); "
            f"close {result.close_behaviour} ({result.close_reason})"
        )
        lines += [f"    {w.at:7.3f} {w.direction:4} {w.text}" for w in result.wire]
    return "\n".join(lines)


@contextlib.contextmanager
def threaded_fuzzing_server(
    cases: Sequence[Case] = CASES, **options: Any
) -> Iterator[tuple[FuzzingServer, str]]:
    """A :class:`FuzzingServer` on its own event loop in a thread, for a blocking testee.

    Read the server's results after the block: the thread has ended by then.
    """
    server = FuzzingServer(cases, **options)
    started = threading.Event()
    port: list[int] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def ready(number: int) -> None:
        port.append(number)
        started.set()

    def run() -> None:
        try:
            loop.run_until_complete(server.serve("127.0.0.1", 0, ready=ready, stop=stop))
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=run, name="fuzzing-server", daemon=True)
    thread.start()
    started.wait(10)
    assert port, "the fuzzing server did not start"
    try:
        yield server, f"ws://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive(), "the fuzzing server did not stop"
