"""The threading client: :func:`connect` opens a blocking connection with a reader thread.

Example::

    from wsproto_core.sync import connect

    with connect("ws://127.0.0.1:8765/echo") as ws:
        ws.send("hello")
        print(ws.recv(timeout=5))
"""

from __future__ import annotations

import socket
import ssl as ssl_module
import time
from typing import TYPE_CHECKING

from ..connection import DEFAULT_MAX_MESSAGE_SIZE, ClientConnection
from ..errors import HandshakeRejected, InvalidHandshake
from ..events import Accept, HandshakeFailed, Reject
from ..extensions.compression import ClientCompression, client_extensions
from ..handshake.uri import parse_uri
from .connection import Connection
from .reader import handshake

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..versions import ProtocolVersion

__all__ = ["connect"]


def connect(
    url: str,
    *,
    ssl: ssl_module.SSLContext | None = None,
    subprotocols: Sequence[str] = (),
    origin: str | None = None,
    version: ProtocolVersion = 13,
    extra_headers: Sequence[tuple[str, str]] = (),
    open_timeout: float = 10,
    close_timeout: float = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    max_queue: int | None = 16,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    compression: ClientCompression = "deflate",
) -> Connection:
    """Open a WebSocket connection to ``url`` and return it, handshake done.

    Use the result as a context manager to close it on exit.

    Args:
        url: A ``ws://`` or ``wss://`` URL.
        ssl: The TLS context for ``wss://`` (default: the system's trusted CAs).
        subprotocols: Subprotocols to offer, in preference order.
        origin: The ``Origin`` to send.
        version: 13 (default), 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
        extra_headers: More request headers.
        open_timeout: Seconds for the TCP, TLS and WebSocket handshakes together.
        close_timeout: Seconds to wait for the closing handshake and the server's EOF.
        ping_interval: Seconds between keepalive pings (``None``: none).
        ping_timeout: Seconds to wait for a keepalive pong before failing with 1011.
        max_queue: Received messages that may wait for ``recv()`` (``None``: no limit).
        max_message_size: Largest message accepted (``None``: no limit); 1009 beyond.
        compression: ``"deflate"`` (the default): offer permessage-deflate
            (RFC 7692); ``None``: offer no compression; a
            :class:`~wsproto_core.extensions.ClientPerMessageDeflateFactory` to
            tune the offer. Version 13 only.

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        ValueError: ``compression`` is not one of its documented values.
        ValueError: ``ssl`` was given for a ``ws://`` URL.
        HandshakeRejected: The server answered with a status other than 101.
        InvalidHandshake: The server's answer was not a valid handshake.
        TimeoutError: The handshake took longer than ``open_timeout``.
        OSError: The connection failed.
    """
    protocol = ClientConnection(
        url,
        subprotocols=subprotocols,
        origin=origin,
        version=version,
        extra_headers=extra_headers,
        max_message_size=max_message_size,
        extensions=client_extensions(compression),
    )
    uri = parse_uri(url)
    if uri.secure and ssl is None:
        ssl = ssl_module.create_default_context()
    elif not uri.secure and ssl is not None:
        raise ValueError("an ssl context is for wss:// URLs")
    deadline = time.monotonic() + open_timeout
    sock = socket.create_connection((uri.host, uri.port), timeout=open_timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl is not None:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock = ssl.wrap_socket(sock, server_hostname=uri.host)
        response = handshake(sock, protocol, deadline)
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    if not isinstance(response, Accept):
        sock.close()
        if isinstance(response, Reject):
            raise HandshakeRejected(response.status, response.headers, response.body)
        assert isinstance(response, HandshakeFailed)
        raise InvalidHandshake(response.reason, response.status)
    ws = Connection(
        sock,
        protocol,
        response=response,
        remote_address=sock.getpeername(),
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
        max_queue=max_queue,
    )
    ws.start()
    return ws
