"""The data framing of draft-hixie-76 (hybi-00) and draft-hixie-75.

Both drafts frame data the same way (draft-hixie-76 §4.2 for the client,
§5.3 for the server; draft-hixie-75 in the same terms); frames are never
masked, so one codec serves both roles:

* A *frame type* byte with the high bit clear starts a sentinel-framed frame:
  the bytes up to the next ``0xFF`` are UTF-8 text. Only type ``0x00`` is a
  text message; the drafts say to read any other type to its ``0xFF`` and
  discard it, so this codec does that (without keeping the bytes).
* A frame type byte with the high bit set is followed by a length in base-128
  digits (high bit set: more digits follow) and that many bytes, which the
  drafts say to read and discard: neither draft has binary messages.
* In draft-hixie-76, type ``0xFF`` with length 0 (``FF 00``) is the closing
  handshake; everything after it is discarded. draft-hixie-75 has no closing
  handshake (either side just closes the TCP connection), so there ``FF 00``
  is an empty frame, discarded like any other.

Where this codec is stricter than the drafts:

* Invalid UTF-8 in a text frame fails the connection (:class:`InvalidUTF8`) at
  the first bad byte, as RFC 6455 §8.1 requires. draft-hixie-76 has a client
  substitute U+FFFD (§4.3) and leaves a server free to close (§5.4).
* The drafts allow implementation limits on the frames they skip (draft-hixie-76
  §4.2: a hostile peer may announce lengths beyond 2^32). Every frame, kept or
  discarded, is held to ``max_message_size``; a length-prefixed frame is checked
  from its announced length before any of its bytes is read, and a length
  written in more than nine base-128 digits (over 63 bits) is a protocol error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..errors import InvalidUTF8, PayloadTooBig, ProtocolError, UnsupportedOperation
from ..events import Close, TextMessage, _new_event, _set_text_data, _set_text_final
from ..utf8 import Utf8Decoder, decode_utf8
from ..versions import profile
from . import Codec

if TYPE_CHECKING:
    import codecs
    from collections.abc import Hashable, MutableSequence

    from ..events import Event

__all__ = ["HixieCodec"]

HixieVersion = Literal["hixie-76", "hixie-75"]

_HIXIE_FRAMING = ("hixie",)

_MAX_LENGTH_DIGITS = 9
"""Nine base-128 digits carry 63 bits; a longer length cannot be honest."""

# Where the parser is between two reads.
_FRAME_START = 0
_TEXT = 1
_LENGTH = 2
_DISCARD = 3
_CLOSED = 4
"""After the closing handshake or a protocol error: every byte is ignored."""


def _decode(data: bytearray, decoder: codecs.IncrementalDecoder | None, final: bool) -> str:
    """Decode UTF-8 text, failing at the first invalid byte.

    Args:
        data: The bytes.
        decoder: The frame's incremental decoder, or ``None`` when ``data`` is
            the whole text of the frame.
        final: Whether ``data`` ends the frame's text.

    Raises:
        InvalidUTF8: ``data`` holds an invalid byte.
    """
    if decoder is not None:
        return decode_utf8(decoder, data, final)
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise InvalidUTF8(f"invalid UTF-8 in text: {exc.reason}") from None


class HixieCodec(Codec):
    """Bytes to events and back for the hixie drafts, either role.

    Args:
        version: ``"hixie-76"`` or ``"hixie-75"``.
        max_message_size: The most bytes a frame may carry (the UTF-8 bytes
            of a text frame, the announced length of a length-prefixed frame),
            or ``None`` for no limit. The limit applies in streaming mode too.
        stream_messages: Deliver text as it arrives, in
            :class:`~wsproto_core.events.TextMessage` chunks with ``final=False``
            and a last one with ``final=True``, instead of whole messages.

    Attributes:
        version: The protocol version this codec speaks.
        max_message_size: The frame size limit, or ``None``.
        stream_messages: Whether text is delivered in chunks.
    """

    __slots__ = (
        "_buffer",
        "_chunks",
        "_closing_handshake",
        "_decoder",
        "_digits",
        "_frame_type",
        "_length",
        "_remaining",
        "_state",
        "_text_size",
        "max_message_size",
        "stream_messages",
        "version",
    )

    def __init__(
        self,
        *,
        version: HixieVersion,
        max_message_size: int | None,
        stream_messages: bool = False,
    ) -> None:
        if version not in ("hixie-76", "hixie-75"):
            raise ValueError(f"not a hixie draft: {version!r}")
        self.version: HixieVersion = version
        self._closing_handshake = profile(version).closing_handshake
        self.max_message_size = max_message_size
        self.stream_messages = stream_messages
        self._buffer = bytearray()
        self._state = _FRAME_START
        self._frame_type = 0
        self._decoder = Utf8Decoder()
        self._chunks: list[str] = []
        self._text_size = 0
        self._length = 0
        self._digits = 0
        self._remaining = 0

    def receive(self, data: bytes, events: MutableSequence[Event]) -> None:
        """Parse ``data`` (after whatever was buffered) and append the events.

        Every complete frame in the buffer is parsed in this one call. A text
        frame of type ``0x00`` gives a :class:`~wsproto_core.events.TextMessage`;
        in draft-hixie-76, ``FF 00`` gives ``Close(1005, "", by_peer=True)``.
        After that close, and after a protocol error, further bytes are ignored.

        Args:
            data: Bytes received from the peer.
            events: The list the events are appended to, in order.

        Raises:
            InvalidUTF8: A text frame is not valid UTF-8 (raised as soon as the
                first invalid byte arrives, before the frame's ``0xFF``).
            PayloadTooBig: A frame exceeds ``max_message_size`` (close code 1009).
            ProtocolError: A frame length has more than nine base-128 digits.
        """
        if self._state == _CLOSED:
            return
        buffer = self._buffer
        buffer += data
        end = len(buffer)
        pos = 0
        limit = self.max_message_size
        try:
            while pos < end:
                state = self._state
                if state == _FRAME_START:
                    frame_type = buffer[pos]
                    pos += 1
                    if frame_type == 0x00:
                        sentinel = buffer.find(0xFF, pos)
                        if sentinel >= 0 and (limit is None or sentinel - pos <= limit):
                            # The whole text frame is here: one strict decode, and
                            # the event built as events.py lays out (its __init__ is slow).
                            event = _new_event(TextMessage)
                            _set_text_data(event, _decode(buffer[pos:sentinel], None, True))
                            _set_text_final(event, True)
                            events.append(event)
                            pos = sentinel + 1
                            continue
                    self._frame_type = frame_type
                    if frame_type & 0x80:
                        self._length = 0
                        self._digits = 0
                        self._state = _LENGTH
                    else:
                        self._text_size = 0
                        self._state = _TEXT
                elif state == _TEXT:
                    pos = self._receive_text(buffer, pos, end, events)
                elif state == _LENGTH:
                    pos = self._receive_length(buffer, pos, end, events)
                else:
                    taken = min(self._remaining, end - pos)
                    pos += taken
                    self._remaining -= taken
                    if not self._remaining:
                        self._state = _FRAME_START
        except ProtocolError:
            # Once failing, process nothing more (as RFC 6455 §7.1.7 has it).
            self._state = _CLOSED
            self._chunks.clear()
            buffer.clear()
            raise
        del buffer[:pos]

    def _receive_text(
        self, buffer: bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """Take the text of a sentinel-framed frame, up to its ``0xFF`` if it is here.

        Returns:
            The position after what was consumed.
        """
        sentinel = buffer.find(0xFF, pos)
        stop = end if sentinel < 0 else sentinel
        size = self._text_size + stop - pos
        if self.max_message_size is not None and size > self.max_message_size:
            raise PayloadTooBig(size, self.max_message_size)
        self._text_size = size
        complete = sentinel >= 0
        if self._frame_type == 0x00:
            text = _decode(buffer[pos:stop], self._decoder, complete)
            if self.stream_messages:
                if complete or text:
                    events.append(TextMessage(text, complete))
            elif complete:
                if self._chunks:
                    self._chunks.append(text)
                    text = "".join(self._chunks)
                    self._chunks.clear()
                events.append(TextMessage(text))
            elif text:
                self._chunks.append(text)
        # Other frame types with the high bit clear: read to 0xFF and discard.
        if not complete:
            return stop
        self._state = _FRAME_START
        return sentinel + 1

    def _receive_length(
        self, buffer: bytearray, pos: int, end: int, events: MutableSequence[Event]
    ) -> int:
        """Read the base-128 length of a length-prefixed frame, as far as it is here.

        Returns:
            The position after what was consumed.
        """
        length = self._length
        digits = self._digits
        while True:
            if pos == end:
                self._length = length
                self._digits = digits
                return pos
            byte = buffer[pos]
            pos += 1
            digits += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
            if digits == _MAX_LENGTH_DIGITS:
                raise ProtocolError(
                    f"frame length has more than {_MAX_LENGTH_DIGITS} base-128 digits"
                )
        if self._frame_type == 0xFF and length == 0 and self._closing_handshake:
            # FF 00: the closing handshake (draft-hixie-76 §4.2, §5.3). It has no
            # code or reason, hence 1005; "any data on the connection after the
            # 0xFF frame is discarded".
            events.append(Close(1005, "", by_peer=True))
            self._state = _CLOSED
            return end
        if self.max_message_size is not None and length > self.max_message_size:
            raise PayloadTooBig(length, self.max_message_size, what="frame")
        self._remaining = length
        self._state = _DISCARD if length else _FRAME_START
        return pos

    @property
    def shared_framing(self) -> Hashable | None:
        """``("hixie",)``: both drafts frame text alike, unmasked, whatever the role."""
        return _HIXIE_FRAMING

    def send_text(self, data: str, final: bool = True) -> bytes:
        """Encode a text message: ``00``, the UTF-8 bytes, ``FF``.

        Args:
            data: The text.
            final: Must be ``True``: the drafts have no fragmentation.

        Returns:
            The frame's bytes.

        Raises:
            UnsupportedOperation: ``final`` is ``False``.
        """
        if not final:
            raise UnsupportedOperation(f"{self.version} has no fragmented messages", self.version)
        return b"\x00" + data.encode("utf-8") + b"\xff"

    def send_binary(self, data: bytes, final: bool = True) -> bytes:
        """Refuse: the hixie drafts have no binary messages.

        Raises:
            UnsupportedOperation: Always.
        """
        raise UnsupportedOperation(f"{self.version} has no binary messages", self.version)

    def send_ping(self, payload: bytes) -> bytes:
        """Refuse: the hixie drafts have no pings.

        Raises:
            UnsupportedOperation: Always.
        """
        raise UnsupportedOperation(f"{self.version} has no pings", self.version)

    def send_pong(self, payload: bytes) -> bytes:
        """Refuse: the hixie drafts have no pongs.

        Raises:
            UnsupportedOperation: Always.
        """
        raise UnsupportedOperation(f"{self.version} has no pongs", self.version)

    def send_close(self, code: int | None, reason: str) -> bytes:
        """Encode the draft-hixie-76 closing handshake, ``FF 00``.

        The draft has no close codes or reasons: ``code`` and ``reason`` are ignored.

        Args:
            code: Ignored.
            reason: Ignored.

        Returns:
            ``b"\\xff\\x00"``.

        Raises:
            UnsupportedOperation: On hixie-75, which has no closing handshake:
                the connection ends when either side closes the TCP stream.
        """
        if not self._closing_handshake:
            raise UnsupportedOperation("hixie-75 has no closing handshake", self.version)
        return b"\xff\x00"
