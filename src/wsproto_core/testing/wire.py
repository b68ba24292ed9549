"""Frames as a conformance peer sends them, broken ones included, and a log of both directions.

The core's :func:`~wsproto_core.frames.serialize_frame` only writes valid
headers; a conformance peer must also write the ones RFC 6455 forbids (a
length in a longer form than needed, a wrong MASK bit, a length that lies) to
see the testee refuse them. :class:`Frame` describes any such frame and
:func:`encode` writes it (RFC 6455 §5.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal

from ..frames import mask as _mask
from ..frames import parse_frame_header

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "PING",
    "PONG",
    "TEXT",
    "Frame",
    "LoggedFrame",
    "binary",
    "close",
    "cont",
    "encode",
    "ping",
    "pong",
    "split_frames",
    "starts_closing",
    "text",
]

CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA

DEFAULT_MASK_KEY = b"\x9b\x3d\x5a\xe1"
"""The masking key of the frames a client peer sends, unless a frame names its own."""

OPCODE_NAMES = {
    CONTINUATION: "continuation",
    TEXT: "text",
    BINARY: "binary",
    CLOSE: "close",
    PING: "ping",
    PONG: "pong",
}


@dataclass(frozen=True)
class Frame:
    """One frame to send, valid or not (RFC 6455 §5.2).

    Attributes:
        opcode: 0 to 15, reserved values included.
        payload: The unmasked payload.
        fin: The FIN bit.
        rsv: The reserved bits numbered as Autobahn does: 4 is RSV1, 2 RSV2, 1 RSV3.
        length: The payload length to announce, when it is not ``len(payload)``.
        length_form: 7, 16 or 64: the length encoding, when it is not the minimal one.
        wrong_mask: Mask the other way round from what the sender's role requires.
    """

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    length: int | None = None
    length_form: Literal[7, 16, 64] | None = None
    wrong_mask: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 15:
            raise ValueError(f"an opcode is 4 bits, not {self.opcode}")
        if not 0 <= self.rsv <= 7:
            raise ValueError(f"the reserved bits are 3, not {self.rsv:#x}")


def text(data: str | bytes, *, fin: bool = True, rsv: int = 0) -> Frame:
    """A text frame (``str`` is encoded as UTF-8, ``bytes`` are sent as they are)."""
    return Frame(TEXT, data.encode() if isinstance(data, str) else data, fin, rsv)


def binary(data: bytes, *, fin: bool = True, rsv: int = 0) -> Frame:
    """A binary frame."""
    return Frame(BINARY, data, fin, rsv)


def cont(data: str | bytes, *, fin: bool = True, rsv: int = 0) -> Frame:
    """A continuation frame."""
    return Frame(CONTINUATION, data.encode() if isinstance(data, str) else data, fin, rsv)


def ping(payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    """A ping frame."""
    return Frame(PING, payload, fin, rsv)


def pong(payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    """A pong frame."""
    return Frame(PONG, payload, fin, rsv)


def close(code: int | None = None, reason: str | bytes = b"", *, fin: bool = True) -> Frame:
    """A close frame: a 2-byte code (if any) and the reason (``str`` as UTF-8)."""
    raw = reason.encode() if isinstance(reason, str) else reason
    return Frame(CLOSE, b"" if code is None else code.to_bytes(2, "big") + raw, fin)


def encode(frame: Frame, *, client: bool, mask_key: bytes = DEFAULT_MASK_KEY) -> bytes:
    """The frame's bytes as a peer in the client (masking) or server role sends it."""
    masked = client != frame.wrong_mask
    first = (0x80 if frame.fin else 0) | (frame.rsv << 4) | frame.opcode
    length = len(frame.payload) if frame.length is None else frame.length
    form = frame.length_form or (7 if length < 126 else 16 if length < 0x10000 else 64)
    bit = 0x80 if masked else 0
    if form == 7:
        header = struct.pack("!BB", first, bit | length)
    elif form == 16:
        header = struct.pack("!BBH", first, bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, bit | 127, length)
    if not masked:
        return header + frame.payload
    return header + mask_key + _mask(frame.payload, mask_key)


@dataclass(frozen=True)
class LoggedFrame:
    """A frame as it crossed the wire, for a report.

    Attributes:
        direction: ``"out"`` from the conformance peer, ``"in"`` from the testee.
        opcode: The opcode.
        fin: The FIN bit.
        rsv: The reserved bits, Autobahn's numbering (4 is RSV1).
        masked: The MASK bit.
        length: The payload length announced.
        payload: The unmasked payload, cut to ``PREVIEW`` bytes.
        at: Seconds since the case began.
    """

    direction: Literal["in", "out"]
    opcode: int
    fin: bool
    rsv: int
    masked: bool
    length: int
    payload: bytes
    at: float = field(default=0.0, compare=False)

    PREVIEW = 256

    def describe(self) -> str:
        """One line: ``out text fin len=5 masked 'Hello'``."""
        name = OPCODE_NAMES.get(self.opcode, f"op{self.opcode}")
        flags = ["fin" if self.fin else "more"]
        if self.rsv:
            flags.append(f"rsv={self.rsv}")
        if self.masked:
            flags.append("masked")
        shown = repr(self.payload) + ("..." if self.length > len(self.payload) else "")
        return f"{self.direction} {name} {' '.join(flags)} len={self.length} {shown}"


def split_frames(
    buffer: bytearray, direction: Literal["in", "out"], at: float, limit: int
) -> list[LoggedFrame]:
    """Take up to ``limit`` whole frames off the front of ``buffer``, leniently, for the log.

    Nothing is refused here: a testee's bad frame is logged as it was sent.
    """
    frames: list[LoggedFrame] = []
    pos = 0
    while len(frames) < limit:
        header = parse_frame_header(buffer, pos)
        if header is None or len(buffer) < pos + header.header_length + header.length:
            break
        start = pos + header.header_length
        shown = bytes(buffer[start : start + min(header.length, LoggedFrame.PREVIEW)])
        if header.mask_key is not None:
            shown = _mask(shown, header.mask_key)
        rsv = header.rsv >> 4
        frames.append(
            LoggedFrame(
                direction, header.opcode, header.fin, rsv, header.masked, header.length, shown, at
            )
        )
        pos = start + header.length
    del buffer[:pos]
    return frames


def starts_closing(frame: Frame) -> bool:
    """Whether sending ``frame`` starts the closing handshake (Autobahn's ``closedByMe``).

    A close frame with reserved bits set, without FIN or masked the wrong way
    is a framing error the testee must fail the connection on (RFC 6455 §5.2,
    §5.5, §5.3), not a close it answers: the testee starts the closing.
    """
    return frame.opcode == CLOSE and frame.fin and not frame.rsv and not frame.wrong_mask
