"""Our clients and servers, run inside the test process, for the interop tests to drive.

:class:`ThreadingClient` and :class:`AsyncioClient` give the two client adapters one
blocking surface; :class:`OurServer` runs one of our two servers in a thread of its own
with an echo function that records what each connection agreed (``ws.extensions``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING, Any, Protocol

import wsproto_core.asyncio
import wsproto_core.sync

if TYPE_CHECKING:
    from wsproto_core.extensions import Extension

TIMEOUT = 15.0
"""Seconds one operation of a client (a send, a receive, a close) may take."""


class Client(Protocol):
    """What a test does with one of our clients, the same for both adapters."""

    def send(self, message: str | bytes) -> None:
        """Send one message."""

    def recv(self) -> str | bytes:
        """Receive one message."""

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions agreed in the handshake."""


class ThreadingClient:
    """``wsproto_core.sync.connect``."""

    __slots__ = ("ws",)

    def __init__(self, url: str, **options: Any) -> None:
        self.ws = wsproto_core.sync.connect(url, ping_interval=None, **options)

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions agreed in the handshake."""
        return self.ws.extensions

    def send(self, message: str | bytes) -> None:
        """Send one message."""
        self.ws.send(message)

    def recv(self) -> str | bytes:
        """Receive one message."""
        message: str | bytes = self.ws.recv(TIMEOUT)
        return message

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""
        assert self.ws.ping(payload).wait(TIMEOUT), "no pong"

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""
        self.ws.close(code, reason)

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""
        while True:
            try:
                self.ws.recv(TIMEOUT)
            except wsproto_core.sync.ConnectionClosed as closed:
                return closed.code, closed.reason


class AsyncioClient:
    """``wsproto_core.asyncio.connect``, on an event loop running in a thread of its own.

    The loop keeps running between the test's calls, as in an application, so the
    client answers pings and closes while the test is busy with the peer.
    """

    __slots__ = ("loop", "thread", "ws")

    def __init__(self, url: str, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="asyncio-client")
        self.thread.start()
        try:
            self.ws = self.run(wsproto_core.asyncio.connect(url, ping_interval=None, **options))
        except BaseException:
            self.stop_loop()
            raise

    def run(self, awaitable: Any) -> Any:
        """Run ``awaitable`` on this client's loop and wait for it, up to the test's timeout."""

        async def bounded() -> Any:
            return await asyncio.wait_for(awaitable, TIMEOUT)

        return asyncio.run_coroutine_threadsafe(bounded(), self.loop).result()

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions agreed in the handshake."""
        return self.ws.extensions

    def send(self, message: str | bytes) -> None:
        """Send one message."""
        self.run(self.ws.send(message))

    def send_fragments(self, fragments: list[str | bytes]) -> None:
        """Send one message as several frames."""
        self.run(self.ws.send(fragments))

    def recv(self) -> str | bytes:
        """Receive one message."""
        message: str | bytes = self.run(self.ws.recv())
        return message

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""
        pong = self.run(self.ws.ping(payload))
        self.run(pong)

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""
        self.run(self.ws.close(code, reason))

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""
        while True:
            try:
                self.run(self.ws.recv())
            except wsproto_core.asyncio.ConnectionClosed as closed:
                return closed.code, closed.reason

    def shut(self) -> None:
        """Close the connection, then stop and close the client's loop."""
        try:
            self.run(self.ws.close())
        finally:
            self.stop_loop()

    def stop_loop(self) -> None:
        """Stop and close the client's loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


class OurServer:
    """One of our servers, asyncio or threading, echoing on 127.0.0.1 in a thread of its own.

    The handler is a plain function (threading) or coroutine (asyncio) that puts each
    connection's ``ws.extensions`` on :attr:`agreed` and echoes every message.

    Args:
        flavour: ``"asyncio"`` or ``"threads"``.
        options: More ``serve`` arguments, e.g. ``compression=None``.
    """

    __slots__ = ("_loop", "_server", "_thread", "agreed", "flavour", "port")

    def __init__(self, flavour: str, **options: Any) -> None:
        self.flavour = flavour
        self.agreed: queue.Queue[tuple[Extension, ...]] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        if flavour == "threads":
            server = wsproto_core.sync.serve(self._echo, "127.0.0.1", 0, **options)
            self._server: Any = server
            self._thread = threading.Thread(target=server.serve_forever, name="our-server")
            self._thread.start()
        else:
            loop = self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="our-asyncio-server")
            self._thread.start()
            self._server = wsproto_core.asyncio.serve(self._echo_async, "127.0.0.1", 0, **options)
            asyncio.run_coroutine_threadsafe(self._server.start(), loop).result(TIMEOUT)
        self.port: int = self._server.port

    def _echo(self, ws: wsproto_core.sync.Connection) -> None:
        self.agreed.put(ws.extensions)
        for message in ws:
            ws.send(message)

    async def _echo_async(self, ws: wsproto_core.asyncio.WebSocket) -> None:
        self.agreed.put(ws.extensions)
        async for message in ws:
            await ws.send(message)

    def ws_url(self, path: str = "") -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}/{path}"

    def next_agreed(self) -> tuple[Extension, ...]:
        """What the next connection agreed, once its handler runs."""
        return self.agreed.get(timeout=TIMEOUT)

    def stop(self) -> None:
        """Close every connection, stop serving, and wait for the server's thread."""
        if self._loop is None:
            self._server.shutdown()
            self._thread.join(TIMEOUT)
            return

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(TIMEOUT)
            self._loop.close()
