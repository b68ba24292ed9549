"""Hypothesis strategies for testing any WebSocket server or client against the RFCs.

This module needs `hypothesis <https://hypothesis.readthedocs.io/>`_: install
``wsproto_core[testing]``.

Each strategy follows the RFC section its docstring cites, and none of them
asks the core: a conformance kit that built its inputs with the code under
test could not catch that code's bugs. What is valid comes alone; what is
invalid comes paired with what a conforming peer must do about it:

* frames (RFC 6455 §5): :func:`frames` draws every header field, with
  parameters that widen each one into its forbidden values;
  :func:`valid_frames` and :func:`invalid_frames` (paired with the close code
  the receiver must fail with) are the curated cases. Frames are
  :class:`~.wire.Frame` values, which hold no role: :func:`~.wire.encode`
  masks them as the sending role requires (``wrong_mask`` the other way);
* messages and their fragments (§5.4, §5.6): :func:`messages`,
  :func:`fragmentations`, :func:`invalid_fragmentations`; reads:
  :func:`chunkings`;
* closing (§5.5.1, §7.4): :func:`close_codes`, :func:`close_payloads`,
  :func:`invalid_close_payloads`;
* UTF-8 (RFC 3629 §4): :func:`utf8_texts`, :func:`invalid_utf8`;
* the opening handshake (RFC 6455 §4, draft-hixie-76, draft-hixie-75):
  :func:`handshake_requests`, :func:`broken_handshake_requests` (paired with a
  :class:`Refusal`), :func:`handshake_responses`,
  :func:`broken_handshake_responses`;
* permessage-deflate offers (RFC 7692 §7.1): :func:`extension_offers`.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Literal, TypeVar

from hypothesis import strategies as st

from .wire import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT, Frame, ping, pong

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from hypothesis.strategies import SearchStrategy

    from ..versions import ProtocolVersion

__all__ = [
    "CONTROL_OPCODES",
    "DATA_OPCODES",
    "DEFINED_OPCODES",
    "LENGTH_EDGES",
    "RESERVED_OPCODES",
    "UTF8_EDGE_CHARACTERS",
    "Message",
    "Refusal",
    "broken_handshake_requests",
    "broken_handshake_responses",
    "chunkings",
    "close_codes",
    "close_payloads",
    "extension_offers",
    "fragmentations",
    "frames",
    "handshake_requests",
    "handshake_responses",
    "invalid_close_payloads",
    "invalid_fragmentations",
    "invalid_frames",
    "invalid_utf8",
    "messages",
    "payload_lengths",
    "utf8_texts",
    "valid_frames",
]

Message = str | bytes
"""A message: ``str`` for a text message, ``bytes`` for a binary one."""

DATA_OPCODES = (CONTINUATION, TEXT, BINARY)
"""The data opcodes RFC 6455 defines (§5.6)."""

CONTROL_OPCODES = (CLOSE, PING, PONG)
"""The control opcodes RFC 6455 defines (§5.5)."""

DEFINED_OPCODES = DATA_OPCODES + CONTROL_OPCODES
"""Every opcode RFC 6455 defines (§5.2)."""

RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
"""The opcodes RFC 6455 reserves: 3-7 for data frames, 11-15 for control frames (§5.2)."""

LENGTH_EDGES = (0, 1, 124, 125, 126, 127, 128, 65534, 65535, 65536, 65537)
"""Payload lengths around the edges of the 7, 16 and 64-bit length forms (RFC 6455 §5.2)."""

UTF8_EDGE_CHARACTERS = (
    "\x00\x7f\x80\u07ff\u0800\u20ac\ud7ff\ue000\ufdd0\ufdef\ufeff\ufffd\ufffe\uffff"
    "\U00010000\U0001f600\U0001fffe\U0001ffff\U0010fffe\U0010ffff"
)
"""Valid characters at the edges of UTF-8 (RFC 3629 §3): the last and first of each
encoded length, around the surrogates, the BOM, U+FFFD, and noncharacters (U+FDD0,
U+FFFE, U+10FFFF...), which are valid in UTF-8 and so in a text message."""

_PROTOCOL_ERROR = 1002
_INVALID_DATA = 1007
_MAX_CONTROL = 125
_MAX_REASON = 123
_LengthForm = Literal[7, 16, 64]
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_V = TypeVar("_V")


# -- frames (RFC 6455 §5.2) -----------------------------------------------------------


def payload_lengths(max_size: int = 65536) -> SearchStrategy[int]:
    """Payload lengths up to ``max_size``, clustered at the length forms' edges (RFC 6455 §5.2).

    A length under 126 takes the 7-bit form, up to 65535 the 16-bit form, and
    beyond the 64-bit form: :data:`LENGTH_EDGES` are drawn often.

    Args:
        max_size: The longest length drawn; lower it to keep payloads small.
    """
    edges = [length for length in LENGTH_EDGES if length <= max_size]
    return st.one_of(
        st.sampled_from(edges), st.integers(0, min(max_size, 300)), st.integers(0, max_size)
    )


def _filled(seed: bytes, length: int) -> bytes:
    """``seed`` repeated to exactly ``length`` bytes (``seed`` is not empty)."""
    return (seed * (length // len(seed) + 1))[:length]


def _utf8_of_length(seed: str, length: int) -> bytes:
    """Valid UTF-8 of exactly ``length`` bytes: ``seed`` repeated, cut on a character, padded."""
    unit = seed.encode("utf-8") or b"a"
    text = _filled(unit, length).decode("utf-8", "ignore")  # drops a character cut short
    encoded = text.encode("utf-8")
    return encoded + b"a" * (length - len(encoded))


def _draw_bytes(draw: st.DrawFn, length: int) -> bytes:
    """Any ``length`` bytes: drawn whole when short, a drawn pattern repeated when long."""
    if length <= 64:
        return draw(st.binary(min_size=length, max_size=length))
    return _filled(draw(st.binary(min_size=1, max_size=64)), length)


def _draw_payload(draw: st.DrawFn, opcode: int, length: int) -> bytes:
    """A payload for ``opcode`` of ``length`` bytes: UTF-8 for text; a valid close payload
    of at most ``length`` bytes."""
    if opcode == TEXT:
        return _utf8_of_length(draw(utf8_texts(max_size=16)), length)
    if opcode == CLOSE:
        if length > _MAX_CONTROL:
            return struct.pack("!H", 1000) + b"r" * (length - 2)
        payload = draw(close_payloads())
        if len(payload) <= length:
            return payload
        # Cut the reason on a character, or drop the code too when it does not fit.
        return (
            payload[:2] + payload[2:length].decode("utf-8", "ignore").encode()
            if length > 1
            else b""
        )
    return _draw_bytes(draw, length)


def _minimal_form(length: int) -> _LengthForm:
    """The length form RFC 6455 §5.2 requires: "the minimal number of bytes MUST be used"."""
    return 7 if length < 126 else 16 if length < 0x10000 else 64


def _longer_forms(length: int) -> list[_LengthForm]:
    """The length forms longer than the minimal one (non-minimal encodings)."""
    forms: list[_LengthForm] = [7, 16, 64]
    return forms[forms.index(_minimal_form(length)) + 1 :]


@st.composite
def _frames(
    draw: st.DrawFn,
    opcodes: Sequence[int],
    rsv: Sequence[int],
    fin: bool | None,
    fragmented_control: bool,
    oversized_control: bool,
    non_minimal_lengths: bool,
    wrong_mask: bool,
    max_size: int,
) -> Frame:
    opcode = draw(st.sampled_from(opcodes))
    control = bool(opcode & 0x8)
    limit = max_size if oversized_control or not control else min(max_size, _MAX_CONTROL)
    payload = _draw_payload(draw, opcode, draw(payload_lengths(limit)))
    if fin is None:
        fin = draw(st.booleans()) if fragmented_control or not control else True
    forms = _longer_forms(len(payload)) if non_minimal_lengths else []
    return Frame(
        opcode,
        payload,
        fin,
        draw(st.sampled_from(rsv)),
        length_form=draw(st.sampled_from([None, *forms])),
        wrong_mask=draw(st.booleans()) if wrong_mask else False,
    )


def frames(
    *,
    opcodes: Iterable[int] = DEFINED_OPCODES,
    rsv: Iterable[int] = (0,),
    fin: bool | None = None,
    fragmented_control: bool = False,
    oversized_control: bool = False,
    non_minimal_lengths: bool = False,
    wrong_mask: bool = False,
    max_size: int = 65536,
) -> SearchStrategy[Frame]:
    """Frames with every header field drawn, forbidden values on request (RFC 6455 §5.2).

    With the defaults each field takes the values RFC 6455 allows without an
    extension: a defined opcode, FIN either way on data frames and set on
    control frames (§5.5), no reserved bit, a payload length from
    :func:`payload_lengths` (at most 125 on control frames) in its minimal
    form, masked as the sender's role requires (§5.3). A text payload is UTF-8
    and a close payload valid (§5.5.1). Each frame is judged alone: whether a
    continuation or a frame without FIN fits depends on the frames around it
    (see :func:`fragmentations` for whole messages).

    Args:
        opcodes: The opcodes to draw from; add :data:`RESERVED_OPCODES` for reserved ones.
        rsv: The reserved bits to draw from, Autobahn's numbering (4 is RSV1); ``range(8)``
            for all.
        fin: Force the FIN bit; ``None``: either on data frames, set on control frames.
        fragmented_control: Also draw control frames without FIN (§5.5 forbids them).
        oversized_control: Let control payloads be longer than 125 bytes (§5.5 forbids it).
        non_minimal_lengths: Also draw length forms longer than needed (§5.2 forbids them).
        wrong_mask: Also draw frames masked the wrong way for their sender (§5.1 forbids it).
        max_size: The longest payload.
    """
    return _frames(
        tuple(opcodes),
        tuple(rsv),
        fin,
        fragmented_control,
        oversized_control,
        non_minimal_lengths,
        wrong_mask,
        max_size,
    )


def valid_frames(*, close: bool = False, max_size: int = 65536) -> SearchStrategy[Frame]:
    """Frames a receiver must accept whatever came before, and that leave no message open.

    Unfragmented text (UTF-8) and binary messages, pings and pongs (RFC 6455
    §5.4-§5.6): a receiver accepts any sequence of them, and of the whole
    messages of :func:`fragmentations`.

    Args:
        close: Also draw close frames with a valid payload (§5.5.1); nothing follows one.
        max_size: The longest payload.
    """
    opcodes = (TEXT, BINARY, PING, PONG, *((CLOSE,) if close else ()))
    return frames(opcodes=opcodes, fin=True, max_size=max_size)


@st.composite
def _reserved_bits(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """RSV1-3 must be 0 unless an extension defines them (RFC 6455 §5.2)."""
    frame = draw(valid_frames(close=True, max_size=max_size))
    return replace(frame, rsv=draw(st.integers(1, 7))), _PROTOCOL_ERROR


@st.composite
def _reserved_opcode(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """An unknown opcode: the receiver "MUST _Fail the WebSocket Connection_" (RFC 6455 §5.2)."""
    frame = draw(valid_frames(max_size=max_size))
    return replace(frame, opcode=draw(st.sampled_from(RESERVED_OPCODES))), _PROTOCOL_ERROR


@st.composite
def _fragmented_control(draw: st.DrawFn) -> tuple[Frame, int]:
    """A control frame without FIN: RFC 6455 §5.5 says they "MUST NOT be fragmented"."""
    frame = draw(frames(opcodes=CONTROL_OPCODES))
    return replace(frame, fin=False), _PROTOCOL_ERROR


@st.composite
def _oversized_control(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """A control frame over 125 bytes, which RFC 6455 §5.5 forbids."""
    opcode = draw(st.sampled_from(CONTROL_OPCODES))
    length = draw(st.integers(_MAX_CONTROL + 1, max(max_size, _MAX_CONTROL + 1)))
    return Frame(opcode, _draw_payload(draw, opcode, length)), _PROTOCOL_ERROR


@st.composite
def _orphan_continuation(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """A continuation frame with no message to continue (RFC 6455 §5.4)."""
    frame = draw(frames(opcodes=(CONTINUATION,), max_size=max_size))
    return frame, _PROTOCOL_ERROR


@st.composite
def _wrong_mask(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """A client masks every frame, a server none (RFC 6455 §5.1)."""
    frame = draw(valid_frames(close=True, max_size=max_size))
    return replace(frame, wrong_mask=True), _PROTOCOL_ERROR


@st.composite
def _non_minimal_length(draw: st.DrawFn, max_size: int) -> tuple[Frame, int]:
    """A length in a longer form than needed: RFC 6455 §5.2 says "the minimal number of
    bytes MUST be used to encode the length"."""
    frame = draw(valid_frames(close=True, max_size=min(max_size, 0xFFFF)))
    form = draw(st.sampled_from(_longer_forms(len(frame.payload))))
    return replace(frame, length_form=form), _PROTOCOL_ERROR


