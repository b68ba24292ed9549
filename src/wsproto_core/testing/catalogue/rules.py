"""The rules group: rules RFC 6455 sets that the Autobahn Testsuite does not check.

Autobahn's families 1 to 5 try each rule on one or two frames; these cases
try the rest (SPEC_NOTES, "RFC 6455 rules that conformance suites check"),
each against an echo testee, numbered ``rules.1`` onwards in this order:

=======  ================================================  ================
Cases    What they send                                    RFC 6455
=======  ================================================  ================
1-4      frames masked the wrong way round                 §5.1, §5.3
5-12     lengths in a longer form than needed; a 64-bit    §5.2
         length with its most significant bit set
13-17    control frames over 125 bytes, or fragmented      §5.5, §5.4
18-59    each reserved bit pattern on each opcode          §5.2
60-79    reserved opcodes inside a message, after valid    §5.2, §5.4
         frames
80-86    fragmented messages: a binary frame inside text,  §5.4, §5.5.2
         a continuation header alone, 1-byte and empty
         fragments, pings answered at once
87-96    messages written one byte at a time               §5.2
97-102   bursts of frames in one write, valid ones before  §5.4, §5.5.2
         a bad one
103-104  UTF-8: failing fast on a surrogate cut across     §8.1, §5.6
         frames; text before invalid text still answered
105-110  close frames: a reason cut inside a character, a  §5.5.1, §7.4
         multi-byte reason, codes 1012 to 1015
=======  ================================================  ================

A testee fails the connection on a broken rule with 1002 (§7.1.7, §7.4.1).
Valid frames written before the bad one, in the same write, are still
delivered in order (SPEC_NOTES): a testee that fails the connection without
echoing the messages before the bad frame is NON-STRICT, as in Autobahn's
family 3; a ping before the bad frame must be answered (§5.5.2: "an endpoint
MUST send a Pong frame in response, unless it already received a Close
frame"). Where a burst holds pings and messages, each ping comes before the
end of every message of its write: a testee may answer pings as it parses
them and echo messages later, and the order that comes back is the same.
"""

from __future__ import annotations

import dataclasses
from itertools import chain
from typing import TYPE_CHECKING, Literal

from ..cases import (
    NORMAL_CLOSE,
    Case,
    ExpectedClose,
    Send,
    fails,
    received_binary,
    received_pong,
    received_text,
)
from ..wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Frame,
    binary,
    close,
    cont,
    ping,
    pong,
    text,
)
from .closing import echo, refuse
from .utf8 import EDITED, KOSME, SURROGATE, fail_fast_in_frames

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ..cases import Received
    from . import CatalogueOptions

__all__ = ["RESERVED_OPCODES", "cases"]

RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
"""Opcodes 3 to 7 are reserved for further non-control frames, 11 to 15 for control frames."""

_CLOSE_1000 = (1000).to_bytes(2, "big")
_FAILED = "the connection is failed with 1002 (protocol error, RFC 6455 §7.4.1)"
_NOTHING_BEFORE = (
    "Failing it without echoing the messages before the bad frame is NON-STRICT "
    "(SPEC_NOTES: frames delivered before a bad frame are still delivered)."
)
_PONG_BEFORE = (
    "Failing it with the pong but without the echoes of the messages before the bad frame is "
    "NON-STRICT (SPEC_NOTES); without the pong it is FAILED (RFC 6455 §5.5.2: a ping received "
    "before the bad frame is answered)."
)
_CLEAN_CLOSE = "Clean close with normal code."
_OCTET_LENGTHS = (0, 125, 126, 127, 128)
"""The payload lengths of the messages sent one byte per write: each edge of the 7-bit form."""


def _fails(
    description: str,
    why: str,
    frames: Iterable[Frame],
    echoed: tuple[Received, ...] = (),
    *,
    non_strict: tuple[Received, ...] | None = None,
) -> Case:
    """Frames in one write; ``echoed`` comes back, then the testee fails with 1002.

    Args:
        description: What the peer sends.
        why: The rule broken, with its section, for the expectation.
        frames: The frames.
        echoed: The messages and pongs the frames before the bad one earn.
        non_strict: The NON-STRICT outcome: by default nothing at all when only
            messages came before the bad frame (Autobahn's family 3), else none.
    """
    if echoed and non_strict is None and all(r.kind != "pong" for r in echoed):
        non_strict = ()
    failed = f"The echo of what came before the bad frame, then {_FAILED}" if echoed else _FAILED
    after = ""
    if non_strict is not None:
        after = f" {_PONG_BEFORE}" if non_strict else f" {_NOTHING_BEFORE}"
    return Case(
        id="rules",
        description=description,
        expectation=f"{failed[0].upper()}{failed[1:]}: {why}.{after}",
        steps=(Send(tuple(frames)),),
        ok=echoed,
        non_strict=non_strict,
        close=fails(1002),
    )


