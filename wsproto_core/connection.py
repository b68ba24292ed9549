"""The sans-IO state machine: one object per WebSocket connection, either role.

Bytes in (:meth:`Connection.receive_data`), events out (:meth:`Connection.events`),
bytes to send (:meth:`Connection.data_to_send`). The connection never touches a
socket, a clock, a thread or an event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event, Request
    from .extensions import ClientExtensionFactory, ServerExtensionFactory
    from .versions import ProtocolVersion

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "ClientConnection", "Connection", "ConnectionState", "ServerConnection"]

DEFAULT_MAX_MESSAGE_SIZE = 32 * 2**20
"""32 MiB, the default of Apache mod_websocket's ``MaxMessageSize``."""


class ConnectionState(enum.Enum):
    """Where a connection is in its life (RFC 6455 §4, §7)."""

    CONNECTING = "CONNECTING"
    """The opening handshake is under way."""
    OPEN = "OPEN"
    """Data may flow both ways."""
    CLOSING = "CLOSING"
    """A close frame was sent or received, not yet both."""
    CLOSED = "CLOSED"
    """The closing handshake is done, the handshake failed, or the stream ended."""


class Connection:
    """What both roles share. Use :class:`ServerConnection` or :class:`ClientConnection`."""

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the peer; ``b""`` means the stream ended (EOF)."""
        raise NotImplementedError

    def events(self) -> Iterator[Event]:
        """Return the events produced so far, in order, and forget them."""
        raise NotImplementedError

    def data_to_send(self) -> bytes:
        """Return every byte owed to the peer, automatic replies included, and forget them."""
        raise NotImplementedError

    def send_text(self, data: str, final: bool = True) -> None:
        """Queue a text message (or a fragment of one when ``final`` is False)."""
        raise NotImplementedError

    def send_binary(self, data: bytes, final: bool = True) -> None:
        """Queue a binary message (or a fragment of one when ``final`` is False)."""
        raise NotImplementedError

    def ping(self, payload: bytes = b"") -> None:
        """Queue a ping."""
        raise NotImplementedError

    def pong(self, payload: bytes = b"") -> None:
        """Queue an unsolicited pong."""
        raise NotImplementedError

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Start (or answer) the closing handshake."""
        raise NotImplementedError

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        raise NotImplementedError

    @property
    def should_close_transport(self) -> bool:
        """True once the adapter must close the TCP stream."""
        raise NotImplementedError

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """The negotiated protocol, once known."""
        raise NotImplementedError


class ServerConnection(Connection):
    """The server role."""

    def __init__(
        self,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ServerExtensionFactory] = (),
        stream_messages: bool = False,
        allow_draft76: bool = True,
        allow_draft75: bool = False,
        accept_plain_http: bool = False,
        secure: bool = False,
        max_handshake_size: int = 16384,
    ) -> None:
        raise NotImplementedError

    @property
    def request(self) -> Request | None:
        """The handshake request, once it arrived."""
        raise NotImplementedError

    def accept(self, subprotocol: str | None = None, extra_headers: Sequence[tuple[str, str]] = ()) -> None:
        """Accept the handshake (after a Request event)."""
        raise NotImplementedError

    def reject(self, status: int = 403, headers: Sequence[tuple[str, str]] = (), body: bytes = b"") -> None:
        """Refuse the handshake (or answer a plain HTTP request) with an HTTP response."""
        raise NotImplementedError


class ClientConnection(Connection):
    """The client role."""

    def __init__(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] = (),
        origin: str | None = None,
        version: ProtocolVersion = 13,
        extra_headers: Sequence[tuple[str, str]] = (),
        extensions: Sequence[ClientExtensionFactory] = (),
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        stream_messages: bool = False,
        max_handshake_size: int = 16384,
    ) -> None:
        raise NotImplementedError