@st.composite
def _top_bit_length(draw: st.DrawFn) -> tuple[Frame, int]:
    """A 64-bit length whose "most significant bit MUST be 0" (RFC 6455 §5.2)."""
    length = draw(st.integers(2**63, 2**64 - 1))
    opcode = draw(st.sampled_from((TEXT, BINARY)))
    return Frame(opcode, b"", length=length, length_form=64), _PROTOCOL_ERROR


def _invalid_text() -> SearchStrategy[tuple[Frame, int]]:
    """A text message that is not UTF-8 fails with 1007 (RFC 6455 §8.1, §7.4.1)."""
    return invalid_utf8().map(lambda data: (Frame(TEXT, data), _INVALID_DATA))


def invalid_frames(*, max_size: int = 65536) -> SearchStrategy[tuple[Frame, int]]:
    """Frames that break one rule, each with the close code the receiver must fail with.

    Every frame is invalid whatever came before it. 1002 (protocol error, RFC
    6455 §7.4.1) for a reserved bit or opcode (§5.2), a fragmented or oversized
    control frame (§5.5), a continuation with no message (§5.4), the wrong
    masking (§5.1), a non-minimal length or one with the top bit set (§5.2), a
    1-byte close payload or a close code not allowed on the wire (§5.5.1,
    §7.4); 1007 (invalid data) for a text message or close reason that is not
    UTF-8 (§8.1).

    Args:
        max_size: The longest payload, but for the cases that need up to 125 bytes
            (close payloads, invalid UTF-8) and oversized control frames (drawn
            only when ``max_size`` is over 125).
    """
    broken = [
        _reserved_bits(max_size),
        _reserved_opcode(max_size),
        _fragmented_control(),
        _orphan_continuation(max_size),
        _wrong_mask(max_size),
        _non_minimal_length(max_size),
        _top_bit_length(),
        _invalid_text(),
        invalid_close_payloads().map(lambda pair: (Frame(CLOSE, pair[0]), pair[1])),
    ]
    if max_size > _MAX_CONTROL:
        broken.append(_oversized_control(max_size))
    return st.one_of(broken)


