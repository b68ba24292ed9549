"""permessage-deflate (RFC 7692): messages compressed with DEFLATE (RFC 1951).

Negotiation (RFC 7692 §5, §7.1) agrees four parameters:

* ``server_no_context_takeover`` / ``client_no_context_takeover`` (§7.1.1): that
  side resets its compressor after every message, so the peer may reset its
  decompressor too (and we drop it: an idle connection then holds no zlib state);
* ``server_max_window_bits`` / ``client_max_window_bits`` (§7.1.2): the largest
  LZ77 window, 2^8 to 2^15 bytes, that side's compressor uses.

On the wire (§6, §7.2): the first frame of a compressed message has RSV1 set, its
continuations do not; control frames are never compressed; each message's
compressed data ends with an empty stored block flushed by ``Z_SYNC_FLUSH`` whose
four bytes ``00 00 ff ff`` are removed on sending and put back on receiving.

Window bits 8: zlib (1.2.9 and later) refuses a raw-deflate compressor with an
8-bit window. A compressor held to 8 bits uses 9, as Node's ``zlib`` (and so ws)
does: zlib's deflate never emits a distance over ``2^wbits - 262`` (its
``MIN_LOOKAHEAD``), 250 bytes for 9 bits, so the stream fits an 8-bit window and
any decompressor agreed on 8 reads it. For the same reason every decompressor
here has at least 9 bits: a peer that compressed with "8" through zlib's old
silent 8 → 9 upgrade is read too.

The bomb guard: :meth:`PerMessageDeflate.decode_limited` never inflates more than
the message's remaining budget plus one byte (zlib's ``max_length``), so a message
that inflates past ``max_message_size`` fails (1009, or 1004 on hybi 07/08) with
no more than the limit in memory.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING

from ..errors import HandshakeError, PayloadTooBig, ProtocolError
from .base import ClientExtensionFactory, Extension, ServerExtensionFactory

if TYPE_CHECKING:
    from collections.abc import Hashable

    from .base import ExtensionParams

__all__ = ["ClientPerMessageDeflateFactory", "PerMessageDeflate", "ServerPerMessageDeflateFactory"]

_NAME = "permessage-deflate"
_TAIL = b"\x00\x00\xff\xff"
"""The empty stored block a ``Z_SYNC_FLUSH`` ends with (RFC 7692 §7.2.1, §7.2.2)."""

_RSV1 = 0x40
_SYNC_FLUSH = zlib.Z_SYNC_FLUSH
_STEP = 1 << 16
"""The most bytes inflated at a time when a limit applies."""
_APPEND_TAIL = 2048
"""The longest final frame the tail is appended to, to inflate them in one call.

