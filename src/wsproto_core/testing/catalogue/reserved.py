"""Families 3 and 4: reserved bits and reserved opcodes fail the connection.

RFC 6455 §5.2: RSV1, RSV2 and RSV3 "MUST be 0 unless an extension is
negotiated that defines meanings for non-zero values" (none is, here), and on
an unknown opcode "the receiving endpoint MUST _Fail the WebSocket
Connection_" (§7.1.7, with 1002, §7.4.1). Opcodes 3 to 7 are reserved for
further non-control frames, 11 to 15 for further control frames.

The reserved bits are numbered as Autobahn numbers them (:class:`~..wire.Frame`):
4 is RSV1, 2 RSV2, 1 RSV3.

When a valid message precedes the bad frame, the testee echoes it before it
fails the connection (OK); a testee that fails the connection first, with
nothing echoed, is NON-STRICT. The ping sent after the bad frame must go
unanswered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import Case, Send, fails, received_text
from ..wire import CLOSE, Frame, binary, ping, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = ["cases"]

_HELLO = b"Hello, world!"
_RAW = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
_RESERVED_PAYLOAD = b"reserved opcode payload"
_IMMEDIATELY = "The connection is failed immediately, since RSV must be 0."
_RSV_AFTER_ECHO = (
    "Echo for first message is received, but then connection is failed immediately, since "
    "RSV must be 0, when no extension defining RSV meaning has been negotiated. "
    "The Pong is not received."
)
_OPCODE_AFTER_ECHO = (
    "Echo for first message is received, but then connection is failed immediately, since "
    "reserved opcode frame is used. A Pong is not received."
)


def _fails_at_once(case_id: str, description: str, frame: Frame, expectation: str) -> Case:
    """One bad frame: the testee fails the connection with 1002 and sends nothing else."""
    return Case(
        id=case_id,
        description=description,
        expectation=expectation,
        steps=(Send((frame,)),),
        ok=(),
        close=fails(1002),
    )


def _fails_after_echo(
    case_id: str, description: str, bad: Frame, expectation: str, chop: int | None
) -> Case:
    """A text message, the bad frame, a ping: the echo, then the failure, and no pong."""
    return Case(
        id=case_id,
        description=description,
        expectation=expectation,
        steps=(Send((text(_HELLO), bad, ping()), chop=chop),),
        ok=(received_text(_HELLO),),
        non_strict=(),
        close=fails(1002),
    )


def _reserved_bits() -> Iterator[Case]:
    yield _fails_at_once(
        "3.1",
        "Send small text message with RSV = 1.",
        text(_HELLO, rsv=1),
        "The connection is failed immediately (1002/protocol error), since RSV must be 0, "
        "when no extension defining RSV meaning has been negotiated.",
    )
    then = "Send small text message, then send again with RSV = {}, then send Ping."
    for case_id, rsv, chop, how in (
        ("3.2", 2, None, ""),
        ("3.3", 3, 0, " Octets are sent in frame-wise chops."),
        ("3.4", 4, 1, " Octets are sent in octet-wise chops."),
    ):
        bad = text(_HELLO, rsv=rsv)
        yield _fails_after_echo(case_id, then.format(rsv) + how, bad, _RSV_AFTER_ECHO, chop)
    yield _fails_at_once(
        "3.5", "Send small binary message with RSV = 5.", binary(_RAW, rsv=5), _IMMEDIATELY
    )
    yield _fails_at_once("3.6", "Send Ping with RSV = 6.", ping(_HELLO, rsv=6), _IMMEDIATELY)
    yield _fails_at_once("3.7", "Send Close with RSV = 7.", Frame(CLOSE, rsv=7), _IMMEDIATELY)


def _reserved_opcodes(group: str, kind: str, opcodes: tuple[int, ...]) -> Iterator[Case]:
    """Cases ``group``.1 to ``group``.5 for the five reserved opcodes of one kind."""
    first, second, third, fourth, fifth = opcodes
    sent = f"Send frame with reserved {kind} Opcode = {{}}"
    immediately = "The connection is failed immediately."
    yield _fails_at_once(f"{group}.1", sent.format(first) + ".", Frame(first), immediately)
    yield _fails_at_once(
        f"{group}.2",
        sent.format(second) + " and non-empty payload.",
        Frame(second, _RESERVED_PAYLOAD),
        immediately,
    )
    then = f"Send small text message, then send frame with reserved {kind} Opcode = {{}}"
    yield _fails_after_echo(
        f"{group}.3",
        then.format(third) + ", then send Ping.",
        Frame(third),
        _OPCODE_AFTER_ECHO,
        None,
    )
    for number, opcode, chop, how in (
        (4, fourth, None, ""),
        (5, fifth, 1, " Octets are sent in octet-wise chops."),
    ):
        yield _fails_after_echo(
            f"{group}.{number}",
            then.format(opcode) + f" and non-empty payload, then send Ping.{how}",
            Frame(opcode, _HELLO),
            _OPCODE_AFTER_ECHO,
            chop,
        )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Cases 3.1 to 3.7 (reserved bits) and 4.1.1 to 4.2.5 (reserved opcodes)."""
    yield from _reserved_bits()
    yield from _reserved_opcodes("4.1", "non-control", (3, 4, 5, 6, 7))
    yield from _reserved_opcodes("4.2", "control", (11, 12, 13, 14, 15))
