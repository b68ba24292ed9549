"""The RFC 6455 codec: frames to events and back, for versions 13, 8 and 7.

The hybi drafts 07 and 08 (``Sec-WebSocket-Version`` 7 and 8) frame data as
RFC 6455 does; the one difference the codec knows is the close code of an
oversized message: 1009 in version 13, 1004 ("frame too large") before.

Receiving parses every complete frame in the buffer in one call, reading
headers with :func:`struct.unpack_from` at an offset, and trims the buffer
once. A data frame's payload is consumed as it arrives, so a frame announced
larger than the limits is refused from its header alone and invalid UTF-8 is
caught at the first bad byte, even in the middle of a frame.

A message in many fragments costs about its bytes, however it is cut (RFC 6455
§5.4 bounds neither the number of fragments nor how small they are): the
consecutive short continuation frames of one read are unmasked into one buffer
and decoded as one piece, and a message's pieces are packed together when they
are many and small, so each fragment costs neither a Python object nor an event.
"""

from __future__ import annotations

import functools
import os
import struct
from typing import TYPE_CHECKING, AnyStr, cast

from ..close import parse_close_payload, serialize_close_payload
from ..errors import InvalidState, InvalidUTF8, PayloadTooBig, ProtocolError
from ..events import (
    BytesMessage,
    Close,
    Ping,
    Pong,
    TextMessage,
    _new_event,
    _set_bytes_data,
    _set_bytes_final,
    _set_text_data,
    _set_text_final,
)
from ..frames import (
    KEY_SPREAD,
    LOW_BYTES,
    MAX_CONTROL_PAYLOAD,
    SMALL_MASK_SIZE,
    Opcode,
    mask,
    parse_frame_length,
    serialize_frame,
)
from ..state import ConnectionState
from ..utf8 import Utf8Decoder, decode_utf8, valid_prefix
from ..versions import profile
from . import Codec

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, MutableSequence, Sequence

    from ..events import Event
    from ..extensions import Extension
    from ..versions import ProtocolVersion

__all__ = ["DECODE_BUDGET", "SKIP_LIMIT", "Rfc6455Codec"]

_PLAIN_FRAMING = ("rfc6455",)
"""The :attr:`Rfc6455Codec.shared_framing` of a server with no extensions."""

_unpack_from = struct.unpack_from

# The opcodes, as plain ints for the comparisons on the receive path.
_CONTINUATION = int(Opcode.CONTINUATION)
_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CLOSE = int(Opcode.CLOSE)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)


DECODE_BUDGET = 256 * 1024
"""The most bytes extensions decode before the events they made are taken, give or take
one frame.

Compressed frames inflate by up to about 1000:1 (RFC 7692), so a read of 256 KiB
could become hundreds of messages of up to ``max_message_size`` each, all made before
the application takes the first. A call stops after the frame that crosses this
budget and leaves the rest in the buffer (:attr:`Rfc6455Codec.pending`), as do the
calls after it until the events list it appends to is empty again: the connection
goes on as the application takes the events. A read then costs about as
much memory as when nothing is compressed (asyncio reads up to 256 KiB at a time).
"""

SKIP_LIMIT = 64 * 2**20
"""After a size failure, the most bytes of one frame the codec skips to stay in step.

A frame over a limit is skipped, so the peer's close that follows it can still
be read (:attr:`Rfc6455Codec.draining`), only when the rest of its payload is at
most this or the limit that failed, whichever is larger. A header announcing
more (2^63 - 1 bytes) is a frame we will never read to its end: the framing is
given up at once and the connection closes the stream without waiting.
"""

_NO_FAST_PATH = bytes(256)
"""The fast-path table of a codec with extensions: no frame takes the fast path."""

# Gathering a message: every piece kept is a Python object, 33 (bytes) to 80 (str)
# bytes on top of its data, and b"".join() adds 80 more while it reads one. A message
# in many small pieces is packed as it grows, so that it costs about its bytes.
_PACK_EVERY = 64
"""The most pieces of a message gathered before they are packed."""

_BIG_PIECE = 4096
"""Pieces this long on average are kept as they are: their overhead is under 4%."""

_PACKED_PIECE = 1 << 16
"""A packed piece shorter than this is packed again with the next pieces, until it is not."""


def _pack(parts: list[AnyStr], settled: int) -> None:
    """Join ``parts[settled:]``, the pieces gathered since the last packing, unless they are big.

    The last packed piece joins them while it is under :data:`_PACKED_PIECE`, so a
    message in one-byte pieces ends up in pieces of 64 KiB, each copied at most
    once more than its bytes on average (a piece grows by at least
    :data:`_PACK_EVERY` pieces at a time).
    """
    new = parts[settled:]
    if sum(map(len, new)) >= len(new) * _BIG_PIECE:
        return
    if settled and len(parts[settled - 1]) < _PACKED_PIECE:
        settled -= 1
    parts[settled:] = [parts[0][:0].join(parts[settled:])]


_pack_16 = struct.Struct("!BBH").pack
_pack_64 = struct.Struct("!BBQ").pack


