"""The RFC 6455 wire format (§5.2): opcodes, frame headers, masking.

These are the building blocks of :class:`~wsproto_core.codec.rfc6455.Rfc6455Codec`
and of tools that craft or inspect frames (the testing kit). They represent
what the wire can carry and enforce no protocol rule beyond that: a reserved
opcode or a 200-byte ping can be serialized and parsed here, and it is the
codec that refuses them.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

__all__ = [
    "CONTROL_OPCODES",
    "DATA_OPCODES",
    "MAX_CONTROL_PAYLOAD",
    "BytesLike",
    "FrameHeader",
    "Opcode",
    "mask",
    "parse_frame_header",
    "parse_frame_length",
    "serialize_frame",
]

BytesLike = bytes | bytearray | memoryview
"""Any bytes-like object the functions of this module accept."""

MAX_CONTROL_PAYLOAD = 125
"""The largest payload a control frame may carry (RFC 6455 §5.5)."""


class Opcode(enum.IntEnum):
    """The frame opcodes RFC 6455 defines (§5.2, §11.8).

    Opcodes 3-7 are reserved for further data frames and 11-15 for further
    control frames; they are not members.
    """

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Whether this is a control opcode (close, ping, pong; RFC 6455 §5.5)."""
        return self >= 0x8

    @property
    def is_data(self) -> bool:
        """Whether this is a data opcode (continuation, text, binary; RFC 6455 §5.6)."""
        return self < 0x8


DATA_OPCODES = frozenset({Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY})
"""The opcodes of data frames."""

CONTROL_OPCODES = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
"""The opcodes of control frames."""


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """A parsed frame header (RFC 6455 §5.2).

    Attributes:
        fin: Whether this is the final fragment of a message.
        rsv: The three reserved bits, in place (``0x40`` is RSV1, ``0x20`` RSV2, ``0x10`` RSV3).
        opcode: The opcode as sent; reserved values are kept as plain ints.
        masked: Whether the MASK bit is set.
        length: The payload length announced (7, 16 or 64-bit form, as sent).
        mask_key: The 4-byte masking key, or ``None`` when not masked.
        header_length: How many bytes the header takes (2 to 14); the payload follows.
    """

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    length: int
    mask_key: bytes | None
    header_length: int


_unpack_from = struct.unpack_from
_pack = struct.pack

# One translation table per key byte: table k maps every byte b to b ^ k.
_XOR_TABLES = tuple(bytes(b ^ k for b in range(256)) for k in range(256))

# Up to this size one XOR of two integers is fastest; above it, translating the
# four byte lanes (measured by benchmarks/test_bench_frames.py: the two cost the
# same at about 900 bytes, a compressed 1 KiB JSON text is about 300).
SMALL_MASK_SIZE = 512
"""Payloads up to this size are masked as integers, larger ones lane by lane."""