def _echoes(
    description: str,
    expectation: str,
    frames: Iterable[Frame],
    echoed: tuple[Received, ...],
    *,
    chop: int | None = None,
) -> Case:
    """Valid frames, written as ``chop`` says: ``echoed`` comes back, then a normal close."""
    return Case(
        id="rules",
        description=description,
        expectation=f"{expectation} {_CLEAN_CLOSE}",
        steps=(Send(tuple(frames), chop=chop),),
        ok=echoed,
        close=NORMAL_CLOSE,
    )


def _masking() -> Iterator[Case]:
    """§5.1: a client masks every frame it sends, a server none."""
    why = (
        "RFC 6455 §5.1, a server MUST close the connection upon receiving an unmasked frame, "
        "a client if it detects a masked frame"
    )
    wrong = "masked the wrong way round (unmasked to a server testee, masked to a client testee)"
    yield _fails(f"Send a text message {wrong}.", why, [Frame(TEXT, b"Hello", wrong_mask=True)])
    yield _fails(
        f"Send a text message, then a second one {wrong}, in one write.",
        why,
        [text("first"), Frame(TEXT, b"second", wrong_mask=True)],
        (received_text("first"),),
    )
    yield _fails(
        f"Send a ping {wrong}.",
        why + "; the ping is not answered",
        [Frame(PING, b"ping payload", wrong_mask=True)],
    )
    yield _fails(
        f"Send a close frame with code 1000 {wrong}.",
        why + "; the close frame is not a close to echo",
        [Frame(CLOSE, _CLOSE_1000, wrong_mask=True)],
    )


def _lengths() -> Iterator[Case]:
    """§5.2: "the minimal number of bytes MUST be used to encode the length"."""
    minimal = 'RFC 6455 §5.2, "the minimal number of bytes MUST be used to encode the length"'
    forms: tuple[tuple[int, Literal[16, 64]], ...] = ((5, 16), (125, 16), (200, 64), (65535, 64))
    for size, form in forms:
        yield _fails(
            f"Send a binary message of {size} bytes with its length in the {form}-bit form.",
            minimal,
            [Frame(BINARY, b"\xfe" * size, length_form=form)],
        )
    yield _fails(
        "Send a text message, then a second one with a 2-byte payload length in the "
        "16-bit form, in one write.",
        minimal,
        [text("ok"), Frame(TEXT, b"no", length_form=16)],
        (received_text("ok"),),
    )
    yield _fails(
        "Send a ping with a 5-byte payload, its length in the 16-bit form.",
        minimal + "; the ping is not answered",
        [Frame(PING, b"12345", length_form=16)],
    )
    msb = (
        'RFC 6455 §5.2, in the 64-bit form "the most significant bit MUST be 0"; the testee '
        "must not wait for the payload. A testee with a size limit may fail with 1009 instead: "
        "the length is over any limit too"
    )
    for case in (
        _fails(
            "Send the header of a binary frame announcing 2^63 bytes (the most significant "
            "bit of the 64-bit length set), and no payload.",
            msb,
            [Frame(BINARY, length=2**63)],
        ),
        _fails(
            "Send the header of a text frame announcing 2^64 - 1 bytes, and no payload.",
            msb,
            [Frame(TEXT, length=2**64 - 1)],
        ),
    ):
        yield dataclasses.replace(case, close=fails(1002, 1009))


