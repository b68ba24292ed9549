"""The ``deflate`` group: permessage-deflate rules (RFC 7692) that Autobahn's 12 and 13 leave out.

Families 12 and 13 send valid compressed messages and judge the echoes. These
cases send compressed frames written by hand or by :mod:`zlib`, under the
default agreement (:class:`~..cases.Deflate` with no parameters), numbered
``deflate.1`` onwards:

=======  ================================================================  ============
Cases    What the peer sends                                               RFC 7692
=======  ================================================================  ============
1-4      the RFC's own examples: "Hello" compressed, in two fragments, in  §7.2.3
         a block with no compression, in a block with BFINAL set
5-10     valid but unusual: an empty fragment (``00``, or no payload at    §7.2.3.6, §6
         all), an empty message (``00``), a message with RSV1 clear between
         compressed ones, a character split across compressed fragments,
         a ping inside a compressed message
11-26    RSV1 where it may not be: on a continuation frame, on a ping, a   §6, RFC 6455
         pong or a close frame (alone or inside a compressed message);     §5.2
         RSV2 and RSV3, which permessage-deflate leaves reserved
27-31    data that does not inflate, or inflates to invalid UTF-8          §6, RFC 6455
                                                                           §7.1.7, §8.1
=======  ================================================================  ============

The valid ones are echoed; the others fail the connection, with 1002 (RFC 6455
§7.4.1) for reserved bits where they may not be, 1002 or 1007 for a payload that
does not inflate (RFC 7692 names no code; 1002 says the extension's data is
broken, 1007 that the payload is not what the frame claims), 1007 for text that
inflates to invalid UTF-8. None of them refers back into a message before it:
whether the testee keeps its context between messages depends on what it
agreed. A testee that does not agree to permessage-deflate is UNIMPLEMENTED.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import TYPE_CHECKING

from ..cases import (
    NORMAL_CLOSE,
    Case,
    Deflate,
    Send,
    fails,
    received_pong,
    received_text,
)
from ..wire import CLOSE, CONTINUATION, PONG, Frame, cont, ping, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..cases import Received
    from . import CatalogueOptions

__all__ = ["RFC_HELLO", "cases", "deflated", "sync_flushed"]

TAIL = b"\x00\x00\xff\xff"
"""The end of a ``Z_SYNC_FLUSH``, removed from every compressed message (RFC 7692 §7.2.1)."""

RFC_HELLO = bytes.fromhex("f248cdc9c90700")
"""RFC 7692 §7.2.3.1: "Hello" in one compressed DEFLATE block, the flush's tail removed."""
_RFC_HELLO_STORED = bytes.fromhex("000500faff48656c6c6f00")
"""RFC 7692 §7.2.3.3: "Hello" in a DEFLATE block with no compression."""
_RFC_HELLO_BFINAL = bytes.fromhex("f348cdc9c9070000")
"""RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set, then one byte for the tail."""
_RESERVED_BLOCK = b"\xff\xff\xff\xff"
"""Not DEFLATE: a block of type 11, reserved (RFC 1951 §3.2.3)."""

_RSV1 = 4
"""RSV1, numbered as Autobahn numbers the reserved bits (4, 2, 1)."""

_DEFAULT = Deflate()
_ECHOED = "The message is echo'ed back to us. Clean close with normal code."


def sync_flushed(*parts: bytes) -> list[bytes]:
    """``parts`` compressed as one message, flushed after each: each may be a frame's payload.

    9 window bits fit within any window a handshake may agree; the message's tail is
    removed from the last part (RFC 7692 §7.2.1).
    """
    compressor = zlib.compressobj(wbits=-9)
    flushed = [compressor.compress(p) + compressor.flush(zlib.Z_SYNC_FLUSH) for p in parts]
    flushed[-1] = flushed[-1][: -len(TAIL)]
    return flushed


def deflated(data: bytes) -> bytes:
    """``data`` compressed as one message by a fresh compressor, its tail removed."""
    return sync_flushed(data)[0]


def _echoes(description: str, frames: tuple[Frame, ...], echoed: tuple[Received, ...]) -> Case:
    return Case(
        "deflate",
        description,
        _ECHOED,
        (Send(frames),),
        ok=echoed,
        close=NORMAL_CLOSE,
        deflate=_DEFAULT,
    )