# KEY_SPREAD[n] times a 32-bit key repeats the key over n bytes (little-endian),
# once the bits above 8 * n are cut with LOW_BYTES[n].
KEY_SPREAD = tuple(sum(1 << (32 * word) for word in range((n + 3) // 4)) for n in range(257))
"""For ``n`` up to 256: the integer that spreads a 4-byte key over ``n`` bytes by multiplication."""
LOW_BYTES = tuple((1 << (8 * n)) - 1 for n in range(257))
"""For ``n`` up to 256: the integer with the low ``n`` bytes set."""

# Large payloads are masked in slices of this size (a multiple of 4), so that
# the four strided passes over a slice stay in the CPU cache.
_LANE_CHUNK = 1 << 16


def mask(data: BytesLike, key: bytes | bytearray, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte masking ``key`` (RFC 6455 §5.3).

    Masking is its own inverse, so this both masks and unmasks.

    Args:
        data: The payload, or a piece of it.
        key: The 4-byte masking key.
        offset: The position of ``data[0]`` within the whole payload, so that a
            payload that arrives in pieces can be unmasked piece by piece: the
            key is applied from its byte ``offset % 4``.

    Returns:
        The masked (or unmasked) bytes.

    Raises:
        ValueError: ``key`` is not 4 bytes long.
    """
    if len(key) != 4:
        raise ValueError(f"a masking key is 4 bytes, not {len(key)}")
    shift = offset & 3
    if shift:
        key = key[shift:] + key[:shift]
    size = len(data)
    if size <= SMALL_MASK_SIZE:
        # One XOR of two integers, little-endian so that key byte i lines up with
        # data bytes i, i + 4, i + 8, ...
        if size < len(KEY_SPREAD):
            spread = int.from_bytes(key, "little") * KEY_SPREAD[size] & LOW_BYTES[size]
        else:
            spread = int.from_bytes((key * ((size + 3) >> 2))[:size], "little")
        return (int.from_bytes(data, "little") ^ spread).to_bytes(size, "little")
    # Four lanes, each one C-level translate with the table for its key byte.
    out = bytearray(data)
    table0, table1, table2, table3 = (_XOR_TABLES[byte] for byte in key)
    for start in range(0, size, _LANE_CHUNK):
        stop = start + _LANE_CHUNK
        out[start:stop:4] = out[start:stop:4].translate(table0)
        out[start + 1 : stop : 4] = out[start + 1 : stop : 4].translate(table1)
        out[start + 2 : stop : 4] = out[start + 2 : stop : 4].translate(table2)
        out[start + 3 : stop : 4] = out[start + 3 : stop : 4].translate(table3)
    return bytes(out)


def serialize_frame(
    opcode: int,
    payload: BytesLike,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask_key: bytes | None = None,
) -> bytes:
    """Encode one frame, header and payload (RFC 6455 §5.2).

    The length takes the shortest form that fits (7, 16 or 64 bits). No
    protocol rule is enforced: reserved opcodes and oversized control frames
    can be encoded, for tests and tools.

    Args:
        opcode: The opcode, 0 to 15.
        payload: The application data (unmasked).
        fin: Whether this is the final fragment of its message.
        rsv: The reserved bits to set, in place (``0x40`` RSV1, ``0x20`` RSV2, ``0x10`` RSV3).
        mask_key: The 4-byte masking key (clients must mask, §5.3), or ``None``.

    Returns:
        The frame's bytes.

    Raises:
        ValueError: ``opcode``, ``rsv`` or ``mask_key`` cannot be represented.
    """
    if not 0 <= opcode <= 0xF:
        raise ValueError(f"an opcode is 4 bits, not {opcode}")
    if rsv & ~0x70:
        raise ValueError(f"reserved bits must be within 0x70, not {rsv:#x}")
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload)
    mask_bit = 0 if mask_key is None else 0x80
    if size < 126:
        header = _pack("!BB", first, mask_bit | size)
    elif size < 0x10000:
        header = _pack("!BBH", first, mask_bit | 126, size)
    else:
        header = _pack("!BBQ", first, mask_bit | 127, size)
    if mask_key is None:
        return header + payload
    return header + mask_key + mask(payload, mask_key)


def parse_frame_length(data: BytesLike, offset: int = 0) -> tuple[int, int] | None:
    """Read the payload length of the frame whose header starts at ``data[offset]`` (RFC 6455 §5.2).

    The length is read as sent, from its 7, 16 or 64-bit form; the codec,
    which receives with this, refuses the forms the RFC forbids.

    Args:
        data: Bytes received.
        offset: Where the header starts.

    Returns:
        The payload length and where the header ends (after the masking key,
        if any), which is where the payload starts; or ``None`` if ``data``
        does not hold all of the header yet.
    """
    if len(data) - offset < 2:
        return None
    second = data[offset + 1]
    length = second & 0x7F
    header_end = offset + (6 if second & 0x80 else 2)
    if length == 126:
        header_end += 2
        if len(data) < header_end:
            return None
        (length,) = _unpack_from("!H", data, offset + 2)
    elif length == 127:
        header_end += 8
        if len(data) < header_end:
            return None
        (length,) = _unpack_from("!Q", data, offset + 2)
    if len(data) < header_end:
        return None
    return length, header_end


def parse_frame_header(data: BytesLike, offset: int = 0) -> FrameHeader | None:
    """Parse the frame header that starts at ``data[offset]`` (RFC 6455 §5.2).

    The header is read as sent: a non-minimal length or a 64-bit length with
    its top bit set is reported, not refused (the codec refuses them).

    Args:
        data: Bytes received.
        offset: Where the header starts.

    Returns:
        The header, or ``None`` if ``data`` does not hold all of it yet.
    """
    parsed = parse_frame_length(data, offset)
    if parsed is None:
        return None
    length, header_end = parsed
    first, second = data[offset], data[offset + 1]
    masked = bool(second & 0x80)
    return FrameHeader(
        fin=bool(first & 0x80),
        rsv=first & 0x70,
        opcode=first & 0x0F,
        masked=masked,
        length=length,
        mask_key=bytes(data[header_end - 4 : header_end]) if masked else None,
        header_length=header_end - offset,
    )
