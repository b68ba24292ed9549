"""The threading adapter: blocking WebSocket servers and clients over ``socket`` and threads.

* :func:`serve` runs a :class:`~wsproto_core.handlers.Handler`, a
  :class:`~wsproto_core.handlers.Router` or a plain function ``handler(ws)``
  with a thread per connection, and returns a :class:`Server`.
* :func:`connect` opens a client :class:`Connection`.

A :class:`Connection` receives with ``recv()`` or iteration and sends with
``send()``; ``send``, ``ping`` and ``close`` are safe from any thread. Each
connection has one reader thread, which also runs its keepalive pings, close
timeout and periodic callbacks; the protocol itself is the sans-IO
:class:`~wsproto_core.connection.Connection`.
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
from .client import connect
from .connection import Connection
from .reader import PeriodicTimer
from .server import HandlerConnection, Server, serve

__all__ = [
    "Connection",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "HandlerConnection",
    "HandshakeRejected",
    "InvalidHandshake",
    "PeriodicTimer",
    "Server",
    "broadcast",
    "connect",
    "serve",
]