_NAMES = {1002: "1002 (protocol error)", 1007: "1007 (invalid frame payload data)"}


def _fails(
    description: str,
    why: str,
    frames: tuple[Frame, ...],
    codes: tuple[int, ...] = (1002,),
    *before: Received,
) -> Case:
    echoed = "The echo of the message before, then the" if before else "The"
    named = " or ".join(_NAMES[code] for code in codes)
    # As in 3.2: a testee that fails the connection before echoing the message it
    # read first loses that reply, but fails correctly: NON-STRICT.
    lost = " Without that echo: NON-STRICT." if before else ""
    return Case(
        "deflate",
        description,
        f"{echoed} connection is failed with {named}: {why}.{lost}",
        (Send(frames),),
        ok=before,
        non_strict=() if before else None,
        close=fails(*codes),
        deflate=_DEFAULT,
    )


def _valid() -> Iterator[Case]:
    hello = received_text("Hello")
    first, second = RFC_HELLO[:3], RFC_HELLO[3:]
    yield _echoes(
        f"Send text message 'Hello' compressed as RFC 7692 §7.2.3.1 shows: {RFC_HELLO.hex()}.",
        (text(RFC_HELLO, rsv=_RSV1),),
        (hello,),
    )
    yield _echoes(
        "Send the same compressed 'Hello' in two fragments (RFC 7692 §7.2.3.1), RSV1 on the "
        "first only.",
        (text(first, fin=False, rsv=_RSV1), cont(second)),
        (hello,),
    )
    yield _echoes(
        "Send text message 'Hello' in a DEFLATE block with no compression (RFC 7692 §7.2.3.3): "
        f"{_RFC_HELLO_STORED.hex()}.",
        (text(_RFC_HELLO_STORED, rsv=_RSV1),),
        (hello,),
    )
    yield _echoes(
        "Send text message 'Hello' in a block with BFINAL set (RFC 7692 §7.2.3.4), then 'Hello' "
        "again as in §7.2.3.1, in one write.",
        (text(_RFC_HELLO_BFINAL, rsv=_RSV1), text(RFC_HELLO, rsv=_RSV1)),
        (hello, hello),
    )
    yield _echoes(
        "Send compressed 'Hello' flushed with its tail, then an empty-of-data last fragment: "
        "the octet 00 (RFC 7692 §7.2.3.6).",
        (text(RFC_HELLO + TAIL, fin=False, rsv=_RSV1), cont(b"\x00")),
        (hello,),
    )
    yield _echoes(
        "Send a compressed text message whose first fragment (RSV1 set) has no payload, then "
        "compressed 'Hello' in the last.",
        (text(b"", fin=False, rsv=_RSV1), cont(RFC_HELLO)),
        (hello,),
    )
    # Not an empty payload with RSV1 set as a whole message: no compressor makes one
    # (§7.2.1 leaves at least the block header), and inflating the tail alone, as §7.2.2
    # says to, leaves the inflater inside a block header, which breaks the next message.
    yield _echoes(
        "Send an empty compressed message (the octet 00, RFC 7692 §7.2.1), then compressed "
        "'Hello', in one write.",
        (text(b"\x00", rsv=_RSV1), text(RFC_HELLO, rsv=_RSV1)),
        (received_text(""), hello),
    )
    yield _echoes(
        "Send compressed 'Hello', a text message 'plain text' with RSV1 clear in two fragments, "
        "then compressed 'Hello' again (RFC 7692 §6: RSV1 clear, the message is not compressed).",
        (
            text(RFC_HELLO, rsv=_RSV1),
            text("plain", fin=False),
            cont(" text"),
            text(RFC_HELLO, rsv=_RSV1),
        ),
        (hello, received_text("plain text"), hello),
    )
    e_acute = sync_flushed(b"\xc3", b"\xa9")
    yield _echoes(
        "Send text message 'é' compressed in two fragments flushed apart: the first inflates "
        "to C3, the second to A9.",
        (text(e_acute[0], fin=False, rsv=_RSV1), cont(e_acute[1])),
        (received_text("é"),),
    )
    yield _echoes(
        "Send the first fragment of compressed 'Hello', a ping, then the last fragment.",
        (text(first, fin=False, rsv=_RSV1), ping(b"p"), cont(second)),
        (received_pong(b"p"), hello),
    )


