"""Helpers for the asyncio adapter tests: run a coroutine test with a bound, raw sockets."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, TypeVar

from wsproto_core.connection import ClientConnection
from wsproto_core.events import Accept

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from wsproto_core.events import Event

T = TypeVar("T")

TEST_TIMEOUT = 20.0
"""Every asyncio test ends within this many seconds, passed or failed."""


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test in a fresh event loop, bounded by :data:`TEST_TIMEOUT`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT))

    return wrapper


async def until(predicate: Callable[[], object], what: str = "the condition") -> None:
    """Wait until ``predicate()`` is true, checking on every loop turn (bounded by the test)."""
    while not predicate():
        await asyncio.sleep(0.002)
    assert predicate(), what


class RawClient:
    """A WebSocket client over a raw stream, driven by hand: what a misbehaving peer does.

    Bytes read are fed into a sans-IO ``ClientConnection``; whatever that
    connection owes is written only when ``flush`` is called, so a test can
    choose not to answer (no pong, no close echo).
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: ClientConnection
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn
        self.pending: list[Event] = []

    @classmethod
    async def open(cls, port: int, path: str = "/", **options: Any) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer, ClientConnection(f"ws://127.0.0.1:{port}{path}", **options))
        await client.flush()
        await client.until(Accept)
        return client

    async def flush(self) -> None:
        self.writer.write(self.conn.data_to_send())
        await self.writer.drain()

    async def until(self, kind: type[T]) -> T:
        """Read events until one of ``kind`` arrives; return it, keep the ones after it."""
        while True:
            while self.pending:
                event = self.pending.pop(0)
                if isinstance(event, kind):
                    return event
            data = await self.reader.read(65536)
            self.conn.receive_data(data)
            self.pending.extend(self.conn.events())
            if not data and not self.pending:
                raise AssertionError(f"the stream ended before a {kind.__name__}")

    async def events_until(self, kind: type[Event]) -> list[Event]:
        """Read until an event of ``kind`` arrives; return it and every event before it."""
        seen: list[Event] = []
        while not (seen and isinstance(seen[-1], kind)):
            if not self.pending:
                data = await self.reader.read(65536)
                self.conn.receive_data(data)
                self.pending.extend(self.conn.events())
                if not data and not self.pending:
                    raise AssertionError(f"the stream ended before a {kind.__name__}")
            else:
                seen.append(self.pending.pop(0))
        return seen

    async def eof(self) -> bytes:
        """Read everything until the stream ends; return it."""
        chunks = []
        while chunk := await self.reader.read(65536):
            chunks.append(chunk)
        return b"".join(chunks)

    async def discard_until(self, predicate: Callable[[], object]) -> None:
        """Read and discard what arrives until ``predicate()`` is true (or the stream ends)."""
        while not predicate() and await self.reader.read(65536):
            pass

    def close(self) -> None:
        self.writer.close()