def _control_frames() -> Iterator[Case]:
    """§5.5: control frames carry at most 125 bytes and are never fragmented."""
    too_long = 'RFC 6455 §5.5, "all control frames MUST have a payload length of 125 bytes or less"'
    yield _fails("Send a pong with a payload of 126 bytes.", too_long, [pong(b"\xfe" * 126)])
    yield _fails(
        "Send a ping with payload 'a', then a ping with a payload of 126 bytes, in one write.",
        too_long + "; the first ping is answered first (§5.5.2)",
        [ping(b"a"), ping(b"\xfe" * 126)],
        (received_pong(b"a"),),
    )
    fragmented = 'RFC 6455 §5.5, control frames "MUST NOT be fragmented"'
    yield _fails(
        "Send a close frame with code 1000 and FIN clear, then an empty continuation frame.",
        fragmented + "; the close frame is not a close to echo",
        [Frame(CLOSE, _CLOSE_1000, fin=False), cont(b"")],
    )
    yield _fails(
        "Send the first fragment of a text message, a close frame with code 1000 and FIN "
        "clear, then the last fragment.",
        fragmented,
        [text("a", fin=False), Frame(CLOSE, _CLOSE_1000, fin=False), cont("b")],
    )
    yield _fails(
        "Send a ping with FIN clear, and nothing after it.",
        fragmented + "; the testee fails at once, it does not wait for a continuation",
        [ping(b"fragment1", fin=False)],
    )


def _reserved_bits() -> Iterator[Case]:
    """§5.2: RSV1-3 set without an extension that gives them a meaning, on every opcode."""
    why = (
        'RFC 6455 §5.2, RSV1, RSV2 and RSV3 "MUST be 0 unless an extension is negotiated that '
        'defines meanings for non-zero values" (none is)'
    )
    kinds: tuple[tuple[str, int, tuple[Frame, ...]], ...] = (
        ("a text frame", TEXT, ()),
        ("a binary frame", BINARY, ()),
        (
            "the first fragment of a text message, then a continuation frame",
            CONTINUATION,
            (text("x", fin=False),),
        ),
        ("a ping", PING, ()),
        ("a pong", PONG, ()),
        ("a close frame with code 1000", CLOSE, ()),
    )
    for what, opcode, before in kinds:
        payload = _CLOSE_1000 if opcode == CLOSE else b"y"
        for rsv in range(1, 8):
            yield _fails(
                f"Send {what} with RSV = {rsv}.",
                why,
                [*before, Frame(opcode, payload, rsv=rsv)],
            )


def _reserved_opcodes() -> Iterator[Case]:
    """§5.2: "if an unknown opcode is received, the receiving endpoint MUST _Fail_"."""
    why = (
        'RFC 6455 §5.2, "if an unknown opcode is received, the receiving endpoint MUST '
        '_Fail the WebSocket Connection_"'
    )
    for opcode in RESERVED_OPCODES:
        yield _fails(
            "Send the first fragment of a text message, a frame with reserved opcode "
            f"{opcode}, then the last fragment.",
            why,
            [text("frag", fin=False), Frame(opcode, b"x", fin=opcode > 7), cont("ment")],
        )
    for opcode in RESERVED_OPCODES:
        yield _fails(
            "Send a ping, a text message, a frame with reserved opcode "
            f"{opcode}, then another text message, in one write.",
            why + "; the ping and the message before it are answered, the one after is not",
            [ping(b"p"), text("valid"), Frame(opcode, b"x"), text("never")],
            (received_pong(b"p"), received_text("valid")),
            non_strict=(received_pong(b"p"),),
        )