def _misplaced_bits() -> Iterator[Case]:
    first, second = RFC_HELLO[:3], RFC_HELLO[3:]
    on_continuation = "RFC 7692 §6, RSV1 is set on the first frame of a message only"
    yield _fails(
        "Send compressed 'Hello' in two fragments, RSV1 set on both.",
        on_continuation,
        (text(first, fin=False, rsv=_RSV1), Frame(CONTINUATION, second, rsv=_RSV1)),
    )
    yield _fails(
        "Send the first fragment of an uncompressed text message, then a continuation frame "
        "with RSV1 set.",
        on_continuation,
        (text("plain", fin=False), Frame(CONTINUATION, RFC_HELLO, rsv=_RSV1)),
    )
    on_control = "RFC 7692 §6, permessage-deflate applies to data frames only: RSV1 stays 0"
    controls = (
        ("a ping with RSV1 set", ping(b"x", rsv=_RSV1)),
        ("a ping with RSV1 set and compressed 'Hello' as payload", ping(RFC_HELLO, rsv=_RSV1)),
        ("a pong with RSV1 set", Frame(PONG, b"x", rsv=_RSV1)),
        ("a close frame with code 1000 and RSV1 set", Frame(CLOSE, b"\x03\xe8", rsv=_RSV1)),
    )
    for what, control in controls:
        yield _fails(f"Send {what}.", on_control, (control,))
        yield _fails(
            f"Send the first fragment of compressed 'Hello', {what}, then the last fragment.",
            on_control,
            (text(first, fin=False, rsv=_RSV1), control, cont(second)),
        )
    for rsv in (1, 2, 3, 5, 6, 7):
        yield _fails(
            f"Send compressed 'Hello' with RSV = {rsv}.",
            "RFC 7692 §6 gives RSV1 a meaning, RSV2 and RSV3 stay reserved (RFC 6455 §5.2)",
            (text(RFC_HELLO, rsv=rsv),),
        )


def _bad_data() -> Iterator[Case]:
    # RFC 7692 names no code for data that does not inflate: 1002 (the extension's
    # framing is broken) and 1007 (the payload is not what the frame says) both fit.
    does_not_inflate = "the payload does not inflate (RFC 7692 §6, RFC 6455 §7.1.7)"
    either = (1002, 1007)
    yield _fails(
        "Send a text message with RSV1 set whose payload is FFFFFFFF, a DEFLATE block of the "
        "reserved type 11.",
        does_not_inflate,
        (text(_RESERVED_BLOCK, rsv=_RSV1),),
        either,
    )
    yield _fails(
        "Send a text message with RSV1 set whose payload is a block with no compression whose "
        "length and its complement disagree: 0005000000 'Hello'.",
        does_not_inflate,
        (text(b"\x00\x05\x00\x00\x00Hello", rsv=_RSV1),),
        either,
    )
    yield _fails(
        "Send compressed 'Hello' flushed with its tail as a first fragment, then FFFFFFFF as "
        "the last.",
        does_not_inflate,
        (text(deflated(b"Hello") + TAIL, fin=False, rsv=_RSV1), cont(_RESERVED_BLOCK)),
        either,
    )
    yield _fails(
        "Send compressed 'Hello', then a text message with RSV1 set whose payload is FFFFFFFF, "
        "in one write.",
        does_not_inflate + "; the message before is echo'ed first",
        (text(RFC_HELLO, rsv=_RSV1), text(_RESERVED_BLOCK, rsv=_RSV1)),
        either,
        received_text("Hello"),
    )
    yield _fails(
        "Send a compressed text message that inflates to CE BA FF, not UTF-8.",
        "RFC 6455 §8.1, the text inflated is not UTF-8 (RFC 7692 §6: the payload is judged "
        "once inflated)",
        (text(deflated(b"\xce\xba\xff"), rsv=_RSV1),),
        (1007,),
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """deflate.1 onwards."""
    found = [*_valid(), *_misplaced_bits(), *_bad_data()]
    for number, case in enumerate(found, 1):
        yield dataclasses.replace(case, id=f"deflate.{number}")
