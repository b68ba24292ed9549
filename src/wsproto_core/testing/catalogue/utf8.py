"""Family 6: UTF-8 in text messages, and failing fast on invalid text.

RFC 6455 §5.6: a text message's payload, the whole message's, is UTF-8
(RFC 3629), so a code point may be split across frames; §8.1: an endpoint
that receives invalid UTF-8 MUST fail the connection, with 1007 (§7.4.1).
Autobahn also wants it to fail *as soon as* the bad byte arrives: 6.4.x send a
valid part, then the part with the bad byte, then the rest; a testee that
reads on past the bad byte and fails only at the end of the message is
NON-STRICT.

===========  ================================================================
Cases        What the peer sends
===========  ================================================================
6.1.x        empty text messages, whole and in empty fragments
6.2.x        valid UTF-8: whole, in two fragments, one octet per frame
6.3.x        invalid UTF-8: whole, one octet per frame
6.4.x        fail fast: valid part, bad part, rest; in frames or in parts of
             one frame
6.5.x-6.23.x Markus Kuhn's "UTF-8 decoder capability and stress test"
             sequences, one text frame each: the valid ones are echoed, the
             invalid ones fail with 1007
===========  ================================================================

Which stress sequences are valid is not written down here but decided by
Python's strict UTF-8 decoder, which follows RFC 3629 (no surrogates, nothing
above U+10FFFF, no overlong forms; noncharacters are valid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import Case, Send, Sync, WaitFor, fails, received_pong, received_text
from ..wire import cont, ping, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..cases import Step
    from ..wire import Frame
    from . import CatalogueOptions

__all__ = [
    "BEYOND",
    "EDITED",
    "HELLO",
    "KOSME",
    "STRESS_SECTIONS",
    "SURROGATE",
    "cases",
    "fail_fast_in_frames",
    "is_utf8",
]

_ECHOED = "The message is echo'ed back to us."
_FAILED_AT_ONCE = "The connection is failed immediately, since the payload is not valid UTF-8."

HELLO = "Hello-µ@ßöäüàá-UTF-8!!"
KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
"""Greek "kosme", Kuhn's "correct UTF-8 text": 11 octets, its omicron U+1F79 in 3.

Typed on a keyboard, "κόσμε" usually has U+03CC (2 octets) instead: 10 octets,
which would shift 6.4.x's cut points and leave 6.6 one prefix short.
"""
SURROGATE = b"\xed\xa0\x80"
"""U+D800, a UTF-16 surrogate: not UTF-8 (RFC 3629 §3); invalid at its second octet."""
BEYOND = b"\xf4\x90\x80\x80"
"""0x110000 in UTF-8's integer scheme, beyond U+10FFFF: invalid at its second octet."""
EDITED = b"edited"


_LEADS = (0xC0, 0xE0, 0xF0, 0xF8, 0xFC)
"""The lead octets of 2- to 6-octet sequences."""


def _overlong(last: int) -> tuple[bytes, ...]:
    """Overlong forms of one character in 2 to 6 octets, ending with ``last``."""
    return tuple(bytes((lead, *(0x80,) * (n - 2), last)) for n, lead in enumerate(_LEADS, 2))