def _unmasked_frame(first: int, payload: bytes) -> bytes:
    """A server's frame: :func:`~wsproto_core.frames.serialize_frame` for a valid first
    header byte ``first`` (FIN, RSV, opcode), no mask, none of its checks."""
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 0x10000:
        return _pack_16(first, 126, size) + payload
    return _pack_64(first, 127, size) + payload


@functools.lru_cache(maxsize=256)  # 2 roles x limits 0-125: every table fits
def _fast_sizes(client: bool, limit: int) -> bytes:
    """The fast path's table, indexed by a frame's second header byte.

    An entry is the frame's whole size when that byte has the MASK bit this role
    receives (RFC 6455 §5.1: clients mask, servers do not) and a 7-bit length of at
    most ``limit``, else 0. Built once per (role, limit), not per connection.
    """
    mask_bit, header = (0, 2) if client else (0x80, 6)
    return bytes(
        header + (second & 0x7F) if second & 0x80 == mask_bit and second & 0x7F <= limit else 0
        for second in range(256)
    )


class Rfc6455Codec(Codec):
    """The data-transfer phase of RFC 6455 (and of hybi drafts 07 and 08).

    Args:
        client: ``True`` for the client role: frames sent are masked, frames
            received must not be. ``False`` for the server role: the reverse.
        version: ``Sec-WebSocket-Version``: 13, 8 or 7.
        max_message_size: The most bytes a message may carry (the running
            total of its frames), or ``None`` for no limit. Over it, the
            peer's message fails with :class:`~wsproto_core.errors.PayloadTooBig`.
        max_frame_size: The most bytes one data frame may carry, or ``None``.
        stream_messages: Deliver each message as it arrives, in chunks with
            ``final=False`` but the last, instead of whole.
        extensions: The negotiated extensions, in the order they were agreed.
        mask_key_source: Where a client's masking keys come from (called with 4).

    Attributes:
        version: The protocol version this codec speaks.
    """

    __slots__ = (
        "_buffer",
        "_call_decoded",
        "_client",
        "_closed",
        "_decoder",
        "_discard",
        "_draining",
        "_extensions",
        "_fast_sizes",
        "_frame_fin",
        "_frame_key",
        "_frame_left",
        "_frame_offset",
        "_frame_opcode",
        "_frame_parts",
        "_frame_rsv",
        "_mask_bit",
        "_mask_key_source",
        "_max_frame_size",
        "_max_message_size",
        "_medium_second",
        "_message_bytes",
        "_message_decoded",
        "_message_opcode",
        "_message_size",
        "_message_text",
        "_pending",
        "_rsv_allowed",
        "_send_opcode",
        "_settled",
        "_size_bound",
        "_stream",
        "_too_big_code",
        "_wire_version",
        "version",
    )

    def __init__(
        self,
        *,
        client: bool,
        version: int = 13,
        max_message_size: int | None,
        max_frame_size: int | None = None,
        stream_messages: bool = False,
        extensions: Sequence[Extension] = (),
        mask_key_source: Callable[[int], bytes] = os.urandom,
    ) -> None:
        # A codec is made for every connection that opens: this runs once per
        # handshake, so it keeps to plain comparisons (no generators).
        if version not in (13, 8, 7):
            raise ValueError(f"RFC 6455 framing is for versions 13, 8 and 7, not {version!r}")
        self.version: ProtocolVersion = cast("ProtocolVersion", version)
        self._wire_version = version
        self._client = client
        self._max_message_size = max_message_size
        self._max_frame_size = max_frame_size
        self._stream = stream_messages
        self._extensions = extensions = tuple(extensions)
        self._mask_key_source = mask_key_source
        rsv_allowed = 0
        for extension in extensions:
            rsv_allowed |= extension.rsv_bits
        self._rsv_allowed = rsv_allowed
        # Versions 7 and 8 (hybi drafts up to 12) defined 1004 as "frame too large".
        self._too_big_code = profile(self.version).too_big_code
        # A data frame that brings its message above this may be over a limit
        # (the smaller one): only then are the limits checked one by one.
        limit = max_message_size
        if max_frame_size is not None and (limit is None or max_frame_size < limit):
            limit = max_frame_size
        self._size_bound = 1 << 64 if limit is None or limit > 1 << 64 else limit
        # The MASK bit of every frame this role receives (RFC 6455 §5.3).
        self._mask_bit = 0 if client else 0x80
        if extensions:
            # No fast or medium path: every frame goes through the extensions.
            self._fast_sizes = _NO_FAST_PATH
            self._medium_second = -1  # no byte
        else:
            # For the fast path of receive(), indexed by a frame's second header byte:
            # the frame's whole size when that byte has the MASK bit this role needs
            # and a 7-bit length within the limits, else 0.
            fast_limit = (
                MAX_CONTROL_PAYLOAD if limit is None or limit > MAX_CONTROL_PAYLOAD else limit
            )
            self._fast_sizes = _fast_sizes(client, fast_limit)
            # For the medium path of receive(): the second header byte of a frame
            # with a 16-bit length and that MASK bit.
            self._medium_second = self._mask_bit | 126
        self._buffer = bytearray()
        self._closed = False
        # What the extensions decoded in this call of receive(), and whether it stopped
        # at DECODE_BUDGET with frames left in the buffer.
        self._call_decoded = 0
        self._pending = False
        # After a failure that leaves the framing intact (a size limit, seen in a
        # header), frames are still read, and discarded, until the peer's close.
        self._draining = False
        self._discard = 0
        # The message being received: its opcode (0 when none is open), the
        # payload bytes its frames announced so far, what its extensions
        # decoded so far, its pieces not delivered yet (when streaming: those of
        # the current read), how many of them are packed, and the UTF-8 decoder.
        self._message_opcode = 0
        self._message_size = 0
        self._message_decoded = 0
        self._message_text: list[str] = []
        self._message_bytes: list[bytes] = []
        self._settled = 0
        self._decoder = Utf8Decoder()
        # The data frame whose payload is arriving: bytes still to come, its
        # masking key and how far into it we are, its flags, and (with
        # extensions) the pieces received so far.
        self._frame_left = 0
        self._frame_key: bytes | None = None
        self._frame_offset = 0
        self._frame_fin = False
        self._frame_opcode = 0
        self._frame_rsv = 0
        self._frame_parts: list[bytes] = []
        # The opcode of the fragmented message being sent (0 when none).
        self._send_opcode = 0

    # -- receiving ---------------------------------------------------------------

    def receive(self, data: bytes, events: MutableSequence[Event]) -> None:
        """Parse ``data`` (appended to whatever was buffered) and append events.

        Args:
            data: Bytes received from the peer.
            events: Where events are appended, in order.

        Raises:
            ProtocolError: The peer broke the protocol (close code 1002).
            InvalidUTF8: A text message or close reason is not UTF-8 (1007).
            PayloadTooBig: A message or frame is over the limit (1009; 1004
                on versions 7 and 8).
        """
        if self._closed or not (data or self._pending):
            return
        # The budget counts what was decoded since ``events`` was last empty: while the
        # events it made are not all taken, it is not renewed.
        if not events:
            self._call_decoded = 0
        elif self._call_decoded > DECODE_BUDGET:
            self._buffer += data
            self._pending = True
            return
        self._pending = False
        was_draining = self._draining
        try:
            if was_draining:
                self._drain(data, events)
            else:
                self._receive(data, events)
                if self._stream and (self._message_text or self._message_bytes):
                    self._deliver_chunk(events)  # one chunk per read, not per fragment
        except ProtocolError:
            # The message being received ends here: a streamed one with the chunk
            # received before the failure.
            if self._stream:
                self._deliver_chunk(events)
            self._message_text.clear()
            self._message_bytes.clear()
            if self._draining and not was_draining:
                raise  # the failure that started draining: the framing is still in step
            # The connection is failed: nothing the peer sends matters any more.
            self._closed = True
            self._draining = False
            self._buffer = bytearray()
            raise

    @property
    def pending(self) -> bool:
        """Whether frames wait in the buffer because the last call decoded its budget.

        With extensions, a call stops after the frame that takes what was decoded
        since ``events`` was last empty past :data:`DECODE_BUDGET`: compressed
        frames cannot become more than that before the application has taken the
        events already made. ``receive(b"", events)`` goes on.
        """
        return self._pending and not self._closed

    @property
    def draining(self) -> bool:
        """Whether, after a failure, the peer's close frame can still be recognised.

        True after a message or frame over the limits: the header announced the
        payload's length, so the codec skips it and the frames after it, and
        reports the peer's close frame (the answer to ours) as a ``Close`` event.
        """
        return self._draining

    def _fail_in_step(self, buf: bytes | bytearray, end: int, stop: int, limit: int) -> None:
        """Keep reading frames after a failure at a frame whose payload ends at ``stop``.

        Unless that frame is too big to skip (:data:`SKIP_LIMIT`): then the
        failure leaves the codec out of step.
        """
        if stop - end > max(SKIP_LIMIT, limit):
            return
        self._draining = True
        if stop >= end:
            self._discard = stop - end
            self._buffer = bytearray()
        else:
            self._discard = 0
            self._buffer = bytearray(buf[stop:end])

    def _drain(self, data: bytes, events: MutableSequence[Event]) -> None:
        """Discard frames until the peer's close frame, which is reported (RFC 6455 §7.1.7)."""
        buf = self._buffer + data
        end = len(buf)
        pos = min(self._discard, end)
        self._discard -= pos
        while end - pos >= 2:
            # The header's length, as parse_frame_length() reads it, without a call for
            # the 7 and 16-bit forms: a peer may send many frames before its close.
            first = buf[pos]
            second = buf[pos + 1]
            self._check_rsv_and_mask(first, second)  # else the peer is out of step too
            length = second & 0x7F
            header_end = pos + (6 if second & 0x80 else 2)
            if length == 126 and header_end + 2 <= end:
                (length,) = _unpack_from("!H", buf, pos + 2)
                header_end += 2
            elif length >= 126:
                parsed = parse_frame_length(buf, pos)
                if parsed is None:
                    break
                length, header_end = parsed
            if end < header_end:
                break
            stop = header_end + length
            if length > SKIP_LIMIT:
                raise ProtocolError("a frame too big to skip while waiting for a close frame")
            if first & 0x0F == _CLOSE:
                if length > MAX_CONTROL_PAYLOAD:
                    raise ProtocolError("control frame payload over 125 bytes")
                if end < stop:
                    break
                payload = bytes(buf[header_end:stop])
                if buf[pos + 1] & 0x80:
                    payload = mask(payload, buf[header_end - 4 : header_end])
                self._receive_close(payload, events)
                return
            if end < stop:
                self._discard = stop - end
                pos = end
                break
            pos = stop
        self._buffer = bytearray(buf[pos:])

    def _receive(self, data: bytes, events: MutableSequence[Event]) -> None:
        buf = self._joined(data)
        end = len(buf)
        pos = self._continue_frame(buf, end, events) if self._frame_left else 0
        if self._call_decoded > DECODE_BUDGET:  # the frame finished crossed the budget
            self._pending = pos < end
            self._keep(buf, pos, end)
            return
        client = self._client
        from_bytes = int.from_bytes
        key_spread = KEY_SPREAD
        low_bytes = LOW_BYTES
        fast_sizes = self._fast_sizes
        medium = self._medium_second
        medium_header = 4 if client else 8
        size_bound = self._size_bound
        unpack_from = _unpack_from
        receive_data_frame = self._receive_decoded if self._extensions else self._receive_frame
        receive_control_frame = self._receive_control_frame
        idle = not self._message_opcode
        append = events.append
        # The message events, built as events.py lays out (no __init__: it is slow).
        new_event = _new_event
        set_text = _set_text_data
        set_text_final = _set_text_final
        set_bytes = _set_bytes_data
        set_bytes_final = _set_bytes_final
        last = end - 1
        while pos < last:
            first = buf[pos]
            second = buf[pos + 1]
            size = fast_sizes[second]
            payload = None
            # The fast path: a whole single-frame text or binary message (FIN set,
            # no reserved bit), short, masked as it must be, within the limits.
            if size and idle and (first == 0x81 or first == 0x82):  # FIN | TEXT, FIN | BINARY
                stop = pos + size
                if stop <= end:
                    if client:
                        payload = bytes(buf[pos + 2 : stop])
                    else:
                        # mask() for a short payload, inlined: the key and the payload
                        # in one integer, the key its low 32 bits.
                        length = size - 6
                        both = from_bytes(buf[pos + 2 : stop], "little")
                        spread = (both & 0xFFFFFFFF) * key_spread[length] & low_bytes[length]
                        payload = ((both >> 32) ^ spread).to_bytes(length, "little")
            # The medium path: the same with a 16-bit length (126 bytes to 64 KiB).
            elif (
                second == medium
                and idle
                and (first == 0x81 or first == 0x82)
                and pos + medium_header <= end
            ):
                (length,) = unpack_from("!H", buf, pos + 2)
                start = pos + medium_header
                stop = start + length
                # RFC 6455 §5.2: "the minimal number of bytes MUST be used". A frame
                # under 126 bytes or over the limits is refused on the general path.
                if stop <= end and 126 <= length <= size_bound:
                    # A view, not a slice: mask() copies it once. (No name holds the
                    # view, so the buffer can be trimmed after.)
                    payload = (
                        bytes(memoryview(buf)[start:stop])
                        if client
                        else mask(memoryview(buf)[start:stop], buf[pos + 4 : start])
                    )
            if payload is not None:
                pos = stop
                if first == 0x81:
                    try:
                        text = payload.decode("utf-8")
                    except UnicodeDecodeError:
                        raise InvalidUTF8() from None
                    event: Event = new_event(TextMessage)
                    set_text(event, text)
                    set_text_final(event, True)
                else:
                    event = new_event(BytesMessage)
                    set_bytes(event, payload)
                    set_bytes_final(event, True)
                append(event)
                continue
            # Any other frame, or one not all here yet: the general path.
            stop = (receive_control_frame if first & 0x8 else receive_data_frame)(
                buf, pos, end, events
            )
            if stop == pos:
                break  # the frame's header (or a control frame) is not all here yet
            if self._closed:
                return  # a close frame: nothing after it is read
            pos = stop
            idle = not self._message_opcode
            if self._call_decoded > DECODE_BUDGET:
                self._pending = pos < end  # the rest waits for the next call
                break
        self._keep(buf, pos, end)

    def _joined(self, data: bytes) -> bytes | bytearray:
        """The bytes to parse: the buffer with ``data`` appended, or ``data`` alone."""
        buf = self._buffer
        if buf:
            buf += data
            return buf
        return data

    def _keep(self, buf: bytes | bytearray, pos: int, end: int) -> None:
        """Keep what is left of ``buf`` from ``pos`` as the buffer."""
        if buf is self._buffer:
            del buf[:pos]
        elif pos < end:
            self._buffer = bytearray(buf[pos:])

    def _receive_frame(
        self, buf: bytes | bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """Receive the data frame at ``pos``, or what is here of it; return where it stopped.

        It stops at ``pos`` when too little of the frame is here to act on. A whole,
        unfragmented message is delivered at once; any other frame (a fragment, a frame
        with extensions, a frame not all here yet) is started and given what is here.
        """
        first = buf[pos]
        second = buf[pos + 1]
        # Short continuation frames of the open message (RFC 6455 §5.4), whole: a run.
        if not first & 0x7F and self._fast_sizes[second] and self._message_opcode:
            stop = self._receive_fragments(buf, pos, end, events)
            if stop != pos:
                return stop
        client = self._client
        self._check_rsv_and_mask(first, second)
        opcode = first & 0x0F
        if opcode > _BINARY:
            raise ProtocolError(f"reserved opcode {opcode}")
        # RFC 6455 §5.4: a message is one frame, or a first frame and continuations:
        # a new message's frame while none is open, a continuation while one is.
        if (not opcode) == (not self._message_opcode):
            raise ProtocolError(
                "new data frame inside a fragmented message"
                if opcode
                else "continuation frame with no message started"
            )
        length = second & 0x7F
        header_end = pos + (2 if client else 6)
        if length == 126 and header_end + 2 <= end:
            (length,) = _unpack_from("!H", buf, pos + 2)
            header_end += 2
            # RFC 6455 §5.2: "the minimal number of bytes MUST be used".
            if length < 126:
                raise ProtocolError("16-bit length for a payload under 126 bytes")
        elif length >= 126:
            parsed = self._extended_length(buf, pos)
            if parsed is None:
                return pos
            length, header_end = parsed
        # Size limits, from the header alone: nothing of the payload is kept yet.
        size = self._message_size + length
        if size > self._size_bound:
            self._check_size(buf, end, header_end, length)
        if end < header_end:
            return pos
        stop = header_end + length
        if first & 0x80 and opcode and stop <= end:
            # A whole, unfragmented message in the buffer.
            self._receive_message(buf, header_end, stop, first, events)
            return stop
        # A fragment, or a frame not all here yet.
        if opcode:
            self._message_opcode = opcode
            if opcode == _TEXT:
                self._decoder.reset()
        self._message_size = size
        self._frame_key = None if client else bytes(buf[header_end - 4 : header_end])
        self._frame_offset = 0
        self._frame_fin = first >= 0x80  # FIN
        self._frame_opcode = opcode
        self._frame_rsv = first & 0x70
        stop = stop if stop <= end else end
        self._frame_left = length - (stop - header_end)
        self._frame_payload(buf, header_end, stop, end, events)
        return stop

    def _receive_decoded(
        self, buf: bytes | bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """:meth:`_receive_frame` with extensions, the usual frame first.

        A whole, unfragmented text or binary message with a 7 or 16-bit length,
        as most compressed messages come (RFC 7692 §6), goes straight to
        :meth:`_receive_message` (and the extensions); any other frame, and any
        frame that breaks a rule, takes the general path, which refuses it.
        """
        first = buf[pos]
        second = buf[pos + 1]
        opcode = first & 0x0F
        if (
            first & 0x80
            and _TEXT <= opcode <= _BINARY
            and not self._message_opcode
            and not first & 0x70 & ~self._rsv_allowed
            and second & 0x80 == self._mask_bit
        ):
            length = second & 0x7F
            header_end = pos + (6 if second & 0x80 else 2)
            if length == 126 and header_end + 2 <= end:
                (length,) = _unpack_from("!H", buf, pos + 2)
                header_end += 2
                minimal = length >= 126  # RFC 6455 §5.2
            else:
                minimal = length < 126
            stop = header_end + length
            if minimal and stop <= end and length <= self._size_bound:
                self._receive_message(buf, header_end, stop, first, events)
                return stop
        return self._receive_frame(buf, pos, end, events)

    def _check_rsv_and_mask(self, first: int, second: int) -> None:
        """Check a frame's reserved bits and its mask bit, from its first two header bytes."""
        # RFC 6455 §5.2: RSV1-3 must be 0 unless an extension defines them.
        if first & 0x70 & ~self._rsv_allowed:
            raise ProtocolError(f"reserved bits {first & 0x70:#x} set")
        # RFC 6455 §5.3: a client masks every frame; a server masks none.
        if (second & 0x80) != self._mask_bit:
            raise ProtocolError(
                "masked frame from the server" if self._client else "unmasked frame from the client"
            )

    def _receive_control_frame(
        self, buf: bytes | bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """Receive the control frame at ``pos`` once it is all here; return where it ends.

        It stops at ``pos`` when the frame is not all here yet.
        """
        first = buf[pos]
        second = buf[pos + 1]
        client = self._client
        self._check_rsv_and_mask(first, second)
        opcode = first & 0x0F
        length = second & 0x7F
        # RFC 6455 §5.5: control frames are not fragmented, carry at most
        # 125 bytes, and may be interleaved within a fragmented message.
        if opcode > _PONG:
            raise ProtocolError(f"reserved opcode {opcode}")
        # No extension defines reserved bits on control frames (RFC 7692 §6.1: RSV1 never).
        if first & 0x70:
            raise ProtocolError(f"reserved bits {first & 0x70:#x} set on a control frame")
        if not first & 0x80:
            raise ProtocolError("fragmented control frame")
        if length > MAX_CONTROL_PAYLOAD:
            raise ProtocolError("control frame payload over 125 bytes")
        header_end = pos + (2 if client else 6)
        stop = header_end + length
        if end < stop:
            return pos
        if client:
            payload = bytes(buf[header_end:stop])
        else:
            # mask() for a short payload, inlined as on the fast path: the key and the
            # payload in one integer, the key its low 32 bits.
            both = int.from_bytes(buf[header_end - 4 : stop], "little")
            spread = (both & 0xFFFFFFFF) * KEY_SPREAD[length] & LOW_BYTES[length]
            payload = ((both >> 32) ^ spread).to_bytes(length, "little")
        if self._stream and (self._message_text or self._message_bytes):
            self._deliver_chunk(events)  # the chunk before it comes first
        if opcode == _PING:
            events.append(Ping(payload))
        elif opcode == _PONG:
            events.append(Pong(payload))
        else:
            self._receive_close(payload, events)
        return stop

    def _receive_close(self, payload: bytes, events: MutableSequence[Event]) -> None:
        """Report the peer's close frame; nothing after it is data (RFC 6455 §5.5.1)."""
        code, reason = parse_close_payload(payload, version=self._wire_version)
        events.append(Close(code, reason, by_peer=True))
        self._closed = True
        self._draining = False
        self._buffer = bytearray()

    @staticmethod
    def _extended_length(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
        """The 16 or 64-bit length of the data frame at ``pos`` and where its header ends."""
        parsed = parse_frame_length(buf, pos)
        if parsed is not None:
            length = parsed[0]
            # RFC 6455 §5.2: "the minimal number of bytes MUST be used".
            if buf[pos + 1] & 0x7F == 126:
                if length < 126:
                    raise ProtocolError("16-bit length for a payload under 126 bytes")
            elif length >> 63:
                raise ProtocolError("64-bit length with the most significant bit set")
            elif length < 0x10000:
                raise ProtocolError("64-bit length for a payload under 65536 bytes")
        return parsed

    def _check_size(self, buf: bytes | bytearray, end: int, header_end: int, length: int) -> None:
        """Refuse a data frame over the limits from its header alone.

        Raises:
            PayloadTooBig: The frame, or the message with it, is over the limit;
                the frames after it are still read, until the peer's close.
        """
        max_frame = self._max_frame_size
        if max_frame is not None and length > max_frame:
            self._fail_in_step(buf, end, header_end + length, max_frame)
            raise PayloadTooBig(length, max_frame, self._too_big_code, what="frame")
        size = self._message_size + length
        max_message = self._max_message_size
        if max_message is not None and self._extensions:
            # With extensions the message limit is on the decoded size, checked as each
            # frame is decoded (_decode_frame). On the wire, a frame alone is bounded,
            # with room for deflate's overhead on incompressible data (RFC 7692).
            size = length
            max_message += (max_message >> 3) + 1024
        if max_message is not None and size > max_message:
            self._fail_in_step(buf, end, header_end + length, max_message)
            raise PayloadTooBig(size, max_message, self._too_big_code)

    def _receive_message(
        self,
        buf: bytes | bytearray,
        start: int,
        stop: int,
        first: int,
        events: MutableSequence[Event],
    ) -> None:
        """Deliver the unfragmented message whose payload is ``buf[start:stop]``.

        ``first`` is the frame's first header byte (FIN, the reserved bits, the
        opcode). With extensions, the payload goes through them at once, as one
        frame that is its message's first and last: none of the bookkeeping of a
        message in fragments (RFC 7692 §6: a compressed message in one frame).
        """
        # Views, not slices, of a long payload: mask() copies it once. (No name holds
        # the view, so the buffer can be trimmed after.)
        length = stop - start
        if self._client:
            payload = bytes(memoryview(buf)[start:stop])
        elif length <= SMALL_MASK_SIZE:
            # mask() inlined, for the short frames of compressed messages: one XOR of
            # two integers, the key repeated over the payload's length.
            key = buf[start - 4 : start] * ((length + 3) >> 2)
            data = int.from_bytes(buf[start:stop], "little")
            payload = (data ^ int.from_bytes(key[:length], "little")).to_bytes(length, "little")
        else:
            payload = mask(memoryview(buf)[start:stop], buf[start - 4 : start])
        opcode = first & 0x0F
        if self._extensions:
            try:
                payload = self._decode_extensions(opcode, first & 0x70, payload, True, 0)
            except PayloadTooBig:
                # Over the limit once decoded, but read whole: the framing is in step.
                self._fail_in_step(buf, len(buf), stop, 0)
                raise
        event: Event
        if opcode == _TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidUTF8() from None
            event = _new_event(TextMessage)
            _set_text_data(event, text)
            _set_text_final(event, True)
        else:
            event = _new_event(BytesMessage)
            _set_bytes_data(event, payload)
            _set_bytes_final(event, True)
        events.append(event)

    def _continue_frame(
        self, buf: bytes | bytearray, end: int, events: MutableSequence[Event], start: int = 0
    ) -> int:
        """Consume what ``buf`` holds of the data frame in progress; return where it stopped."""
        left = self._frame_left
        stop = min(end, start + left)
        self._frame_left = left - (stop - start)
        self._frame_payload(buf, start, stop, end, events)
        return stop

    def _frame_payload(
        self,
        buf: bytes | bytearray,
        start: int,
        stop: int,
        end: int,
        events: MutableSequence[Event],
    ) -> None:
        """Deliver (or gather) ``buf[start:stop]``, a piece of the current data frame's
        payload (still masked if it was), as part of the current message."""
        key = self._frame_key
        piece = memoryview(buf)[start:stop]
        if key is None:
            data = bytes(piece)
        else:
            data = mask(piece, key, self._frame_offset)
            self._frame_offset += len(data)
        del piece  # no view may outlive this call: the buffer is trimmed after
        if self._extensions:
            try:
                decoded = self._decode_frame(data)
            except PayloadTooBig:
                # Decoded past the limit once the frame was all here: the framing is in
                # step, the peer's close can still be read after it (see SKIP_LIMIT).
                self._fail_in_step(buf, end, stop, 0)
                raise
            if decoded is None:
                return  # extensions decode whole frames
            data = decoded
        self._message_piece(data, not self._frame_left and self._frame_fin, events)

    def _receive_fragments(
        self, buf: bytes | bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """Receive the run of whole, short continuation frames at ``pos``; return where it ends.

        RFC 6455 §5.4 bounds neither the number of a message's fragments nor how
        small they are. The payloads of the consecutive continuation frames in the
        buffer (each within the fast path's size, without reserved bits) are unmasked
        into one buffer and gathered as one piece, decoded once if text: a fragment
        costs a few integer operations, not a call, an object or an event. Invalid
        UTF-8 is still refused in the read that brings it, before anything after it.

        The run stops at any other frame, at a frame not all here, at a frame that
        would take the message over the limits (the general path refuses it) and
        after the message's last frame. It returns ``pos`` when it took no frame.
        """
        fast_sizes = self._fast_sizes
        from_bytes = int.from_bytes
        key_spread = KEY_SPREAD
        low_bytes = LOW_BYTES
        header = 2 if self._client else 6
        size = self._message_size
        size_bound = self._size_bound
        run = bytearray()
        start = pos
        last = end - 1
        first = 0
        while pos < last:
            first = buf[pos]
            whole = fast_sizes[buf[pos + 1]]
            stop = pos + whole
            length = whole - header
            if first & 0x7F or not whole or stop > end or size + length > size_bound:
                first = 0
                break
            size += length
            if header == 2:
                run += buf[pos + 2 : stop]
            else:
                # mask() for a short payload, inlined as on the fast path of _receive().
                both = from_bytes(buf[pos + 2 : stop], "little")
                spread = (both & 0xFFFFFFFF) * key_spread[length] & low_bytes[length]
                run += ((both >> 32) ^ spread).to_bytes(length, "little")
            pos = stop
            if first:
                break  # FIN: the message's last frame
        if pos != start:
            self._message_size = size
            self._message_piece(bytes(run), first != 0, events)
        return pos

    def _message_piece(self, data: bytes, final: bool, events: MutableSequence[Event]) -> None:
        """Gather the next (decoded) payload bytes of the current message; deliver it if final.

        When streaming, the pieces gathered are delivered as one chunk at the end
        of the read (or before the next event), not one by one.
        """
        if self._message_opcode == _TEXT:
            texts = self._message_text
            try:
                texts.append(decode_utf8(self._decoder, data, final))
            except InvalidUTF8:
                if self._stream:  # the chunk before the failure: up to the bad byte
                    texts.append(valid_prefix(self._decoder, data))
                raise
            count = len(texts)
        else:
            pieces = self._message_bytes
            pieces.append(data)
            count = len(pieces)
        if final:
            self._deliver_message(events)
        elif count >= self._settled + _PACK_EVERY:
            if self._message_opcode == _TEXT:
                _pack(self._message_text, self._settled)
                self._settled = len(self._message_text)
            else:
                _pack(self._message_bytes, self._settled)
                self._settled = len(self._message_bytes)

    def _deliver_message(self, events: MutableSequence[Event]) -> None:
        """Deliver the current message whole, or its last chunk when streaming; close it."""
        event: Event
        if self._message_opcode == _TEXT:
            texts = self._message_text
            event = TextMessage("".join(texts))
            texts.clear()
        else:
            pieces = self._message_bytes
            event = BytesMessage(b"".join(pieces))
            pieces.clear()
        events.append(event)
        self._message_opcode = 0
        self._message_size = 0
        self._message_decoded = 0
        self._settled = 0

    def _deliver_chunk(self, events: MutableSequence[Event]) -> None:
        """When streaming, deliver what arrived of the current message as a chunk, if any."""
        event: Event | None = None
        texts = self._message_text
        pieces = self._message_bytes
        if texts:
            text = "".join(texts)
            texts.clear()
            if text:
                event = TextMessage(text, final=False)
        elif pieces:
            data = b"".join(pieces)
            pieces.clear()
            if data:
                event = BytesMessage(data, final=False)
        if event is not None:
            events.append(event)
        self._settled = 0

    def _decode_frame(self, data: bytes) -> bytes | None:
        """Pass the current data frame, once it is all here, through the extensions.

        Returns:
            The frame's decoded payload, or ``None`` while more of the frame is to come.

        Raises:
            PayloadTooBig: The decoded message is over the limit.
        """
        if self._frame_left:
            self._frame_parts.append(data)
            return None
        if self._frame_parts:
            self._frame_parts.append(data)
            data = b"".join(self._frame_parts)
            self._frame_parts.clear()
        decoded = self._message_decoded
        data = self._decode_extensions(
            self._frame_opcode, self._frame_rsv, data, self._frame_fin, decoded
        )
        self._message_decoded = decoded + len(data)
        return data

    def _decode_extensions(
        self, opcode: int, rsv: int, data: bytes, fin: bool, decoded: int
    ) -> bytes:
        """Pass a whole data frame through the extensions, ``decoded`` bytes into its message.

        Raises:
            PayloadTooBig: The decoded message is over the limit.
        """
        # RFC 6455 §9: extensions decode in the reverse of the order they encode.
        extensions = self._extensions
        if len(extensions) > 1:
            for extension in reversed(extensions[1:]):
                data = extension.decode(opcode, rsv, data, fin)
        # The last decoder is told the budget left: an inflating extension stops one
        # byte past it (the bomb guard of RFC 7692 §8.1's compressed messages).
        max_message = self._max_message_size
        if max_message is None:
            data = extensions[0].decode_limited(opcode, rsv, data, fin, None)
        else:
            try:
                data = extensions[0].decode_limited(opcode, rsv, data, fin, max_message - decoded)
            except PayloadTooBig as exc:
                raise PayloadTooBig(decoded + exc.size, max_message, self._too_big_code) from None
            if decoded + len(data) > max_message:
                raise PayloadTooBig(decoded + len(data), max_message, self._too_big_code)
        self._call_decoded += len(data)  # toward DECODE_BUDGET
        return data

    # -- sending -----------------------------------------------------------------

    @property
    def shared_framing(self) -> Hashable | None:
        """``("rfc6455", ...)`` for a server between messages whose extensions keep no state.

        A server's frames are not masked (RFC 6455 §5.1) and versions 13, 8
        and 7 frame data alike, so such servers send a message as the same
        bytes; the extensions' own keys (:attr:`Extension.shared_encoding
        <wsproto_core.extensions.Extension.shared_encoding>`) are part of it.
        """
        if self._client or self._send_opcode:
            return None
        if not self._extensions:
            return _PLAIN_FRAMING
        keys = [extension.shared_encoding for extension in self._extensions]
        if None in keys:
            return None
        return ("rfc6455", *keys)

    @property
    def fragmenting(self) -> bool:
        """Whether a fragmented message is being sent."""
        return self._send_opcode != 0

    def send_text(self, data: str, final: bool = True) -> bytes:
        """Encode a text message, or a fragment of one when ``final`` is ``False``.

        Raises:
            InvalidState: A fragmented binary message is being sent.
        """
        return self._send_data(_TEXT, data.encode("utf-8"), final)

    def send_binary(self, data: bytes, final: bool = True) -> bytes:
        """Encode a binary message, or a fragment of one when ``final`` is ``False``.

        Raises:
            InvalidState: A fragmented text message is being sent.
        """
        return self._send_data(_BINARY, data, final)

    def send_ping(self, payload: bytes) -> bytes:
        """Encode a ping.

        Raises:
            PayloadTooBig: The payload is over 125 bytes.
        """
        return self._send_control(_PING, payload)

    def send_pong(self, payload: bytes) -> bytes:
        """Encode a pong.

        Raises:
            PayloadTooBig: The payload is over 125 bytes.
        """
        return self._send_control(_PONG, payload)

    def send_close(self, code: int | None, reason: str) -> bytes:
        """Encode a close frame; ``code`` ``None`` sends no status code.

        Raises:
            InvalidCloseCode: ``code`` may not be sent (1004 may, on versions 7 and 8).
            PayloadTooBig: The code and reason take more than 125 bytes.
            ValueError: A reason was given without a code.
        """
        payload = serialize_close_payload(code, reason, version=self._wire_version)
        return self._frame(_CLOSE, payload, True, 0)

    def _send_data(self, opcode: int, payload: bytes, final: bool) -> bytes:
        sending = self._send_opcode
        if sending:
            if opcode != sending:
                kind = "text" if sending == _TEXT else "binary"
                raise InvalidState(
                    f"a fragmented {kind} message is being sent; finish it first",
                    ConnectionState.OPEN,
                )
            opcode = _CONTINUATION
        self._send_opcode = 0 if final else (sending or opcode)
        rsv = 0
        for extension in self._extensions:
            bits, payload = extension.encode(opcode, payload, final)
            rsv |= bits
        if rsv & ~0x70:
            raise ValueError(f"reserved bits must be within 0x70, not {rsv:#x}")
        if self._client:
            return self._frame(opcode, payload, final, rsv)
        return _unmasked_frame((0x80 if final else 0) | rsv | opcode, payload)

    def _send_control(self, opcode: int, payload: bytes) -> bytes:
        if len(payload) > MAX_CONTROL_PAYLOAD:
            what = Opcode(opcode).name.lower()
            raise PayloadTooBig(len(payload), MAX_CONTROL_PAYLOAD, what=f"{what} payload")
        return self._frame(opcode, payload, True, 0)

    def _frame(self, opcode: int, payload: bytes, fin: bool, rsv: int) -> bytes:
        if self._client:
            return serialize_frame(
                opcode, payload, fin=fin, rsv=rsv, mask_key=self._mask_key_source(4)
            )
        return _unmasked_frame((0x80 if fin else 0) | rsv | opcode, payload)
