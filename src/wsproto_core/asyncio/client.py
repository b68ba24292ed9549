"""The asyncio client: :func:`connect` to a ``ws://`` or ``wss://`` URL.

``ws = await connect(url)`` opens one connection; ``async with connect(url) as
ws:`` also closes it at the end; ``async for ws in connect(url):`` reconnects
after each connection ends or fails, waiting an exponentially growing, jittered
and capped delay between failed attempts (as websockets' ``connect`` does).
"""

from __future__ import annotations

import asyncio
import random
import ssl as ssl_module
from typing import TYPE_CHECKING, Any

from ..connection import ClientConnection
from ..errors import HandshakeRejected, InvalidHandshake
from ..events import Accept, HandshakeFailed, Reject
from ..extensions.compression import ClientCompression, client_extensions
from ..handlers import DEFAULT_MAX_MESSAGE_SIZE
from ..handshake.uri import parse_uri
from .connection import WebSocket, logger
from .options import Options

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator, Sequence
    from types import TracebackType

    from ..events import Event, Headers
    from ..versions import ProtocolVersion

__all__ = ["ClientWebSocket", "Connect", "connect"]

BACKOFF_INITIAL = 0.5
"""Seconds before the first reconnection attempt (before jitter)."""
BACKOFF_FACTOR = 1.618
"""Growth of the delay after each failed attempt."""
BACKOFF_MAX = 60.0
"""The longest delay between attempts, in seconds."""


class ClientWebSocket(WebSocket):
    """The client side of one connection.

    Attributes:
        response_headers: The headers of the server's 101 response.
    """

    __slots__ = ("_handshake", "response_headers")

    def __init__(self, conn: ClientConnection, options: Options) -> None:
        super().__init__(conn, options)
        self._handshake: asyncio.Future[None] = self._loop.create_future()
        self.response_headers: Headers = ()

    def _on_handshake_event(self, event: Event) -> None:
        if self._handshake.done():
            return
        if isinstance(event, Accept):
            self.response_headers = event.headers
            self._opened()
            self._handshake.set_result(None)
        elif isinstance(event, Reject):
            self._handshake.set_exception(
                HandshakeRejected(event.status, event.headers, event.body)
            )
        elif isinstance(event, HandshakeFailed):
            self._handshake.set_exception(InvalidHandshake(event.reason, event.status))

    def _on_connection_lost(self) -> None:
        if not self._handshake.done():
            self._handshake.set_exception(
                InvalidHandshake("the connection closed during the opening handshake")
            )


class Connect:
    """What :func:`connect` returns: awaitable, an async context manager and an async iterator."""

    __slots__ = ("_conn_options", "_options", "_ssl", "_url", "_ws")

    def __init__(
        self,
        url: str,
        ssl: ssl_module.SSLContext | None,
        conn_options: dict[str, Any],
        options: Options,
    ) -> None:
        parse_uri(url)  # InvalidURI now rather than at the first attempt
        self._url = url
        self._ssl = ssl
        self._conn_options = conn_options
        self._options = options
        self._ws: ClientWebSocket | None = None

    async def _open(self) -> ClientWebSocket:
        """Open the TCP (and TLS) connection and complete the handshake within the open timeout."""
        uri = parse_uri(self._url)
        context = None
        if uri.secure:
            context = self._ssl or ssl_module.create_default_context()
        conn = ClientConnection(self._url, **self._conn_options)
        options = self._options

        async def handshake() -> ClientWebSocket:
            loop = asyncio.get_running_loop()
            _, ws = await loop.create_connection(
                lambda: ClientWebSocket(conn, options),
                uri.host,
                uri.port,
                ssl=context,
                server_hostname=uri.host if context is not None else None,
            )
            try:
                await ws._handshake
            except BaseException:
                if ws._transport is not None:
                    ws._transport.abort()
                raise
            return ws

        return await asyncio.wait_for(handshake(), options.open_timeout)

    def __await__(self) -> Generator[Any, None, ClientWebSocket]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientWebSocket:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    def __aiter__(self) -> AsyncIterator[ClientWebSocket]:
        return self._reconnect()

    async def _reconnect(self) -> AsyncIterator[ClientWebSocket]:
        delay = BACKOFF_INITIAL
        while True:
            try:
                ws = await self._open()
            except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
                if isinstance(exc, HandshakeRejected) and (exc.status or 500) < 500:
                    raise  # the server refused us: retrying will not help
                wait = random.uniform(0, delay)  # jitter spreads the reconnections of many clients
                logger.info(
                    "connecting to %s failed (%s); retrying in %.1f s", self._url, exc, wait
                )
                await asyncio.sleep(wait)
                delay = min(delay * BACKOFF_FACTOR, BACKOFF_MAX)
                continue
            delay = BACKOFF_INITIAL
            try:
                yield ws
            finally:
                await ws.close()


def connect(
    url: str,
    *,
    ssl: ssl_module.SSLContext | None = None,
    subprotocols: Sequence[str] = (),
    origin: str | None = None,
    version: ProtocolVersion = 13,
    extra_headers: Sequence[tuple[str, str]] = (),
    open_timeout: float | None = 10,
    close_timeout: float = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    max_queue: int = 16,
    write_limit: int = 64 * 1024,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    compression: ClientCompression = "deflate",
) -> Connect:
    """Connect to a WebSocket server.

    Args:
        url: A ``ws://`` or ``wss://`` URL.
        ssl: The TLS context for ``wss://`` (default: the system's default context).
        subprotocols: Subprotocols to offer, in preference order.
        origin: The ``Origin`` to send.
        version: The protocol: 13 (default), 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
        extra_headers: More request headers.
        open_timeout: Seconds for the TCP connection and the opening handshake.
        close_timeout: Seconds for the closing handshake before the transport is cut.
        ping_interval: Seconds between keepalive pings (``None`` to disable).
        ping_timeout: Seconds to wait for their pong before closing with 1011.
        max_queue: Received messages waiting for ``recv`` before reading pauses.
        write_limit: The transport buffer's high-water mark, in bytes.
        max_message_size: Largest message accepted (``None``: no limit).
        compression: ``"deflate"`` (the default): offer permessage-deflate
            (RFC 7692); ``None``: offer no compression; a
            :class:`~wsproto_core.extensions.ClientPerMessageDeflateFactory` to
            tune the offer. Version 13 only.

    Returns:
        A :class:`Connect`: ``await`` it for a
        :class:`~wsproto_core.asyncio.connection.WebSocket`, use it with
        ``async with``, or iterate it with ``async for`` to reconnect.

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        ValueError: ``compression`` is not one of its documented values.
    """
    conn_options: dict[str, Any] = {
        "extensions": client_extensions(compression),
        "subprotocols": tuple(subprotocols),
        "origin": origin,
        "version": version,
        "extra_headers": tuple(extra_headers),
        "max_message_size": max_message_size,
    }
    options = Options(
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_queue=max_queue,
        write_limit=write_limit,
    )
    return Connect(url, ssl, conn_options, options)
