"""The asyncio adapter: :func:`serve` and :func:`connect`.

Both drive the sans-IO :class:`~wsproto_core.connection.Connection` from an
``asyncio.Protocol``; see :mod:`wsproto_core.asyncio.connection` for the
connection object (``recv``, ``send``, ``async for``, ``ping``, ``close``).
"""

from __future__ import annotations

from ..errors import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeRejected,
    InvalidHandshake,
)
from .broadcasting import broadcast
from .client import ClientWebSocket, Connect, connect
from .connection import WebSocket
from .handler_connection import HandlerConnection
from .server import Server, ServerWebSocket, serve

__all__ = [
    "ClientWebSocket",
    "Connect",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "HandlerConnection",
    "HandshakeRejected",
    "InvalidHandshake",
    "Server",
    "ServerWebSocket",
    "WebSocket",
    "broadcast",
    "connect",
    "serve",
]
