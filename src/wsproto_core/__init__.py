"""wsproto_core: a sans-IO WebSocket protocol library.

RFC 6455 (protocol versions 13, 8 and 7) and the legacy draft-hixie-76 and
draft-hixie-75 protocols behind one state machine per connection, for both
roles. Bytes in, events out, bytes to send: see :class:`ServerConnection` and
:class:`ClientConnection`. The adapters live in :mod:`wsproto_core.asyncio` and
:mod:`wsproto_core.sync`.
"""

from __future__ import annotations

from .close import CloseCode
from .connection import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ClientConnection,
    Connection,
    ServerConnection,
)
from .errors import (
    HandshakeArgumentError,
    HandshakeError,
    InvalidCloseCode,
    InvalidState,
    InvalidURI,
    InvalidUTF8,
    PayloadTooBig,
    ProtocolError,
    UnsupportedOperation,
    WebSocketError,
)
from .events import (
    Accept,
    BytesMessage,
    Close,
    Event,
    HandshakeFailed,
    HTTPRequest,
    Ping,
    Pong,
    Reject,
    Request,
    TextMessage,
)
from .frames import Opcode
from .state import ConnectionState, TransportAction
from .versions import SUPPORTED_VERSIONS, ProtocolVersion

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "SUPPORTED_VERSIONS",
    "Accept",
    "BytesMessage",
    "ClientConnection",
    "Close",
    "CloseCode",
    "Connection",
    "ConnectionState",
    "Event",
    "HTTPRequest",
    "HandshakeArgumentError",
    "HandshakeError",
    "HandshakeFailed",
    "InvalidCloseCode",
    "InvalidState",
    "InvalidURI",
    "InvalidUTF8",
    "Opcode",
    "PayloadTooBig",
    "Ping",
    "Pong",
    "ProtocolError",
    "ProtocolVersion",
    "Reject",
    "Request",
    "ServerConnection",
    "TextMessage",
    "TransportAction",
    "UnsupportedOperation",
    "WebSocketError",
    "__version__",
]
