"""The errors of the asyncio adapter: a closed connection, a failed opening handshake."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import WebSocketError

if TYPE_CHECKING:
    from ..events import Headers

__all__ = [
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "HandshakeRejected",
    "InvalidHandshake",
    "closed_error",
]

_CLEAN_CODES = (1000, 1001, 1005)
"""Close codes of a normal end: 1005 is a close frame without a code (and every hixie close)."""


class ConnectionClosed(WebSocketError):
    """The connection is closed: raised by ``recv``, ``send`` and ``ping`` afterwards.

    Attributes:
        code: The close code (1006 when the stream ended without a closing handshake).
        reason: The close reason.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"connection closed: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


class ConnectionClosedOK(ConnectionClosed):
    """The connection closed normally (1000, 1001, or a close without a code)."""


class ConnectionClosedError(ConnectionClosed):
    """The connection closed with an error code, or without a closing handshake."""


class InvalidHandshake(WebSocketError):
    """Client side: the server's answer was not a valid WebSocket handshake.

    Attributes:
        reason: Why.
        status: The HTTP status the server sent, if any.
    """

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class HandshakeRejected(InvalidHandshake):
    """Client side: the server answered the handshake with a status other than 101.

    Attributes:
        headers: The response headers.
        body: The response body.
    """

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        super().__init__(f"server rejected the handshake with HTTP {status}", status)
        self.headers = headers
        self.body = body


def closed_error(code: int, reason: str) -> ConnectionClosed:
    """The exception for a connection closed with ``code`` and ``reason``."""
    cls = ConnectionClosedOK if code in _CLEAN_CODES else ConnectionClosedError
    return cls(code, reason)
