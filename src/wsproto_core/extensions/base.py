"""The extension interface: negotiation factories and per-frame transforms."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = ["ClientExtensionFactory", "Extension", "ExtensionParams", "ServerExtensionFactory"]

ExtensionParams = tuple[tuple[str, str | None], ...]
"""An offer's or response's parameters: ``(name, value)`` pairs, ``None`` for a bare name."""


class Extension(ABC):
    """A negotiated extension, applied to the data frames of one connection.

    Attributes:
        name: The extension token (``permessage-deflate``).
        rsv_bits: The reserved bits of the first header byte this extension may
            set (``0x40`` for RSV1); frames with other reserved bits set are refused.
    """

    name: str
    rsv_bits: int = 0

    @abstractmethod
    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        """Transform a received data frame's payload (``opcode`` 0, 1 or 2).

        Raises:
            ProtocolError: The payload is invalid for this extension.
        """

    @abstractmethod
    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        """Transform an outgoing data frame's payload; return ``(rsv bits, payload)``."""

    @property
    def shared_encoding(self) -> Hashable | None:
        """A key shared by the extensions that encode the next message to the same bytes.

        ``None`` (the default) when the encoding depends on this connection's
        history, as a compressor that keeps its context does. An extension
        with no state between messages returns its parameters: a broadcast
        then encodes a message once for every connection with the same key.
        """
        return None

    def decode_limited(
        self, opcode: int, rsv: int, payload: bytes, fin: bool, limit: int | None
    ) -> bytes:
        """:meth:`decode`, producing no more than ``limit`` + 1 bytes.

        The codec calls this, not :meth:`decode`, on the extension that decodes
        last (the first agreed), with ``limit`` the bytes the message may still
        take under ``max_message_size`` (``None``: no limit). An extension that
        inflates (permessage-deflate) stops after ``limit + 1`` bytes, so the
        codec sees the message is too big without the memory ever holding more.
        The default calls :meth:`decode`: an extension that does not override
        this is checked only after it decoded the whole frame.

        Raises:
            ProtocolError: The payload is invalid for this extension.
        """
        return self.decode(opcode, rsv, payload, fin)


class ServerExtensionFactory(ABC):
    """Server side of one extension's negotiation.

    Attributes:
        versions: The ``Sec-WebSocket-Version`` values the extension is negotiated on;
            offers in a handshake of another version are ignored.
    """

    name: str
    versions: tuple[int, ...] = (13, 8, 7)

    @abstractmethod
    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        """Answer one client offer: the response parameters and the extension, or ``None``."""


class ClientExtensionFactory(ABC):
    """Client side of one extension's negotiation.

    Attributes:
        versions: The ``Sec-WebSocket-Version`` values the extension is offered on;
            a client of another version does not offer it.
    """

    name: str
    versions: tuple[int, ...] = (13, 8, 7)

    @abstractmethod
    def offer(self) -> ExtensionParams:
        """The parameters to offer."""

    @abstractmethod
    def accept(self, response: ExtensionParams) -> Extension:
        """Build the extension from the server's response parameters.

        Raises:
            HandshakeError: The response is not acceptable.
        """