# -- messages and fragments (RFC 6455 §5.4, §5.6) -------------------------------------


def messages(*, max_size: int = 1024) -> SearchStrategy[Message]:
    """Text (``str``, any characters of :func:`utf8_texts`) or binary (``bytes``) messages.

    Args:
        max_size: The most characters of a text message, bytes of a binary one.
    """
    return st.one_of(utf8_texts(max_size=max_size), st.binary(max_size=max_size))


def _control_frames() -> SearchStrategy[Frame]:
    """A ping or a pong, as may come between the fragments of a message (RFC 6455 §5.4)."""
    payloads = st.binary(max_size=_MAX_CONTROL)
    return st.one_of(payloads.map(ping), payloads.map(pong))


@st.composite
def _fragmentations(
    draw: st.DrawFn, message: Message | None, interleave: bool, max_fragments: int
) -> tuple[Message, list[Frame]]:
    if message is None:
        message = draw(messages())
    data = message.encode("utf-8") if isinstance(message, str) else message
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=max_fragments - 1))
    bounds = [0, *sorted(cuts), len(data)]
    last = len(bounds) - 2
    carried: list[Frame] = []
    for index, (start, stop) in enumerate(pairwise(bounds)):
        if index and interleave:
            carried += draw(st.lists(_control_frames(), max_size=2))
        opcode = CONTINUATION if index else TEXT if isinstance(message, str) else BINARY
        carried.append(Frame(opcode, data[start:stop], fin=index == last))
    return message, carried


def fragmentations(
    message: Message | None = None, *, interleave: bool = True, max_fragments: int = 8
) -> SearchStrategy[tuple[Message, list[Frame]]]:
    """A message and frames that carry it: one frame, or fragments (RFC 6455 §5.4).

    The first frame is text or binary, the others continuations; only the last
    has FIN. Fragments may be empty, and a text message is cut anywhere, so a
    character may be split across frames (§5.6: the message, not the frame, is
    UTF-8). Pings and pongs may come between fragments (§5.4: "Control frames
    MAY be injected in the middle of a fragmented message").

    Args:
        message: The message to carry; ``None`` draws one from :func:`messages`.
        interleave: Put pings and pongs between fragments.
        max_fragments: The most data frames.
    """
    return _fragmentations(message, interleave, max(max_fragments, 1))


@st.composite
def _intruding_data_frame(draw: st.DrawFn) -> tuple[list[Frame], int]:
    """A new message's frame before the fragmented one ends (RFC 6455 §5.4)."""
    _, carried = draw(fragmentations(max_fragments=8).filter(lambda pair: len(pair[1]) > 1))
    intruder = draw(frames(opcodes=(TEXT, BINARY), max_size=200))
    at = draw(st.integers(1, len(carried) - 1))
    return [*carried[:at], intruder, *carried[at:]], _PROTOCOL_ERROR


@st.composite
def _fragmented_invalid_text(draw: st.DrawFn) -> tuple[list[Frame], int]:
    """A text message that is not UTF-8, in fragments (RFC 6455 §8.1): 1007."""
    _, carried = draw(fragmentations(draw(invalid_utf8())))
    first = replace(carried[0], opcode=TEXT)  # the bytes were carried as binary
    return [first, *carried[1:]], _INVALID_DATA


def invalid_fragmentations() -> SearchStrategy[tuple[list[Frame], int]]:
    """Fragmented messages that break a rule, with the close code to fail with.

    1002 for a text or binary frame inside a fragmented message (RFC 6455 §5.4:
    the fragments of one message come in order, unmixed with another's); 1007
    for a text message that is not UTF-8, however it is cut (§8.1). A receiver
    should fail as soon as the bad byte arrives, not at the end of the message.
    """
    return st.one_of(_intruding_data_frame(), _fragmented_invalid_text())


@st.composite
def _chunkings(draw: st.DrawFn, data: bytes, max_pieces: int | None) -> list[bytes]:
    if len(data) < 2:
        return [data] if data else []
    most = None if max_pieces is None else max(max_pieces, 1) - 1
    cuts = draw(st.sets(st.integers(1, len(data) - 1), max_size=most))
    bounds = [0, *sorted(cuts), len(data)]
    return [data[start:stop] for start, stop in pairwise(bounds)]


def chunkings(data: bytes, *, max_pieces: int | None = None) -> SearchStrategy[list[bytes]]:
    """Ways to cut ``data`` into non-empty reads, as a stream may deliver it.

    TCP keeps no message boundaries (RFC 6455 §5.1 frames lie on a stream):
    every cut is possible, one read or one byte per read. An empty ``data`` is no
    read at all (an empty read means the end of the stream).

    Args:
        data: The bytes to cut.
        max_pieces: The most reads; ``None`` for no limit.
    """
    return _chunkings(data, max_pieces)


# -- closing (RFC 6455 §5.5.1, §7.4) --------------------------------------------------

_VALID_CODE_EDGES = (*range(1000, 1004), *range(1007, 1015), 3000, 3999, 4000, 4999)
_INVALID_CODE_EDGES = (0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1999, 2000, 2999, 5000, 65535)