def _fragmentation() -> Iterator[Case]:
    """§5.4: the frames of a fragmented message, and the control frames among them."""
    yield _fails(
        "Send the first fragment of a text message, then a binary frame.",
        'RFC 6455 §5.4, after the first fragment "the fragments of one message MUST NOT be '
        'interleaved": only continuation frames (and control frames) may follow',
        [text("fragment1", fin=False), binary(b"fragment2")],
    )
    yield _fails(
        "Send the header of a continuation frame announcing 24 bytes, with nothing to "
        "continue, and no payload.",
        "RFC 6455 §5.4, a continuation frame continues a message; the testee fails at the "
        "header, it does not wait for the payload",
        [Frame(CONTINUATION, length=24)],
    )
    yield _echoes(
        "Send a binary message in three fragments, an unsolicited pong after the first.",
        "The message is echo'ed, nothing answers the pong (RFC 6455 §5.4: control frames may "
        "come between fragments; §5.5.3: an unsolicited pong is not answered).",
        [binary(b"\x00", fin=False), pong(b"hb"), cont(b"\x01", fin=False), cont(b"\x02")],
        (received_binary(b"\x00\x01\x02"),),
    )
    yield _echoes(
        "Send text message 'fragment' in 8 fragments of 1 byte, in octet-wise chops.",
        "Message 'fragment' is echo'ed (RFC 6455 §5.4: a fragment may be of any size).",
        [text("f", fin=False), *(cont(c, fin=False) for c in "ragmen"), cont("t")],
        (received_text("fragment"),),
        chop=1,
    )
    yield _echoes(
        "Send an empty binary message in 100 empty fragments.",
        "An empty binary message is echo'ed (RFC 6455 §5.4: any number of continuation "
        "frames; §5.2: of any length, 0 included).",
        [binary(b"", fin=False), *(cont(b"", fin=False) for _ in range(98)), cont(b"")],
        (received_binary(b""),),
    )
    yield _echoes(
        "Send a text message in 5 fragments, a ping after the second and after the fourth, "
        "all in octet-wise chops (case 5.20, one byte per write).",
        "Both pings are answered in order, then the message is echo'ed (RFC 6455 §5.4).",
        [
            text("fragment1", fin=False),
            cont("fragment2", fin=False),
            ping(b"pongme 1!"),
            cont("fragment3", fin=False),
            cont("fragment4", fin=False),
            ping(b"pongme 2!"),
            cont("fragment5"),
        ],
        (
            received_pong(b"pongme 1!"),
            received_pong(b"pongme 2!"),
            received_text("fragment1fragment2fragment3fragment4fragment5"),
        ),
        chop=1,
    )
    yield _echoes(
        "Send the first fragment of a text message and a ping, and never the rest of the message.",
        "The ping is answered at once, without waiting for the end of the message "
        '(RFC 6455 §5.4, §5.5.2: "as soon as is practical"); the peer then closes in the '
        "middle of the message.",
        [text("fragment1", fin=False), ping(b"ping payload")],
        (received_pong(b"ping payload"),),
    )


def _octet_wise() -> Iterator[Case]:
    """Messages at each edge of the 7-bit length form, one byte per write."""
    for kind in ("text", "binary"):
        for size in _OCTET_LENGTHS:
            if kind == "text":
                frame, echo = text("*" * size), received_text("*" * size)
            else:
                frame, echo = binary(b"\xfe" * size), received_binary(b"\xfe" * size)
            yield _echoes(
                f"Send a {kind} message with payload of length {size} in octet-wise chops.",
                f"The {kind} message is echo'ed: a frame header split at any byte is still "
                "a header (RFC 6455 §5.2).",
                [frame],
                (echo,),
                chop=1,
            )


def _bursts() -> Iterator[Case]:
    """Many frames in one write, answered in order (§5.4, §5.5.2)."""
    messages = (
        text(""),
        binary(b"\x01" * 125),
        text("é" * 63),
        binary(b"\x02" * 65536),
        text("end"),
    )
    echoes = tuple(
        received_text(f.payload) if f.opcode == TEXT else received_binary(f.payload)
        for f in messages
    )
    mixed = (
        ping(b"1"),
        pong(b"unsolicited"),
        text("frag", fin=False),
        ping(b"2"),
        cont("ment"),
        binary(b"\x00\xff"),
        text("last"),
    )
    mixed_answers = (
        received_pong(b"1"),
        received_pong(b"2"),
        received_text("fragment"),
        received_binary(b"\x00\xff"),
        received_text("last"),
    )
    for chop, how in ((None, "in one write"), (7, "in writes of 7 bytes")):
        yield _echoes(
            f"Send 5 text and binary messages of 0 to 65536 bytes {how}.",
            "Each message is echo'ed, in order.",
            messages,
            echoes,
            chop=chop,
        )
        yield _echoes(
            f"Send a ping, an unsolicited pong, a text message in two fragments with a ping "
            f"between them, a binary and a text message, {how}.",
            "Both pings are answered, nothing answers the pong, then each message is echo'ed, "
            "in order (RFC 6455 §5.5.2, §5.5.3).",
            mixed,
            mixed_answers,
            chop=chop,
        )
    payloads = tuple(f"payload-{n}".encode() for n in range(10))
    yield dataclasses.replace(
        _echoes(
            "Send 10 pings with payload in one write.",
            "A pong for each ping, in order. A pong for the last ping only (RFC 6455 §5.5.3: "
            "an endpoint MAY answer only the most recent of several pings) is NON-STRICT.",
            [ping(p) for p in payloads],
            tuple(received_pong(p) for p in payloads),
        ),
        non_strict=(received_pong(payloads[-1]),),
    )
    yield _fails(
        "Send a ping, a text message, a binary message, a text message in two fragments, "
        "a text frame with RSV = 4, then a ping and a text message, in one write.",
        "RFC 6455 §5.2, the reserved bits MUST be 0; everything before the bad frame is "
        "answered and echo'ed, in order (SPEC_NOTES), nothing after it",
        [
            ping(b"1"),
            text("one"),
            binary(b"two"),
            text("thr", fin=False),
            cont("ee"),
            text("bad", rsv=4),
            ping(b"never"),
            text("never"),
        ],
        (
            received_pong(b"1"),
            received_text("one"),
            received_binary(b"two"),
            received_text("three"),
        ),
        non_strict=(received_pong(b"1"),),
    )


