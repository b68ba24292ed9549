"""One hierarchy of errors; each carries its data.

Errors caused by the peer's bytes never escape
:meth:`~wsproto_core.connection.Connection.receive_data`: they become a
:class:`~wsproto_core.events.Close` or :class:`~wsproto_core.events.HandshakeFailed`
event plus the bytes owed to the peer. What the application can see raised is:

* :class:`InvalidState` and :class:`UnsupportedOperation`, for misuse of a connection;
* :class:`InvalidURI`, for a bad ``ws://`` URL given to a client;
* :class:`PayloadTooBig`, when the application sends more than the limits allow;
* ``ValueError`` subclasses of :class:`WebSocketError` for bad arguments:
  :class:`InvalidCloseCode`, :class:`HandshakeArgumentError` (a subprotocol the
  client did not offer, a header HTTP cannot carry).

:class:`ConnectionClosed` (and its ``OK``/``Error`` kinds), :class:`InvalidHandshake`
and :class:`HandshakeRejected` are raised by the asyncio and threading adapters,
with the names ``websockets`` users know; both adapters raise the same classes.

:class:`ProtocolError` and :class:`HandshakeError` are raised by the lower-level
building blocks (frame parsers, handshake validators) for code that uses them directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .state import ConnectionState

if TYPE_CHECKING:
    from .events import Headers

__all__ = [
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "HandshakeArgumentError",
    "HandshakeError",
    "HandshakeRejected",
    "InvalidCloseCode",
    "InvalidHandshake",
    "InvalidState",
    "InvalidURI",
    "InvalidUTF8",
    "PayloadTooBig",
    "ProtocolError",
    "UnsupportedOperation",
    "WebSocketError",
    "closed_error",
]


class WebSocketError(Exception):
    """Base class of every error this library raises."""


class InvalidState(WebSocketError):
    """The application called something the connection's state does not allow.

    For example sending a message before the handshake or after a close frame was sent.

    Attributes:
        state: The connection state at the time.
    """

    def __init__(self, message: str, state: ConnectionState) -> None:
        super().__init__(message)
        self.state = state


class UnsupportedOperation(InvalidState):
    """The negotiated protocol version has no such operation.

    The hixie drafts have no binary messages, pings or close codes.

    Attributes:
        version: The protocol version, e.g. ``"hixie-76"``.
    """

    def __init__(self, message: str, version: object) -> None:
        super().__init__(message, ConnectionState.OPEN)
        self.version = version


class InvalidURI(WebSocketError, ValueError):
    """A URL is not a valid ``ws://`` or ``wss://`` URI (RFC 6455 §3).

    Attributes:
        uri: The offending URL.
    """

    def __init__(self, uri: str, why: str) -> None:
        super().__init__(f"{uri!r} is not a valid WebSocket URI: {why}")
        self.uri = uri


class InvalidCloseCode(WebSocketError, ValueError):
    """A close code that may not be sent on the wire (RFC 6455 §7.4).

    Attributes:
        code: The offending code.
    """

    def __init__(self, code: int) -> None:
        super().__init__(f"close code {code} may not be sent in a close frame")
        self.code = code


class HandshakeArgumentError(WebSocketError, ValueError):
    """The application gave the handshake an argument it cannot use.

    For example a subprotocol the client did not offer, a header that HTTP
    cannot carry, or a status code that is not a final response.
    """


class ProtocolError(WebSocketError):
    """The peer broke the protocol after the handshake.

    Attributes:
        close_code: The code to close with (1002 by default; 1007, 1009, ...).
        reason: A short reason, sent in the close frame.
    """

    def __init__(self, reason: str, close_code: int = 1002) -> None:
        super().__init__(reason)
        self.reason = reason
        self.close_code = close_code


class InvalidUTF8(ProtocolError):
    """A text message or close reason is not valid UTF-8 (close code 1007)."""

    def __init__(self, reason: str = "invalid UTF-8 in text") -> None:
        super().__init__(reason, 1007)


class PayloadTooBig(ProtocolError):
    """A message or frame exceeds the configured limit.

    Received: the connection closes with 1009 (1004 on versions 7 and 8, as
    those drafts defined it). Raised to the application when it tries to send
    a control frame payload over 125 bytes.

    Attributes:
        size: The size reached or announced, in bytes.
        max_size: The limit.
    """

    def __init__(
        self, size: int, max_size: int, close_code: int = 1009, what: str = "message"
    ) -> None:
        super().__init__(
            f"{what} of at least {size} bytes exceeds the limit of {max_size}", close_code
        )
        self.size = size
        self.max_size = max_size


class HandshakeError(WebSocketError):
    """The opening handshake is invalid.

    Attributes:
        reason: Why, in words fit for a log line or a plain-text response body.
        status: The HTTP status a server answers with (400, 405, 426, 431, ...),
            or, on the client side, the status the server sent (``None`` if unparseable).
        headers: Extra response headers the server must send with that status
            (``Allow`` for 405, ``Sec-WebSocket-Version`` for 426).
    """

    def __init__(
        self,
        reason: str,
        status: int | None = 400,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.headers = headers


# -- raised by the adapters (asyncio and threading) ---------------------------------

_OK_CODES = frozenset((1000, 1001, 1005))


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
    cls = ConnectionClosedOK if code in _OK_CODES else ConnectionClosedError
    return cls(code, reason)