_TRUNCATED = (
    b"\xc0",
    b"\xe0\x80",
    b"\xf0\x80\x80",
    b"\xf8\x80\x80\x80",
    b"\xfc\x80\x80\x80\x80",
    b"\xdf",
    b"\xef\xbf",
    b"\xf7\xbf\xbf",
    b"\xfb\xbf\xbf\xbf",
    b"\xfd\xbf\xbf\xbf\xbf",
)
_HIGH_SURROGATES = (b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf")
_LOW_SURROGATES = (b"\xed\xb0\x80", b"\xed\xbe\x80", b"\xed\xbf\xbf")


def _noncharacters() -> tuple[bytes, ...]:
    """U+FFFE, U+FFFF and the last two code points of planes 1 to 16 (valid UTF-8)."""
    planes = (
        bytes((lead, second, 0xBF, last))
        for lead in (0xF0, 0xF1, 0xF2, 0xF3, 0xF4)
        for second in (0x8F, 0x9F, 0xAF, 0xBF)
        # F4 9F.. and above pass U+10FFFF; F0 8F.. is overlong (plane 0)
        if (lead != 0xF4 or second == 0x8F) and (lead, second) != (0xF0, 0x8F)
        for last in (0xBE, 0xBF)
    )
    return (b"\xef\xbf\xbe", b"\xef\xbf\xbf", *planes)


STRESS_SECTIONS: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    (
        "Some valid UTF-8 sequences",
        (
            b"hello\x24world",
            b"hello\xc2\xa2world",
            b"hello\xe2\x82\xacworld",
            b"hello\xf0\xa4\xad\xa2world",
            KOSME,
        ),
    ),
    (
        "All prefixes of a valid UTF-8 string that contains multi-byte code points",
        tuple(KOSME[:n] for n in range(1, len(KOSME) + 1)),
    ),
    (
        "First possible sequence of a certain length",
        (b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"),
    ),
    (
        "First possible sequence length 5/6 (invalid codepoints)",
        (b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"),
    ),
    (
        "Last possible sequence of a certain length",
        (b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"),
    ),
    (
        "Last possible sequence length 4/5/6 (invalid codepoints)",
        (b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"),
    ),
    (
        "Other boundary conditions",
        (b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf", BEYOND),
    ),
    (
        "Unexpected continuation bytes",
        (
            b"\x80",
            b"\xbf",
            b"\x80\xbf",
            b"\x80\xbf\x80",
            b"\x80\xbf\x80\xbf",
            b"\x80\xbf\x80\xbf\x80",
            b"\x80\xbf\x80\xbf\x80\xbf",
            bytes(range(0x80, 0xBF)),
        ),
    ),
    (
        "Lonely start characters",
        tuple(
            b"".join(bytes((lead, 0x20)) for lead in range(low, high))
            for low, high in ((0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD))
        ),
    ),
    ("Sequences with last continuation byte missing", _TRUNCATED),
    ("Concatenation of incomplete sequences", (b"".join(_TRUNCATED),)),
    ("Impossible bytes", (b"\xfe", b"\xff", b"\xfe\xfe\xff\xff")),
    ("Examples of an overlong ASCII character", _overlong(0xAF)),
    (
        "Maximum overlong sequences",
        (
            b"\xc1\xbf",
            b"\xe0\x9f\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xf8\x87\xbf\xbf\xbf",
            b"\xfc\x83\xbf\xbf\xbf\xbf",
        ),
    ),
    ("Overlong representation of the NUL character", _overlong(0x80)),
    ("Single UTF-16 surrogates", (*_HIGH_SURROGATES, *_LOW_SURROGATES)),
    (
        "Paired UTF-16 surrogates",
        tuple(
            high + low for high in _HIGH_SURROGATES for low in (b"\xed\xb0\x80", b"\xed\xbf\xbf")
        ),
    ),
    ("Non-character code points (valid UTF-8)", _noncharacters()),
    (
        "Unicode specials (i.e. replacement char)",
        tuple(bytes((0xEF, 0xBF, last)) for last in range(0xB9, 0xC0)),
    ),
)
"""Cases 6.5 to 6.23, a section each, in Autobahn's order: its title and sequences.

From Markus Kuhn's "UTF-8 decoder capability and stress test" (sections 1 to
5.3), as Autobahn arranges them: 6.5.1 is the first sequence of the first
section, 6.23.7 the last of the last.
"""


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (RFC 3629), whole: no sequence cut at the end."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _octets(data: bytes) -> tuple[Frame, ...]:
    """``data`` as a text message of one octet per frame (Autobahn's ``payload_frag_size=1``)."""
    last = len(data) - 1
    return tuple(
        (text if n == 0 else cont)(data[n : n + 1], fin=n == last) for n in range(len(data))
    )


def _echo(case_id: str, description: str, frames: tuple[Frame, ...], data: bytes) -> Case:
    """A valid text message the testee must echo; the peer then closes normally."""
    return Case(case_id, description, _ECHOED, (Send(frames),), ok=(received_text(data),))


def _refuse(case_id: str, description: str, frames: tuple[Frame, ...]) -> Case:
    """Invalid text the testee must fail the connection on, with 1007 (RFC 6455 §8.1)."""
    return Case(case_id, description, _FAILED_AT_ONCE, (Send(frames),), ok=(), close=fails(1007))


def _empty() -> Iterator[Case]:
    empty = "A message is echo'ed back to us (with empty payload)."
    yield Case(
        "6.1.1",
        "Send text message of length 0.",
        empty,
        (Send((text(""),)),),
        ok=(received_text(""),),
    )
    yield Case(
        "6.1.2",
        "Send fragmented text message, 3 fragments each of length 0.",
        empty,
        (Send((text("", fin=False), cont("", fin=False), cont(""))),),
        ok=(received_text(""),),
    )
    middle = "middle frame payload"
    yield Case(
        "6.1.3",
        "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
        "A message is echo'ed back to us (with payload = payload of middle fragment).",
        (Send((text("", fin=False), cont(middle, fin=False), cont(""))),),
        ok=(received_text(middle),),
    )


def _valid() -> Iterator[Case]:
    hello = HELLO.encode()
    yield _echo(
        "6.2.1",
        f"Send a valid UTF-8 text message in one fragment. MESSAGE: {HELLO} {hello.hex()}",
        (text(hello),),
        hello,
    )
    first, second = "Hello-µ@ßöä", "üàá-UTF-8!!"
    yield _echo(
        "6.2.2",
        "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point "
        f"boundary. MESSAGE FRAGMENT 1: {first} {first.encode().hex()} "
        f"MESSAGE FRAGMENT 2: {second} {second.encode().hex()}",
        (text(first, fin=False), cont(second)),
        hello,
    )
    octets = (
        "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending "
        "on positions which are not code point ends. MESSAGE: "
    )
    yield _echo("6.2.3", f"{octets}{HELLO} {hello.hex()}", _octets(hello), hello)
    yield _echo("6.2.4", f"{octets}{KOSME.decode()} {KOSME.hex()}", _octets(KOSME), KOSME)


def _invalid() -> Iterator[Case]:
    bad = KOSME + SURROGATE + EDITED
    yield _refuse(
        "6.3.1", f"Send invalid UTF-8 text message unfragmented. MESSAGE: {bad.hex()}", (text(bad),)
    )
    yield _refuse(
        "6.3.2",
        "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending "
        f"on positions which are not code point ends. MESSAGE: {bad.hex()}",
        _octets(bad),
    )


_FAST_PAYLOAD = KOSME + BEYOND + EDITED
"""6.4.x's message, invalid at its octet 12 (from 0): ``\\x90`` after ``\\xf4``."""

_PART_READ = b"part 1 read"
"""The payload of the ping 6.4.1 and 6.4.2 send after the first part (Autobahn's "timeout A")."""

_FAST_EXPECTATION = (
    "The first {what} is accepted (for frames: the ping after it is answered). The 2nd {what} "
    "should be rejected immediately (fail fast on UTF-8). If the testee still reads on (it "
    "answers the ping after the 2nd frame, or, for chops, is still open a timeout later), we "
    "expect the connection is failed at least then, since the complete message payload is not "
    "valid UTF-8: NON-STRICT."
)


def _parts_description(parts: tuple[bytes, bytes, bytes]) -> str:
    return " ".join(f"PART{n} = {part.hex()}" for n, part in enumerate(parts, 1))


def fail_fast_in_frames(case_id: str, intro: str, payload: bytes, cut: tuple[int, int]) -> Case:
    """6.4.1, 6.4.2: the message ``payload`` in three frames cut at ``cut``, a probe after two."""
    a, b = cut
    parts = (payload[:a], payload[a:b], payload[b:])
    steps: tuple[Step, ...] = (
        Send((text(parts[0], fin=False), ping(_PART_READ))),
        WaitFor(1),
        Send((cont(parts[1], fin=False),)),
        Sync(late=True),
        Send((cont(parts[2]),)),
    )
    return Case(
        case_id,
        f"{intro} MESSAGE PARTS: {_parts_description(parts)}",
        _FAST_EXPECTATION.format(what="frame"),
        steps,
        ok=(received_pong(_PART_READ),),
        close=fails(1007),
    )


def _fail_fast_in_chops(case_id: str, intro: str, cut: tuple[int, int]) -> Case:
    """6.4.3, 6.4.4: the message in one frame written in three parts, a pause after two.

    No ping can go inside a frame: the peer waits out the timeout instead.
    """
    a, b = cut
    frame = text(_FAST_PAYLOAD)
    parts = (_FAST_PAYLOAD[:a], _FAST_PAYLOAD[a:b], _FAST_PAYLOAD[b:])
    steps: tuple[Step, ...] = (
        Send((frame,), part=(0, a)),
        Sync(ping=False),
        Send((frame,), part=(a, b)),
        Sync(late=True, ping=False),
        Send((frame,), part=(b, None)),
    )
    return Case(
        case_id,
        f"{intro} MESSAGE PARTS: {_parts_description(parts)}",
        _FAST_EXPECTATION.format(what="chop"),
        steps,
        ok=(),
        close=fails(1007),
    )


def _fail_fast() -> Iterator[Case]:
    whole = (len(KOSME), len(KOSME) + len(BEYOND))
    octet = (len(KOSME) + 1, len(KOSME) + 2)
    yield fail_fast_in_frames(
        "6.4.1",
        "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is "
        "valid, then wait, then 2nd frame which contains the payload making the sequence "
        "invalid, then wait, then 3rd frame with rest. Note that PART1 and PART3 are valid "
        "UTF-8 in themselves, PART2 is a 0x110000 encoded as in the UTF-8 integer encoding "
        "scheme, but the codepoint is invalid (out of range).",
        _FAST_PAYLOAD,
        whole,
    )
    yield fail_fast_in_frames(
        "6.4.2",
        "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet "
        "making the complete payload invalid.",
        _FAST_PAYLOAD,
        octet,
    )
    yield _fail_fast_in_chops(
        "6.4.3",
        "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same "
        "message frame.",
        whole,
    )
    yield _fail_fast_in_chops(
        "6.4.4",
        "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same "
        "message frame.",
        octet,
    )


def _stress() -> Iterator[Case]:
    for section, (_, sequences) in enumerate(STRESS_SECTIONS, 5):
        for n, payload in enumerate(sequences, 1):
            case_id = f"6.{section}.{n}"
            if is_utf8(payload):
                yield _echo(
                    case_id,
                    "Send a text message with payload which is valid UTF-8 in one fragment. "
                    f"Payload: 0x{payload.hex()}",
                    (text(payload),),
                    payload,
                )
            else:
                yield _refuse(
                    case_id,
                    "Send a text message with payload which is not valid UTF-8 in one "
                    f"fragment. Payload: 0x{payload.hex()}",
                    (text(payload),),
                )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """The cases of family 6, 6.1.1 to 6.23.7."""
    yield from _empty()
    yield from _valid()
    yield from _invalid()
    yield from _fail_fast()
    yield from _stress()