def _text() -> Iterator[Case]:
    """§8.1: invalid UTF-8 fails the connection with 1007, as soon as it is seen."""
    surrogate = KOSME + SURROGATE + EDITED
    cut = (len(KOSME) + 1, len(KOSME) + 2)
    yield fail_fast_in_frames(
        "rules",
        "As case 6.4.2, with a UTF-16 surrogate (U+D800, ED A0 80) instead of 0x110000: the "
        "2nd frame holds only its second octet, A0, the first that no valid text can have "
        "after ED.",
        surrogate,
        cut,
    )
    yield dataclasses.replace(
        _fails(
            "Send a ping, a text message 'fine', then a text message whose payload is the "
            "octet FF, in one write.",
            "RFC 6455 §8.1, invalid UTF-8; the ping and the message before the bad one are "
            "answered first, in order (SPEC_NOTES)",
            [ping(b"p"), text("fine"), text(b"\xff")],
            (received_pong(b"p"), received_text("fine")),
            non_strict=(received_pong(b"p"),),
        ),
        expectation="The pong and the echo of 'fine', then the connection is failed with 1007 "
        "(invalid frame payload data, RFC 6455 §7.4.1): RFC 6455 §8.1, invalid UTF-8. Failing "
        "it with the pong but without the echo is NON-STRICT (SPEC_NOTES).",
        close=fails(1007),
    )


def _close_frames() -> Iterator[Case]:
    """§5.5.1: a close frame's reason is UTF-8; §7.4: which codes may travel."""

    def sends(description: str, expectation: str, frame: Frame, expected: ExpectedClose) -> Case:
        return Case("rules", description, expectation, (Send((frame,)),), ok=(), close=expected)

    yield sends(
        "Send a close frame with code 1000 and a reason of one octet, CE: a 2-octet "
        "character cut after its first.",
        "Clean close with protocol error or invalid utf8 code or dropped TCP: the reason is "
        "not UTF-8 (RFC 6455 §5.5.1, §8.1).",
        close(1000, b"\xce"),
        refuse(1002, 1007),
    )
    yield sends(
        f"Send a close frame with code 3000 and a reason of multi-byte UTF-8: "
        f"{KOSME.decode()} ({KOSME.hex()}).",
        "Clean close with normal or echoed code: the reason is valid UTF-8.",
        close(3000, KOSME),
        echo(1000, 3000),
    )
    for code, name in ((1012, "Service Restart"), (1013, "Try Again Later"), (1014, "Bad Gateway")):
        yield sends(
            f"Send close with close code {code} ({name}, registered with IANA after RFC 6455).",
            "Clean close with normal or echoed code: RFC 6455 §7.4.2 reserves 1000 to 2999 "
            "for codes defined later, and IANA registers this one for endpoints to send.",
            close(code),
            echo(1000, code),
        )
    yield sends(
        "Send close with close code 1015 (TLS handshake failure).",
        'Clean close with protocol error code or drop TCP: RFC 6455 §7.4.1, 1015 "MUST NOT '
        'be set as a status code in a Close control frame by an endpoint".',
        close(1015),
        refuse(1002),
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Cases rules.1 onwards."""
    sections = (
        _masking(),
        _lengths(),
        _control_frames(),
        _reserved_bits(),
        _reserved_opcodes(),
        _fragmentation(),
        _octet_wise(),
        _bursts(),
        _text(),
        _close_frames(),
    )
    for number, case in enumerate(chain.from_iterable(sections), 1):
        yield dataclasses.replace(case, id=f"rules.{number}")