A second call to ``decompress`` costs about 0.4 µs (CPython 3.11), copying 2 KiB
much less; a longer frame is not copied for 4 bytes (websockets draws the same
line at 2044 bytes).
"""
_WINDOW_BITS = re.compile(r"(?:[89]|1[0-5])\Z")
"""A window-bits value: 8 to 15, in decimal without leading zeros (RFC 7692 §7.1.2)."""

_PARAMS = (
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
)


class PerMessageDeflate(Extension):
    """The permessage-deflate extension of one connection (RFC 7692).

    Made by the factories once the handshake agreed; "local" is our side's
    compressor, "remote" the peer's (read by our decompressor). zlib objects are
    made on first use, and dropped after each message of a side that does not
    take its context over.

    Args:
        local_no_context_takeover: Reset our compressor after every message.
        remote_no_context_takeover: The peer resets its compressor after every
            message: our decompressor is dropped after every message.
        local_max_window_bits: Our compressor's window bits (8 means 9, see the module).
        remote_max_window_bits: The peer's window bits (our decompressor uses at least 9).
        compress_threshold: Messages whose first frame is shorter are sent
            uncompressed (RSV1 clear), which RFC 7692 §6 allows.
        compression_level: zlib's level, 0 to 9 (``-1``: zlib's default, 6).
        mem_level: zlib's ``memLevel``, 1 to 9: the compressor's memory besides
            its window (``2^(mem_level + 9)`` bytes).
    """

    name = _NAME
    rsv_bits = _RSV1

    __slots__ = (
        "_compress_threshold",
        "_compression_level",
        "_decoder",
        "_decoding",
        "_encoder",
        "_encoding",
        "_mem_level",
        "local_max_window_bits",
        "local_no_context_takeover",
        "remote_max_window_bits",
        "remote_no_context_takeover",
    )

    def __init__(
        self,
        *,
        local_no_context_takeover: bool = False,
        remote_no_context_takeover: bool = False,
        local_max_window_bits: int = 15,
        remote_max_window_bits: int = 15,
        compress_threshold: int = 0,
        compression_level: int = -1,
        mem_level: int = 8,
    ) -> None:
        for bits in (local_max_window_bits, remote_max_window_bits):
            if not 8 <= bits <= 15:
                raise ValueError(f"window bits must be 8 to 15, not {bits!r}")
        self.local_no_context_takeover = local_no_context_takeover
        self.remote_no_context_takeover = remote_no_context_takeover
        self.local_max_window_bits = local_max_window_bits
        self.remote_max_window_bits = remote_max_window_bits
        self._compress_threshold = compress_threshold
        self._compression_level = compression_level
        self._mem_level = mem_level
        self._encoder: zlib._Compress | None = None
        self._decoder: zlib._Decompress | None = None
        self._encoding = False  # the message being sent is compressed
        self._decoding = False  # the message being received is compressed

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(local_no_context_takeover={self.local_no_context_takeover}, "
            f"remote_no_context_takeover={self.remote_no_context_takeover}, "
            f"local_max_window_bits={self.local_max_window_bits}, "
            f"remote_max_window_bits={self.remote_max_window_bits})"
        )

    @property
    def shared_encoding(self) -> Hashable | None:
        """Our parameters when we reset the compressor after every message, else ``None``.

        Without context takeover (``server_no_context_takeover`` for a server)
        every message starts a fresh compressor, so the same message with the
        same window, level, memory and threshold deflates to the same bytes on
        every such connection. With it, each compressor's history differs.
        """
        if not self.local_no_context_takeover or self._encoder is not None:
            return None  # the context carries over, or a fragmented message is half sent
        return (
            _NAME,
            max(self.local_max_window_bits, 9),
            self._compression_level,
            self._mem_level,
            self._compress_threshold,
        )

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        """Inflate a received data frame of a compressed message, with no size limit.

        Raises:
            ProtocolError: RSV1 on a continuation frame, or invalid compressed data.
        """
        return self.decode_limited(opcode, rsv, payload, fin, None)

    def decode_limited(
        self, opcode: int, rsv: int, payload: bytes, fin: bool, limit: int | None
    ) -> bytes:
        """Inflate a received data frame, producing at most ``limit + 1`` bytes.

        Frames are inflated one by one, as they arrive, through one
        decompressor per message (or per connection, with context takeover).

        Raises:
            ProtocolError: RSV1 on a continuation frame (RFC 7692 §6.1), or
                invalid compressed data (close code 1002, as websockets: RFC 7692
                §8.2.3 asks to fail the connection and names no code).
            PayloadTooBig: The frame inflates to more than ``limit`` bytes (the
                codec raises it again with its own limit and close code).
        """
        if opcode:
            self._decoding = decoding = rsv & _RSV1 != 0
        elif rsv & _RSV1:
            raise ProtocolError("RSV1 set on a continuation frame")
        else:
            decoding = self._decoding
        if not decoding:
            return payload
        if fin and opcode and not payload:
            # An empty compressed message sent as nothing at all, where §7.2.3.6 sends
            # 0x00: empty, and the context (a half-read tail would break it) untouched.
            return payload
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = zlib.decompressobj(wbits=-max(self.remote_max_window_bits, 9))
        # RFC 7692 §7.2.2: the tail goes back after the message's last frame: appended
        # to a short frame (a second call to zlib costs more than the copy), else
        # inflated apart (appending it would copy the frame).
        try:
            if not fin:
                data = _inflate(decoder, payload, limit)
            elif len(payload) <= _APPEND_TAIL:
                data = _inflate(decoder, payload + _TAIL, limit)
            else:
                data = _inflate(decoder, payload, limit)
                rest = _inflate(decoder, _TAIL, None if limit is None else limit - len(data))
                if rest:
                    data += rest
        except zlib.error as exc:
            raise ProtocolError(f"invalid compressed data: {exc}") from None
        # A message that ended its DEFLATE stream (BFINAL set, RFC 7692 §7.2.3.4) cannot be followed
        # in the same stream: start the next one afresh.
        if fin and (self.remote_no_context_takeover or decoder.eof):
            self._decoder = None
        return data

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        """Deflate an outgoing data frame; RSV1 on a compressed message's first frame.

        Each frame is flushed (``Z_SYNC_FLUSH``) so the peer can inflate it as it
        arrives; the last frame's ``00 00 ff ff`` tail is removed (RFC 7692 §7.2.1).
        """
        if opcode:
            # A fragmented message is compressed whatever the size of its first frame.
            encoding = self._encoding = not fin or len(payload) >= self._compress_threshold
        else:
            encoding = self._encoding
        if not encoding:
            return 0, payload
        encoder = self._encoder
        if encoder is None:
            # zlib refuses 8 bits for raw deflate; 9 bits fit an 8-bit window (see the module).
            encoder = self._encoder = zlib.compressobj(
                self._compression_level,
                zlib.DEFLATED,
                -max(self.local_max_window_bits, 9),
                self._mem_level,
            )
        data = encoder.compress(payload) + encoder.flush(_SYNC_FLUSH)
        if fin:
            # Not there after an empty last frame that followed a flush: zlib writes nothing.
            if data.endswith(_TAIL):
                data = data[:-4]
            if self.local_no_context_takeover:
                self._encoder = None
        return (_RSV1 if opcode else 0), data


def _inflate(decoder: zlib._Decompress, data: bytes, limit: int | None) -> bytes:
    """Inflate ``data``, producing at most ``limit + 1`` bytes (``None``: no limit).

    One call to zlib when the output is shorter than a step (:data:`_STEP`), as
    a short message's is; else :func:`_inflate_steps` takes over.

    Raises:
        PayloadTooBig: More than ``limit`` bytes would come out.
    """
    if limit is None:
        return decoder.decompress(data)
    room = _STEP if limit >= _STEP else limit + 1
    piece = decoder.decompress(data, room)
    if len(piece) < room:
        return piece  # all of ``data`` read, no output held back, within the limit
    return _inflate_steps(decoder, piece, limit)


def _inflate_steps(decoder: zlib._Decompress, piece: bytes, limit: int) -> bytes:
    """Go on inflating after ``piece`` filled a step: the input left, and the output zlib holds.

    Raises:
        PayloadTooBig: More than ``limit`` bytes would come out; found with at most
            ``limit + 1`` inflated, never joined into one object.
    """
    total = len(piece)
    pieces = [piece]
    room = len(piece)  # the step it filled
    # Output may be pending in zlib with no input left when a step was filled. A step
    # never goes past limit + 1 bytes, and one that reaches it is filled: the loop
    # goes on, to the check.
    while len(piece) == room or decoder.unconsumed_tail:
        if total > limit:
            raise PayloadTooBig(total, limit)
        room = min(_STEP, limit + 1 - total)
        piece = decoder.decompress(decoder.unconsumed_tail, room)
        total += len(piece)
        pieces.append(piece)
    return b"".join(pieces)


def _parse(params: ExtensionParams) -> dict[str, str | None] | None:
    """The parameters as a dict; ``None`` if one is unknown, repeated or has a bad value."""
    found: dict[str, str | None] = {}
    for name, value in params:
        if name not in _PARAMS or name in found:
            return None  # RFC 7692 §7.1: unknown or duplicated parameters
        if name.endswith("no_context_takeover"):
            if value is not None:
                return None  # §7.1.1: no value
        elif value is None:
            if name == "server_max_window_bits":
                return None  # §7.1.2.1: a value is required
        elif not _WINDOW_BITS.match(value):
            return None  # §7.1.2: 8 to 15
        found[name] = value
    return found


def _check_bits(name: str, bits: int | bool | None, *, bare: bool = False) -> None:
    if bits is None or (bare and bits is True):
        return
    if isinstance(bits, bool) or not 8 <= bits <= 15:
        raise ValueError(f"{name} must be 8 to 15, not {bits!r}")


class ServerPerMessageDeflateFactory(ServerExtensionFactory):
    """Accept the client's first acceptable permessage-deflate offer (RFC 7692 §5, §7.1).

    The defaults keep memory per connection small (about 45 KiB once both
    directions were used, instead of about 300 KiB for zlib's defaults):
    a 4 KiB window for our compressor and, when the client allows it, for its
    compressor too, and ``mem_level`` 5.

    Args:
        server_no_context_takeover: Reset our compressor after every message
            (also done when the client asks for it).
        client_no_context_takeover: Ask the client to reset its compressor
            after every message (also agreed when the client offers it).
        server_max_window_bits: Our compressor's window bits, 8 to 15 (the
            client may ask for fewer); ``None`` for 15, not sent.
        client_max_window_bits: The client's window bits to ask for, 8 to 15,
            when the client offers ``client_max_window_bits``; ``None``: not asked.
        compress_threshold: Send messages shorter than this uncompressed.
        compression_level: zlib's compression level (``-1``: its default).
        mem_level: zlib's ``memLevel`` for our compressor.
    """

    name = _NAME
    versions = (13,)

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int | None = 12,
        client_max_window_bits: int | None = 12,
        compress_threshold: int = 0,
        compression_level: int = -1,
        mem_level: int = 5,
    ) -> None:
        _check_bits("server_max_window_bits", server_max_window_bits)
        _check_bits("client_max_window_bits", client_max_window_bits)
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_threshold = compress_threshold
        self.compression_level = compression_level
        self.mem_level = mem_level

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        """Answer one offer: the response parameters and the extension, or ``None``.

        An offer with an unknown or repeated parameter, or a bad value, is
        declined (RFC 7692 §7.1): the client's next offer may be accepted.
        """
        params = _parse(offer)
        if params is None:
            return None
        response: list[tuple[str, str | None]] = []
        server_nct = self.server_no_context_takeover or "server_no_context_takeover" in params
        client_nct = self.client_no_context_takeover or "client_no_context_takeover" in params
        if server_nct:
            response.append(("server_no_context_takeover", None))
        if client_nct:
            response.append(("client_no_context_takeover", None))
        # §7.1.2.1: at most what the client asked for; we may lower it unasked.
        server_bits = self.server_max_window_bits or 15
        offered = params.get("server_max_window_bits")
        if offered is not None:
            server_bits = min(server_bits, int(offered))
        if offered is not None or server_bits < 15:
            response.append(("server_max_window_bits", str(server_bits)))
        # §7.1.2.2: only if the client offered client_max_window_bits, at most its value.
        client_bits = 15
        if "client_max_window_bits" in params:
            value = params["client_max_window_bits"]
            client_bits = 15 if value is None else int(value)
            if self.client_max_window_bits is not None:
                client_bits = min(client_bits, self.client_max_window_bits)
                response.append(("client_max_window_bits", str(client_bits)))
        extension = PerMessageDeflate(
            local_no_context_takeover=server_nct,
            remote_no_context_takeover=client_nct,
            local_max_window_bits=server_bits,
            remote_max_window_bits=client_bits,
            compress_threshold=self.compress_threshold,
            compression_level=self.compression_level,
            mem_level=self.mem_level,
        )
        return tuple(response), extension


class ClientPerMessageDeflateFactory(ClientExtensionFactory):
    """Offer permessage-deflate and check the server's answer (RFC 7692 §5, §7.1).

    Args:
        server_no_context_takeover: Ask the server to reset its compressor after every message.
        client_no_context_takeover: Announce that we reset ours after every message.
        server_max_window_bits: The server's window bits to ask for, 8 to 15, or ``None``.
        client_max_window_bits: Our window bits: 8 to 15, ``True`` (the default)
            to offer the bare parameter, letting the server choose, or ``None``.
        compress_threshold: Send messages shorter than this uncompressed.
        compression_level: zlib's compression level (``-1``: its default).
        mem_level: zlib's ``memLevel`` for our compressor.
    """

    name = _NAME
    versions = (13,)

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
        client_max_window_bits: int | bool | None = True,
        compress_threshold: int = 0,
        compression_level: int = -1,
        mem_level: int = 5,
    ) -> None:
        _check_bits("server_max_window_bits", server_max_window_bits)
        if client_max_window_bits is False:
            client_max_window_bits = None
        _check_bits("client_max_window_bits", client_max_window_bits, bare=True)
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_threshold = compress_threshold
        self.compression_level = compression_level
        self.mem_level = mem_level

    def offer(self) -> ExtensionParams:
        """The parameters to offer."""
        params: list[tuple[str, str | None]] = []
        if self.server_no_context_takeover:
            params.append(("server_no_context_takeover", None))
        if self.client_no_context_takeover:
            params.append(("client_no_context_takeover", None))
        if self.server_max_window_bits is not None:
            params.append(("server_max_window_bits", str(self.server_max_window_bits)))
        if self.client_max_window_bits is True:
            params.append(("client_max_window_bits", None))
        elif self.client_max_window_bits is not None:
            params.append(("client_max_window_bits", str(self.client_max_window_bits)))
        return tuple(params)

    def accept(self, response: ExtensionParams) -> Extension:
        """Build the extension from the server's response.

        Raises:
            HandshakeError: The response has an unknown, repeated or invalid
                parameter, or does not match the offer (RFC 7692 §7.1).
        """
        params = _parse(response)
        if params is None or params.get("client_max_window_bits", "") is None:
            raise HandshakeError(f"invalid permessage-deflate response {response!r}", 101)
        if self.server_no_context_takeover and "server_no_context_takeover" not in params:
            raise HandshakeError("the server did not agree to server_no_context_takeover", 101)
        server_bits = int(params.get("server_max_window_bits") or 15)
        if self.server_max_window_bits is not None:
            if "server_max_window_bits" not in params:
                raise HandshakeError("the server did not agree to server_max_window_bits", 101)
            if server_bits > self.server_max_window_bits:
                raise HandshakeError("the server's server_max_window_bits is too large", 101)
        mine = self.client_max_window_bits
        client_bits = 15 if mine is None or isinstance(mine, bool) else mine
        value = params.get("client_max_window_bits")
        if value is not None:
            if self.client_max_window_bits is None:
                raise HandshakeError("client_max_window_bits in the response was not offered", 101)
            if int(value) > client_bits:
                raise HandshakeError("the server's client_max_window_bits is too large", 101)
            client_bits = int(value)
        return PerMessageDeflate(
            local_no_context_takeover=self.client_no_context_takeover
            or "client_no_context_takeover" in params,
            remote_no_context_takeover="server_no_context_takeover" in params,
            local_max_window_bits=client_bits,
            remote_max_window_bits=server_bits,
            compress_threshold=self.compress_threshold,
            compression_level=self.compression_level,
            mem_level=self.mem_level,
        )