def close_codes(valid: bool = True) -> SearchStrategy[int]:
    """Close codes that may, or may not, travel in a close frame (RFC 6455 §7.4).

    Valid: 1000-1003 and 1007-1014 (registered, §7.4.1 and the IANA registry)
    and 3000-4999 (for libraries and applications, §7.4.2). Invalid: below
    1000, 1004 (reserved), 1005, 1006 and 1015 (never on the wire), 1016-2999
    (reserved for the protocol) and 5000-65535 (undefined): a receiver fails
    with 1002.

    Args:
        valid: Draw the valid codes, or the invalid ones.
    """
    if valid:
        return st.one_of(st.sampled_from(_VALID_CODE_EDGES), st.integers(3000, 4999))
    return st.one_of(
        st.sampled_from(_INVALID_CODE_EDGES),
        st.integers(0, 999),
        st.integers(1016, 2999),
        st.integers(5000, 65535),
    )


def _reasons() -> SearchStrategy[bytes]:
    """UTF-8 close reasons of at most 123 bytes: a close payload fits in 125 (RFC 6455 §5.5)."""
    return utf8_texts(max_size=_MAX_REASON).map(
        lambda text: text.encode("utf-8")[:_MAX_REASON].decode("utf-8", "ignore").encode("utf-8")
    )


def _close_payload(code: int, reason: bytes) -> bytes:
    return struct.pack("!H", code) + reason


def close_payloads() -> SearchStrategy[bytes]:
    """Valid close frame payloads (RFC 6455 §5.5.1).

    Empty (no status code: the receiver reports 1005), or a valid code from
    :func:`close_codes` in network byte order followed by a UTF-8 reason of at
    most 123 bytes.
    """
    return st.one_of(st.just(b""), st.builds(_close_payload, close_codes(), _reasons()))


def invalid_close_payloads() -> SearchStrategy[tuple[bytes, int]]:
    """Close payloads a receiver must refuse, with the close code to fail with.

    1002 for a 1-byte payload (RFC 6455 §5.5.1: a body starts with a 2-byte
    code) or a code not allowed on the wire (§7.4); 1007 for a reason that is
    not UTF-8 (§5.5.1, §8.1).
    """
    return st.one_of(
        st.binary(min_size=1, max_size=1).map(lambda data: (data, _PROTOCOL_ERROR)),
        st.builds(_close_payload, close_codes(valid=False), _reasons()).map(
            lambda data: (data, _PROTOCOL_ERROR)
        ),
        st.builds(_close_payload, close_codes(), invalid_utf8()).map(
            lambda data: (data, _INVALID_DATA)
        ),
    )


# -- UTF-8 (RFC 3629) -----------------------------------------------------------------


def utf8_texts(*, min_size: int = 0, max_size: int = 64) -> SearchStrategy[str]:
    """Texts of any Unicode scalar values, edge characters drawn often (RFC 3629 §3).

    Every character but the surrogates, which UTF-8 cannot encode: 1 to 4-byte
    encodings, U+FFFF, U+10FFFF and the other noncharacters, which are valid
    (Unicode §23.7) and so must be accepted in a text message (RFC 6455 §5.6).
    See :data:`UTF8_EDGE_CHARACTERS`.

    Args:
        min_size: The fewest characters.
        max_size: The most characters.
    """
    # A list, not st.text(): hypothesis merges the alphabet into one range of
    # characters, and the edge characters would come no more often than any other.
    characters = st.one_of(st.sampled_from(UTF8_EDGE_CHARACTERS), st.characters(codec="utf-8"))
    return st.lists(characters, min_size=min_size, max_size=max_size).map("".join)


_CONTINUATION_BYTES = st.integers(0x80, 0xBF)


def _byte_strings(*parts: SearchStrategy[int]) -> SearchStrategy[bytes]:
    return st.tuples(*parts).map(lambda values: bytes(values))


def _truncated_sequences() -> SearchStrategy[bytes]:
    """The first bytes of a 2, 3 or 4-byte character, without the rest."""
    encoded = st.characters(min_codepoint=0x80, codec="utf-8").map(lambda c: c.encode("utf-8"))
    return encoded.flatmap(lambda raw: st.integers(1, len(raw) - 1).map(lambda n: raw[:n]))


def _ill_formed_sequences() -> SearchStrategy[bytes]:
    """Byte sequences no UTF-8 text contains at that place (RFC 3629 §4, §10)."""
    cont = _CONTINUATION_BYTES
    return st.one_of(
        # Overlong: a character encoded in more bytes than needed.
        _byte_strings(st.sampled_from((0xC0, 0xC1)), cont),
        _byte_strings(st.just(0xE0), st.integers(0x80, 0x9F), cont),
        _byte_strings(st.just(0xF0), st.integers(0x80, 0x8F), cont, cont),
        # UTF-16 surrogates, U+D800 to U+DFFF.
        _byte_strings(st.just(0xED), st.integers(0xA0, 0xBF), cont),
        # Beyond U+10FFFF.
        _byte_strings(st.just(0xF4), st.integers(0x90, 0xBF), cont, cont),
        _byte_strings(st.integers(0xF5, 0xF7), cont, cont, cont),
        # A character cut short, continuation bytes with no lead, bytes never in UTF-8.
        _truncated_sequences(),
        st.lists(cont, min_size=1, max_size=3).map(bytes),
        _byte_strings(st.integers(0xF5, 0xFF)),
    )


@st.composite
def _invalid_utf8(draw: st.DrawFn) -> bytes:
    prefix = draw(utf8_texts(max_size=8)).encode("utf-8")
    suffix = draw(utf8_texts(max_size=8)).encode("utf-8")
    return prefix + draw(_ill_formed_sequences()) + suffix


def invalid_utf8() -> SearchStrategy[bytes]:
    """Bytes that are not UTF-8, under 70 of them (so one fits in a close reason).

    Valid text around one ill-formed sequence (RFC 3629 §3, §4, §10): an overlong
    encoding, a surrogate (``ED A0 80`` to ``ED BF BF``), a code point beyond
    U+10FFFF, a character cut short, a continuation byte with no lead byte, or
    a byte that never occurs in UTF-8 (``C0``, ``C1``, ``F5`` to ``FF``). The
    whole is invalid wherever it ends, so it also makes invalid close reasons.
    """
    return _invalid_utf8()


# -- the opening handshake (RFC 6455 §4; draft-hixie-76; draft-hixie-75) --------------

