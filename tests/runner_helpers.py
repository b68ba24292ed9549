"""Helpers for the network runner's tests: smoke cases, live servers, misbehaving testees.

The catalogue may be empty while its families are written: these tests build
their own cases with the :class:`~wsproto_core.testing.cases.Case` model.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

from wsproto_core.connection import ServerConnection
from wsproto_core.events import BytesMessage, Request, TextMessage
from wsproto_core.testing.cases import (
    Case,
    Deflate,
    Send,
    SendMessage,
    Sync,
    fails,
    received_binary,
    received_pong,
    received_text,
)
from wsproto_core.testing.wire import Frame, binary, cont, ping, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

SERVER = frozenset({"server"})

SMOKE = [
    Case(
        "smoke.1",
        "Send a text message 'Hello'",
        "Echoed, then a clean close",
        steps=(Send((text("Hello"),)),),
        ok=(received_text("Hello"),),
        roles=SERVER,
    ),
    Case(
        "smoke.2",
        "Send a binary message in two fragments",
        "Echoed whole",
        steps=(Send((binary(b"ab", fin=False), cont(b"cd")), chop=0),),
        ok=(received_binary(b"abcd"),),
        roles=SERVER,
    ),
    Case(
        "smoke.3",
        "Send a ping with a payload",
        "A pong with the same payload",
        steps=(Send((ping(b"hi"),)),),
        ok=(received_pong(b"hi"),),
        roles=SERVER,
    ),
    Case(
        "smoke.4",
        "Send a 300-byte text message in 7-byte writes, a ping probe, then another message",
        "Both echoed",
        steps=(Send((text("x" * 300),), chop=7), Sync(), Send((text("after"),))),
        ok=(received_text("x" * 300), received_text("after")),
        roles=SERVER,
    ),
    Case(
        "smoke.5",
        "Send a frame with the reserved opcode 3",
        "The testee fails the connection with 1002",
        steps=(Send((Frame(3, b"x"),)), Sync(late=True)),
        close=fails(1002),
        roles=SERVER,
    ),
    Case(
        "smoke.6",
        "Send a 200 000-byte binary message in 64 KiB fragments",
        "Echoed whole",
        steps=(SendMessage(bytes(200_000), binary=True, fragment_size=65536),),
        ok=(received_binary(bytes(200_000)),),
        roles=SERVER,
    ),
    Case(
        "smoke.7",
        "Send a compressed text message over permessage-deflate",
        "Echoed",
        steps=(SendMessage(b"compress me " * 50),),
        ok=(received_text("compress me " * 50),),
        deflate=Deflate(),
        roles=SERVER,
    ),
]
"""Cases our asyncio echo server passes with verdict OK."""


def smoke(case_id: str) -> Case:
    """The smoke case with this id."""
    return next(case for case in SMOKE if case.id == case_id)


# -- testees that misbehave on purpose -----------------------------------------------------------


async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ServerConnection:
    """Read the opening handshake and accept it, with our sans-IO server connection."""
    conn = ServerConnection()
    while True:
        data = await reader.read(65536)
        conn.receive_data(data)
        if any(isinstance(event, Request) for event in conn.events()):
            break
        if not data:
            raise ConnectionResetError("the client left during the handshake")
    conn.accept()
    writer.write(conn.data_to_send())
    await writer.drain()
    return conn


async def reversed_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A broken echo testee: every message comes back reversed; otherwise by the book."""
    conn = await accept(reader, writer)
    while data := await reader.read(65536):
        conn.receive_data(data)
        for event in conn.events():
            if isinstance(event, TextMessage):
                conn.send_text(event.data[::-1])
            elif isinstance(event, BytesMessage):
                conn.send_binary(bytes(event.data)[::-1])
        writer.write(conn.data_to_send())
        if conn.should_close_transport:
            break
    writer.close()


@contextlib.asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    """Serve ``handler`` on a free loopback port for the block; yield the port.

    The connections still open at the end are aborted (the handler may be
    one that never ends).
    """
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await handler(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


class ThreadedServer:
    """An asyncio server in a thread of its own, for tests that run synchronous code.

    Args:
        start: A coroutine function that starts the server on the thread's loop
            and returns its port and a coroutine function that stops it.
    """

    def __init__(
        self, start: Callable[[], Awaitable[tuple[int, Callable[[], Awaitable[None]]]]]
    ) -> None:
        self._start = start
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        self.port, stop = await self._start()
        self._ready.set()
        await self._stopped.wait()
        await stop()

    def url(self, path: str = "/") -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        assert self._ready.wait(10), "the server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stopped is not None
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)


async def _start_echo() -> tuple[int, Callable[[], Awaitable[None]]]:
    from wsproto_core.asyncio import serve
    from wsproto_core.examples import EchoHandler

    server = await serve(EchoHandler(), port=0)

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return server.port, stop


def _raw_starter(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> Callable[[], Awaitable[tuple[int, Callable[[], Awaitable[None]]]]]:
    async def start() -> tuple[int, Callable[[], Awaitable[None]]]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return server.sockets[0].getsockname()[1], stop

    return start


@contextlib.contextmanager
def echo_server_thread() -> Iterator[ThreadedServer]:
    """Our asyncio server with the echo handler, in a thread."""
    with ThreadedServer(_start_echo) as server:
        yield server


@contextlib.contextmanager
def raw_server_thread(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> Iterator[ThreadedServer]:
    """A raw asyncio server running ``handler`` per connection, in a thread."""
    with ThreadedServer(_raw_starter(handler)) as server:
        yield server


async def drops_on_first_frame(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A testee that drops the connection, no close frame, on the first frame it reads."""
    await accept(reader, writer)
    await reader.read(1)
    writer.close()
