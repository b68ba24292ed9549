"""Codecs: the data-transfer phase of one protocol, bytes to events and back.

Once the opening handshake has chosen a protocol version, the connection hands
every byte to one :class:`Codec`: :class:`~wsproto_core.codec.rfc6455.Rfc6455Codec`
for versions 13, 8 and 7, :class:`~wsproto_core.codec.hixie.HixieCodec` for the
hixie drafts. A codec knows the wire format and message assembly (fragments,
UTF-8, size limits); the connection owns state, automatic replies and the
closing handshake.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable, MutableSequence

    from ..events import Event
    from ..versions import ProtocolVersion

__all__ = ["Codec"]


class Codec(ABC):
    """The interface a connection drives after the handshake.

    Attributes:
        version: The protocol version this codec speaks.
    """

    __slots__ = ()

    version: ProtocolVersion

    @abstractmethod
    def receive(self, data: bytes, events: MutableSequence[Event]) -> None:
        """Parse ``data`` (appended to whatever was buffered) and append events.

        Every complete unit in the buffer is parsed in this one call, unless the
        codec stops at a budget of decoded bytes (see :attr:`pending`); with
        ``data`` empty, it goes on where it stopped. Events
        produced are :class:`~wsproto_core.events.TextMessage`,
        :class:`~wsproto_core.events.BytesMessage`, :class:`~wsproto_core.events.Ping`,
        :class:`~wsproto_core.events.Pong` and, when the peer's close arrives,
        :class:`~wsproto_core.events.Close` (``by_peer=True``); after a close the
        codec ignores anything more.

        Raises:
            ProtocolError: The peer broke the protocol. The events that the bytes
                before the bad one produced have been appended first, in order.
        """

    @property
    def pending(self) -> bool:
        """Whether whole frames wait in the buffer, unparsed, when the last call stopped early.

        A codec may stop a call once it has decoded a budget (inflating
        extensions); ``receive(b"", events)`` goes on. ``False`` by default.
        """
        return False

    @property
    def draining(self) -> bool:
        """Whether, after the failure just raised, the peer's close can still be recognised.

        A codec that can skip to the frame after a failure (a size limit seen in
        a header) keeps reading, discards what follows and reports the peer's
        close frame; the connection then waits for it, as in a normal closing
        handshake, before the stream is closed. ``False`` by default.
        """
        return False

    @property
    def shared_framing(self) -> Hashable | None:
        """A key shared by the codecs that encode a message to the same bytes now, or ``None``.

        Two codecs with equal keys turn the same message into the same frames,
        so a broadcast encodes it once for all of them (see
        :class:`~wsproto_core.broadcast.PreparedMessage`). ``None`` (the
        default) when the encoding is this codec's own: a client masks every
        frame with a fresh key, a compressor keeps its context from message to
        message, a fragmented message is being sent.
        """
        return None

    @property
    def fragmenting(self) -> bool:
        """Whether a fragmented message is being sent: only its fragments may follow."""
        return False

    @abstractmethod
    def send_text(self, data: str, final: bool = True) -> bytes:
        """Encode a text message, or a fragment of one when ``final`` is ``False``."""

    @abstractmethod
    def send_binary(self, data: bytes, final: bool = True) -> bytes:
        """Encode a binary message, or a fragment of one when ``final`` is ``False``.

        Raises:
            UnsupportedOperation: The protocol has no binary messages.
        """

    @abstractmethod
    def send_ping(self, payload: bytes) -> bytes:
        """Encode a ping.

        Raises:
            UnsupportedOperation: The protocol has no pings.
            PayloadTooBig: The payload is over 125 bytes.
        """

    @abstractmethod
    def send_pong(self, payload: bytes) -> bytes:
        """Encode a pong (as a reply to a ping or unsolicited)."""

    @abstractmethod
    def send_close(self, code: int | None, reason: str) -> bytes:
        """Encode a close frame: ``code`` ``None`` means no status code (1005).

        The hixie drafts ignore the code and reason and send ``FF 00``.
        """