_HOSTS = ("example.com", "example.com:8080", "localhost:9001", "127.0.0.1", "[::1]:8000")
_ORIGINS = ("http://example.com", "https://example.com:8443", "null")
_SUBPROTOCOL_NAMES = ("chat", "superchat", "v2.json", "mqtt", "x-custom")
_EXTRA_HEADERS = (
    ("User-Agent", "wsproto_core.testing"),
    ("Cache-Control", "no-cache"),
    ("Pragma", "no-cache"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Accept-Language", "en"),
)
_TARGETS = st.from_regex(r"/[a-z0-9_.~-]{0,12}(\?[a-z0-9=&]{1,12})?", fullmatch=True)
"""Request targets: a path, and a query or not (RFC 6455 §3 /resource name/)."""
_HIXIE_JUNK = "".join(chr(c) for c in (*range(0x21, 0x30), *range(0x3A, 0x7F)))
"""draft-hixie-76 §4.1 step 18: the characters a key hides its number among."""
_MAX_KEY_NUMBER = 4294967295

_Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Refusal:
    """What a server must answer to a broken handshake request.

    Attributes:
        statuses: The HTTP statuses that answer it rightly (RFC 6455 §4.2.1 lets a
            server pick "an appropriate error code (such as 400 Bad Request)").
        headers: Names of headers the response must carry (lower-case).
        problem: What is wrong with the request, for a test report.
    """

    statuses: frozenset[int]
    headers: tuple[str, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class _Request:
    """A request being built: the head's parts, then the bytes after it (hixie-76 key3)."""

    headers: tuple[tuple[str, str], ...]
    target: str = "/"
    method: str = "GET"
    http_version: str = "1.1"
    after: bytes = b""

    def encode(self) -> bytes:
        start = f"{self.method} {self.target} HTTP/{self.http_version}"
        return _http_head(start, self.headers) + self.after


def _http_head(start: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 head (RFC 9112 §2.1): the start line, the header lines, an empty line."""
    lines = [start, *(f"{name}: {value}" if value else f"{name}:" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _without(headers: Iterable[tuple[str, _V]], name: str) -> list[tuple[str, _V]]:
    return [(key, value) for key, value in headers if key.lower() != name]


def _with(headers: Iterable[tuple[str, str]], name: str, value: str) -> _Headers:
    """``headers`` with the header ``name`` (lower-case) set to ``value``, in its place."""
    return [(key, value if key.lower() == name else old) for key, old in headers]


def _cased(draw: st.DrawFn, headers: _Headers) -> _Headers:
    """Header names in a drawn case: they are case-insensitive (RFC 9110 §5.1)."""
    case: Callable[[str], str] = draw(st.sampled_from((str.title, str.lower, str.upper)))
    return [(case(name), value) for name, value in headers]


def _key() -> SearchStrategy[str]:
    """A ``Sec-WebSocket-Key``: base64 of 16 random bytes (RFC 6455 §4.1 item 7)."""
    return st.binary(min_size=16, max_size=16).map(lambda raw: base64.b64encode(raw).decode())


@st.composite
def _rfc6455_request(draw: st.DrawFn, version: int) -> _Request:
    """A client's opening handshake (RFC 6455 §4.1; hybi-07 and -08 name the origin differently)."""
    headers = [
        ("Host", draw(st.sampled_from(_HOSTS))),
        ("Upgrade", draw(st.sampled_from(("websocket", "WebSocket", "websocket, foo/1")))),
        ("Connection", draw(st.sampled_from(("Upgrade", "upgrade", "keep-alive, Upgrade")))),
        ("Sec-WebSocket-Key", draw(_key())),
        ("Sec-WebSocket-Version", str(version)),
    ]
    origin = draw(st.none() | st.sampled_from(_ORIGINS))
    if origin is not None:
        names = ("Origin",) if version == 13 else ("Sec-WebSocket-Origin", "Origin")
        headers.append((draw(st.sampled_from(names[: 1 if version == 7 else 2])), origin))
    protocols = draw(st.lists(st.sampled_from(_SUBPROTOCOL_NAMES), unique=True, max_size=3))
    if protocols:
        headers.append(("Sec-WebSocket-Protocol", ", ".join(protocols)))
    if version == 13 and draw(st.booleans()):
        headers.append(("Sec-WebSocket-Extensions", draw(_deflate_offer(valid=True))))
    headers += draw(st.lists(st.sampled_from(_EXTRA_HEADERS), unique=True, max_size=2))
    target = draw(_TARGETS)
    return _Request(tuple(_cased(draw, draw(st.permutations(headers)))), target)


@st.composite
def _hixie_key(draw: st.DrawFn) -> str:
    """A ``Sec-WebSocket-KeyN`` as draft-hixie-76 §4.1 steps 16-20 make it."""
    spaces = draw(st.integers(1, 12))
    number = draw(st.integers(0, _MAX_KEY_NUMBER // spaces)) * spaces
    chars = list(str(number))
    for _ in range(draw(st.integers(1, 12))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(_HIXIE_JUNK)))
    for _ in range(spaces):  # never first or last: HTTP would strip them
        chars.insert(draw(st.integers(1, len(chars) - 1)), " ")
    return "".join(chars)


@st.composite
def _hixie_request(draw: st.DrawFn, version: str) -> _Request:
    """A draft-hixie-76 request (§4.1: keys, then key3) or a draft-hixie-75 one (no keys)."""
    headers = [
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("Host", draw(st.sampled_from(_HOSTS))),
        ("Origin", draw(st.sampled_from(_ORIGINS))),
    ]
    protocol = draw(st.none() | st.sampled_from(_SUBPROTOCOL_NAMES))
    if version == "hixie-75":  # fields in the draft's order
        if protocol is not None:
            headers.append(("WebSocket-Protocol", protocol))
        return _Request(tuple(headers), draw(_TARGETS))
    headers += [
        ("Sec-WebSocket-Key1", draw(_hixie_key())),
        ("Sec-WebSocket-Key2", draw(_hixie_key())),
    ]
    if protocol is not None:
        headers.append(("Sec-WebSocket-Protocol", protocol))
    key3 = draw(st.binary(min_size=8, max_size=8))
    return _Request(tuple(draw(st.permutations(headers))), draw(_TARGETS), after=key3)


def _requests(version: ProtocolVersion) -> SearchStrategy[_Request]:
    if version in ("hixie-76", "hixie-75"):
        return _hixie_request(version)
    if version in (13, 8, 7):
        return _rfc6455_request(version)
    raise ValueError(f"no handshake for version {version!r}: 13, 8, 7, 'hixie-76' or 'hixie-75'")


def handshake_requests(version: ProtocolVersion = 13) -> SearchStrategy[bytes]:
    """Valid opening handshake requests, as raw bytes (RFC 6455 §4.1, §4.2.1).

    Versions 13, 8 and 7 (the hybi drafts 07 and 08 send ``Sec-WebSocket-Origin``)
    vary the header order and the names' case, the ``Upgrade`` and
    ``Connection`` tokens' case and company, the target, host, origin and
    subprotocols, a valid permessage-deflate offer (version 13 only, RFC 7692),
    and unrelated headers. ``"hixie-76"`` sends two keys and the 8 bytes of key3
    after the head (draft-hixie-76 §4.1); ``"hixie-75"`` neither, its fields in
    the draft's order (a server accepts it only when told to).

    Args:
        version: The protocol version the request asks for.

    Raises:
        ValueError: ``version`` is none of these.
    """
    return _requests(version).map(_Request.encode)


def _no_upgrade(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    headers = _without(request.headers, "upgrade")
    if draw(st.booleans()):
        headers.append(("Upgrade", draw(st.sampled_from(("h2c", "websocket2", "TLS/1.0")))))
    refusal = Refusal(frozenset({400, 426}), (), "no Upgrade: websocket (RFC 6455 §4.2.1 item 3)")
    return replace(request, headers=tuple(headers)), refusal


def _no_connection_upgrade(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    headers = _without(request.headers, "connection")
    if draw(st.booleans()):
        headers.append(("Connection", "keep-alive"))
    refusal = Refusal(frozenset({400}), (), "no Connection: Upgrade (RFC 6455 §4.2.1 item 4)")
    return replace(request, headers=tuple(headers)), refusal


def _not_get(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    method = draw(st.sampled_from(("POST", "PUT", "DELETE", "PATCH", "OPTIONS")))
    refusal = Refusal(frozenset({400, 405}), (), "not a GET (RFC 6455 §4.2.1 item 1)")
    return replace(request, method=method), refusal


def _http_10(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    refusal = Refusal(frozenset({400, 505}), (), "HTTP/1.0 (RFC 6455 §4.2.1 item 1)")
    return replace(request, http_version="1.0"), refusal


def _no_host(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    refusal = Refusal(frozenset({400}), (), "no Host (RFC 6455 §4.2.1 item 2, RFC 9112 §3.2)")
    return replace(request, headers=tuple(_without(request.headers, "host"))), refusal


def _bad_key(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    short = st.integers(0, 32).filter(lambda n: n != 16).map(lambda n: base64.b64encode(bytes(n)))
    odd = st.sampled_from(("not base64!", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNh bXBsZSBub25jZQ=="))
    key = draw(st.one_of(short.map(bytes.decode), odd))
    headers = _with(request.headers, "sec-websocket-key", key)
    refusal = Refusal(frozenset({400}), (), "a key not base64 of 16 bytes (RFC 6455 §4.2.1 item 5)")
    return replace(request, headers=tuple(headers)), refusal


def _no_key(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    headers = _without(request.headers, "sec-websocket-key")
    refusal = Refusal(frozenset({400}), (), "no Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5)")
    return replace(request, headers=tuple(headers)), refusal


def _two_keys(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    headers = [*request.headers, ("Sec-WebSocket-Key", draw(_key()))]
    refusal = Refusal(frozenset({400}), (), "two Sec-WebSocket-Key headers (RFC 6455 §11.3.1)")
    return replace(request, headers=tuple(headers)), refusal


def _unsupported_version(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    # 9-12 were never used (hybi-09 to -12 sent 8), 14 and above are unassigned.
    number = st.one_of(st.integers(9, 12), st.integers(14, 255)).map(str)
    version = draw(st.one_of(number, st.sampled_from(("abc", "13.0", "0x0d"))))
    headers = _with(request.headers, "sec-websocket-version", version)
    refusal = Refusal(
        frozenset({426}),
        ("sec-websocket-version",),
        f"unsupported version {version!r} (RFC 6455 §4.2.2, §4.4)",
    )
    return replace(request, headers=tuple(headers)), refusal


def _no_version(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    headers = _without(request.headers, "sec-websocket-version")
    refusal = Refusal(
        frozenset({400, 426}), (), "no Sec-WebSocket-Version (RFC 6455 §4.2.1 item 6)"
    )
    return replace(request, headers=tuple(headers)), refusal


def _malformed_header(draw: st.DrawFn, request: _Request) -> tuple[_Request, Refusal]:
    # Not a token as a name, or whitespace before the colon: RFC 9112 §5.1 says 400.
    bad = draw(st.sampled_from((("Bad Header", "x"), ("", "no name"), ("X-Space ", "x"))))
    headers = [*request.headers, bad]
    refusal = Refusal(frozenset({400}), (), "a malformed header line (RFC 9112 §5.1)")
    return replace(request, headers=tuple(headers)), refusal


_REQUEST_BREAKS = (
    _no_upgrade,
    _no_connection_upgrade,
    _not_get,
    _http_10,
    _no_host,
    _bad_key,
    _no_key,
    _two_keys,
    _unsupported_version,
    _no_version,
    _malformed_header,
)


@st.composite
def _broken_hixie_key(draw: st.DrawFn) -> str:
    """A key breaking draft-hixie-76 §5.2: no spaces, a number not a multiple of them, too big."""
    kind = draw(st.sampled_from(("no spaces", "not a multiple", "too big")))
    if kind == "no spaces":
        return f"{draw(st.integers(0, _MAX_KEY_NUMBER))}x"
    spaces = draw(st.integers(2 if kind == "not a multiple" else 1, 12))
    if kind == "not a multiple":
        base = draw(st.integers(0, _MAX_KEY_NUMBER // spaces - 1)) * spaces
        number = base + draw(st.integers(1, spaces - 1))
    else:
        number = draw(st.integers(_MAX_KEY_NUMBER // spaces + 1, 10**11)) * spaces
    return f"x{' ' * spaces}{number}"


@st.composite
def _broken_hixie76(draw: st.DrawFn) -> tuple[bytes, Refusal]:
    request = draw(_hixie_request("hixie-76"))
    name = draw(st.sampled_from(("sec-websocket-key1", "sec-websocket-key2")))
    key = draw(_broken_hixie_key())
    headers = _with(request.headers, name, key)
    refusal = Refusal(frozenset({400, 426}), (), f"a hixie-76 key {key!r} (draft-hixie-76 §5.2)")
    return replace(request, headers=tuple(headers)).encode(), refusal


@st.composite
def _broken_rfc6455(draw: st.DrawFn) -> tuple[bytes, Refusal]:
    request = draw(_rfc6455_request(13))
    broken, refusal = draw(st.sampled_from(_REQUEST_BREAKS))(draw, request)
    return broken.encode(), refusal


def broken_handshake_requests() -> SearchStrategy[tuple[bytes, Refusal]]:
    """Handshake requests that break one rule, each with the :class:`Refusal` it deserves.

    A valid version 13 request (see :func:`handshake_requests`) with one thing
    wrong (RFC 6455 §4.2.1): no ``Upgrade: websocket`` (400 or 426), no
    ``Connection: Upgrade`` (400), another method (400 or 405), HTTP/1.0 (400 or
    505), no ``Host`` (400), a missing, malformed or repeated key (400), an
    unsupported version (426 with ``Sec-WebSocket-Version``, §4.4), no version
    (400 or 426), a malformed header line (400); or a draft-hixie-76 request
    with a broken key (400, or 426 from a server without hixie-76).
    """
    return st.one_of(_broken_rfc6455(), _broken_hixie76())


@dataclass(frozen=True)
class _Response:
    """A response being built: the status line, the headers, the bytes after the head."""

    start: str
    headers: tuple[tuple[str, str], ...]
    after: bytes = b""

    def encode(self) -> bytes:
        return _http_head(self.start, self.headers) + self.after


@dataclass(frozen=True)
class _ParsedRequest:
    """What a response depends on in the request it answers."""

    version: str
    target: str
    headers: dict[str, list[str]]
    after: bytes

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


def _parse_request(request: bytes) -> _ParsedRequest:
    """Read a request head leniently: the target, the headers by lower-case name, what follows."""
    head, _, after = request.partition(b"\r\n\r\n")
    start, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "sec-websocket-key1" in headers:
        version = "hixie-76"
    else:
        version = headers.get("sec-websocket-version", ["hixie-75"])[0]
    return _ParsedRequest(version, start.split(" ")[1], headers, after[:8])


def _accept(key: str) -> str:
    """``Sec-WebSocket-Accept``: base64 of SHA-1 of the key and the GUID (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((key + _GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _hixie_part(value: str) -> int:
    """The number a draft-hixie-76 key hides: its digits divided by its spaces (§5.2)."""
    return int("".join(c for c in value if c.isdigit())) // value.count(" ")


def _hixie_answer(request: _ParsedRequest) -> bytes:
    """The server's 16 bytes: MD5 of both keys' numbers and key3 (draft-hixie-76 §5.2)."""
    parts = [_hixie_part(request.first(f"sec-websocket-key{n}") or "") for n in (1, 2)]
    return hashlib.md5(struct.pack(">II", *parts) + request.after, usedforsecurity=False).digest()


def _offered_subprotocols(request: _ParsedRequest) -> list[str]:
    values = request.headers.get("sec-websocket-protocol", [])
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@st.composite
def _rfc6455_response(draw: st.DrawFn, request: _ParsedRequest) -> _Response:
    """A 101 that accepts the request (RFC 6455 §4.2.2 item 5), choosing no extension."""
    headers = [
        ("Upgrade", draw(st.sampled_from(("websocket", "WebSocket")))),
        ("Connection", draw(st.sampled_from(("Upgrade", "upgrade")))),
        ("Sec-WebSocket-Accept", _accept(request.first("sec-websocket-key") or "")),
    ]
    offered = _offered_subprotocols(request)
    choose = draw(st.booleans())
    if offered and choose:
        headers.append(("Sec-WebSocket-Protocol", draw(st.sampled_from(offered))))
    headers += draw(st.lists(st.sampled_from(_EXTRA_HEADERS[:3]), unique=True, max_size=2))
    reason = draw(st.sampled_from(("Switching Protocols", "Web Socket Protocol Handshake", "OK")))
    headers = _cased(draw, draw(st.permutations(headers)))
    return _Response(f"HTTP/1.1 101 {reason}", tuple(headers))


def _hixie_response(request: _ParsedRequest) -> _Response:
    """The 101 of draft-hixie-76 (§5.2, with the challenge's answer) or of draft-hixie-75."""
    draft76 = request.version == "hixie-76"
    prefix = "Sec-WebSocket-" if draft76 else "WebSocket-"
    headers = [("Upgrade", "WebSocket"), ("Connection", "Upgrade")]
    origin = request.first("origin")
    if origin is not None:
        headers.append((f"{prefix}Origin", origin))
    headers.append((f"{prefix}Location", f"ws://{request.first('host')}{request.target}"))
    protocol = request.first(f"{prefix.lower()}protocol")
    if protocol:
        headers.append((f"{prefix}Protocol", protocol))
    space = "" if draft76 else " "
    return _Response(
        f"HTTP/1.1 101 Web{space}Socket Protocol Handshake",
        tuple(headers),
        _hixie_answer(request) if draft76 else b"",
    )


def _responses(request: bytes) -> SearchStrategy[_Response]:
    parsed = _parse_request(request)
    if parsed.version.startswith("hixie"):
        return st.just(_hixie_response(parsed))
    return _rfc6455_response(parsed)


def handshake_responses(request: bytes) -> SearchStrategy[bytes]:
    """Valid 101 responses to ``request``, as raw bytes, for testing a client.

    For versions 13, 8 and 7 (RFC 6455 §4.2.2 item 5): ``Upgrade`` and
    ``Connection`` in any case, the ``Sec-WebSocket-Accept`` that answers the
    key, one of the offered subprotocols or none, no extension (a client
    must do without one), unrelated headers, the header order and names'
    case, and the reason phrase (HTTP does not read it) drawn. For the hixie
    drafts, the draft's response: draft-hixie-76 §5.2 with the 16-byte answer
    to the key challenge after the head.

    Args:
        request: A client's request, with key3 after it for draft-hixie-76
            (as :func:`handshake_requests` makes it).
    """
    return _responses(request).map(_Response.encode)


def _response_without(response: _Response, name: str) -> _Response:
    return replace(response, headers=tuple(_without(response.headers, name)))


def _response_with(response: _Response, name: str, value: str) -> _Response:
    headers = [*_without(response.headers, name.lower()), (name, value)]
    return replace(response, headers=tuple(headers))


def _bad_upgrade(draw: st.DrawFn, response: _Response) -> _Response:
    """No ``Upgrade: websocket``: RFC 6455 §4.1, the client's item 2."""
    if draw(st.booleans()):
        return _response_without(response, "upgrade")
    return _response_with(response, "Upgrade", draw(st.sampled_from(("h2c", "websocket2"))))


def _bad_connection(draw: st.DrawFn, response: _Response) -> _Response:
    """No ``Connection: Upgrade``: RFC 6455 §4.1, the client's item 3."""
    if draw(st.booleans()):
        return _response_without(response, "connection")
    return _response_with(response, "Connection", "keep-alive")


def _unoffered_subprotocol(draw: st.DrawFn, response: _Response) -> _Response:
    """A subprotocol the client did not offer: RFC 6455 §4.1, the client's item 6."""
    hixie75 = any(name.lower().startswith("websocket-") for name, _ in response.headers)
    prefix = "WebSocket-" if hixie75 else "Sec-WebSocket-"
    return _response_with(response, f"{prefix}Protocol", "x-not-offered")


def _bad_accept(draw: st.DrawFn, response: _Response) -> _Response:
    """A missing or wrong ``Sec-WebSocket-Accept``: RFC 6455 §4.1, the client's item 4."""
    accept = next(v for n, v in response.headers if n.lower() == "sec-websocket-accept")
    if draw(st.booleans()):
        return _response_without(response, "sec-websocket-accept")
    wrong = st.one_of(
        _key().map(_accept),  # the answer to another key
        st.sampled_from((accept.lower(), accept.rstrip("="), f"{accept}, {accept}")),
    )
    return _response_with(response, "Sec-WebSocket-Accept", draw(wrong.filter(accept.__ne__)))


def _unoffered_extension(draw: st.DrawFn, response: _Response) -> _Response:
    """An extension the client did not offer: RFC 6455 §4.1, the client's item 5."""
    name = draw(st.sampled_from(("x-unknown-extension", "x-webkit-deflate-frame")))
    return _response_with(response, "Sec-WebSocket-Extensions", name)


def _wrong_answer(draw: st.DrawFn, response: _Response) -> _Response:
    """A wrong answer to the key challenge (draft-hixie-76 §4.1, step 41 of the client)."""
    index = draw(st.integers(0, len(response.after) - 1))
    flipped = response.after[index] ^ draw(st.integers(1, 255))
    after = response.after[:index] + bytes([flipped]) + response.after[index + 1 :]
    return replace(response, after=after)


_RESPONSE_BREAKS = (_bad_upgrade, _bad_connection, _unoffered_subprotocol)


@st.composite
def _broken_responses(draw: st.DrawFn, request: bytes) -> bytes:
    parsed = _parse_request(request)
    response = draw(_responses(request))
    breaks = list(_RESPONSE_BREAKS)
    if parsed.version == "hixie-76":
        breaks.append(_wrong_answer)
    elif not parsed.version.startswith("hixie"):
        breaks += [_bad_accept, _unoffered_extension]
    return draw(st.sampled_from(breaks))(draw, response).encode()


def broken_handshake_responses(request: bytes) -> SearchStrategy[bytes]:
    """101 responses to ``request`` that break one rule: the client must fail the connection.

    A valid response (see :func:`handshake_responses`) with one thing wrong
    (RFC 6455 §4.1, the client's items 1-6): no or another ``Upgrade``, no
    ``Connection: Upgrade``, a subprotocol that was not offered; for versions
    13, 8 and 7 also a missing or wrong ``Sec-WebSocket-Accept`` or an
    extension that was not offered; for draft-hixie-76 a wrong answer to the
    key challenge.

    Args:
        request: A client's request, with key3 after it for draft-hixie-76.
    """
    return _broken_responses(request)


# -- permessage-deflate offers (RFC 7692 §7.1) ----------------------------------------

_DEFLATE_PARAMS = (
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
)
_Params = list[tuple[str, "str | None"]]


def _window_bits(values: SearchStrategy[str]) -> SearchStrategy[str]:
    """A value as a token or as a quoted-string, which RFC 7692 §7.1 allows both."""
    return values.flatmap(lambda value: st.sampled_from((value, f'"{value}"')))


@st.composite
def _deflate_params(draw: st.DrawFn) -> _Params:
    """Each parameter at most once, in any order, with a valid value (RFC 7692 §7.1)."""
    params: _Params = []
    for name in draw(st.lists(st.sampled_from(_DEFLATE_PARAMS), unique=True)):
        if name.endswith("takeover") or (name == "client_max_window_bits" and draw(st.booleans())):
            params.append((name, None))
        else:
            params.append((name, draw(_window_bits(st.integers(8, 15).map(str)))))
    return params


def _repeated(draw: st.DrawFn, params: _Params) -> _Params:
    """§7.1: an offer with a parameter twice is declined."""
    param = draw(st.sampled_from(params)) if params else ("server_no_context_takeover", None)
    params = params or [param]
    return [*params[:1], param, *params[1:]] if draw(st.booleans()) else [*params, param]


def _unknown(draw: st.DrawFn, params: _Params) -> _Params:
    """§7.1: an offer with a parameter this document does not define is declined."""
    names = ("x_unknown", "max_window_bits", "server_max_window", "no_context_takeover")
    return [*params, (draw(st.sampled_from(names)), draw(st.none() | st.just("10")))]


def _out_of_range(draw: st.DrawFn, params: _Params) -> _Params:
    """§7.1.2: window bits are 8 to 15, in decimal without leading zeros."""
    name = draw(st.sampled_from(_DEFLATE_PARAMS[2:]))
    numbers = st.one_of(st.integers(0, 7), st.integers(16, 99)).map(str)
    value = draw(_window_bits(st.one_of(numbers, st.sampled_from(("08", "1a", "-1", "15.0")))))
    return [*_without(params, name), (name, value)]


def _valued_flag(draw: st.DrawFn, params: _Params) -> _Params:
    """§7.1.1: the context takeover parameters have no value."""
    name = draw(st.sampled_from(_DEFLATE_PARAMS[:2]))
    return [*_without(params, name), (name, draw(st.sampled_from(("1", "true", '"1"'))))]


def _bare_server_bits(draw: st.DrawFn, params: _Params) -> _Params:
    """§7.1.2.1: ``server_max_window_bits`` has a value."""
    return [*_without(params, "server_max_window_bits"), ("server_max_window_bits", None)]


_OFFER_BREAKS = (_repeated, _unknown, _out_of_range, _valued_flag, _bare_server_bits)


@st.composite
def _deflate_offer(draw: st.DrawFn, valid: bool) -> str:
    params = draw(_deflate_params())
    if not valid:
        params = draw(st.sampled_from(_OFFER_BREAKS))(draw, params)
    separator = draw(st.sampled_from(("; ", ";", " ; ")))
    items = [name if value is None else f"{name}={value}" for name, value in params]
    return separator.join(["permessage-deflate", *items])


def extension_offers() -> SearchStrategy[tuple[str, bool]]:
    """``Sec-WebSocket-Extensions`` offers of permessage-deflate, with whether they are acceptable.

    Acceptable (RFC 7692 §7.1): each of ``server_no_context_takeover``,
    ``client_no_context_takeover``, ``server_max_window_bits`` (8 to 15) and
    ``client_max_window_bits`` (8 to 15, or no value) at most once, in any
    order, values as tokens or quoted-strings. A server that speaks
    permessage-deflate may accept these (and may still decline). Not acceptable,
    so a server must decline the offer (and go on with the handshake without
    it): a parameter repeated, an unknown parameter, a window size out of range,
    a value on a context takeover parameter, ``server_max_window_bits`` without
    a value.
    """
    return st.one_of(
        _deflate_offer(valid=True).map(lambda offer: (offer, True)),
        _deflate_offer(valid=False).map(lambda offer: (offer, False)),
    )
