"""Family 9, limits and performance, scaled; and the ``limits`` group, the testee's own limit.

Autobahn's family 9 sends big messages (9.1 text and 9.2 binary, 64 KiB to
16 MiB), a 4 MiB message in fragments of 64 bytes to 4 MiB (9.3, 9.4), a 1 MiB
message written in chops of 64 to 2048 bytes (9.5, 9.6), and 1000 round trips
of small messages (9.7, 9.8). It is a performance family: a case is OK when the
echo comes back as sent, and nothing else (no timing) is recorded.

Here every size, chop size and message count is multiplied by
:attr:`~.CatalogueOptions.scale` (at least one byte, one message), while the
fragment sizes of 9.3 and 9.4 stay Autobahn's (up to the message's size); the default,
1/64, sends a 256 KiB message at most and plays the family in about a second
in memory per testee role. Each description gives the size sent and Autobahn's. The
round trips of 9.7 and 9.8 keep Autobahn's message sizes (4 KiB at most): only
their number is scaled.

The ``limits`` group checks :attr:`~.CatalogueOptions.max_size`, the testee's
maximum message size, when one is given (RFC 6455 §10.4: an endpoint that
limits frame or message sizes fails the connection with 1009, §7.4.1): a
message of exactly that size is echoed; one byte more fails with 1009, whether
it comes in one frame or in many small fragments (the limit is on the message's
running total, not on each frame); a frame header announcing ``2**63 - 1``
bytes, a legal length (§5.2: the most significant bit is 0), fails with 1009
before any payload arrives. The limit counts bytes, not characters (a text of
two-byte characters), and pings between fragments do not count towards it.
Under permessage-deflate (limits.12 onwards; UNIMPLEMENTED for a testee that
declines it) the limit holds the message as inflated: a small compressed
payload that inflates past it, a compression bomb among them, fails with 1009.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from ..cases import (
    NORMAL_CLOSE,
    Case,
    Deflate,
    Send,
    SendMessage,
    Step,
    WaitFor,
    fails,
    received_binary,
    received_pong,
    received_text,
)
from ..engine import DEFAULT_TIMEOUT
from ..wire import BINARY, Frame, binary, cont, ping, text
from .deflate import deflated, sync_flushed

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = [
    "LIMIT_FRAGMENTS",
    "cases",
    "deflate_limit_cases",
    "limit_cases",
    "more_limit_cases",
    "performance_cases",
    "scaled",
]

KIB = 2**10
MIB = 2**20

_TEXT_PATTERN = b"BAsd7&jh23"
"""What Autobahn's big text messages (9.1, 9.5) repeat."""
_BINARY_PATTERN = b"\x00\xfe\x23\xfa\xf0"
"""What Autobahn's big binary messages (9.2, 9.6) repeat."""

_SIZES = (64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB)
"""The message sizes of 9.1.x and 9.2.x, with Autobahn's time limits below."""
_SIZE_WAITS = (10, 10, 100, 100, 100, 100)
_FRAGMENTED = 4 * MIB
"""The message size of 9.3.x and 9.4.x."""
_FRAGMENT_SIZES = (64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB)
_CHOPPED = MIB
"""The message size of 9.5.x and 9.6.x."""
_CHOP_SIZES = (64, 128, 256, 512, KIB, 2 * KIB)
_ROUND_TRIPS = (0, 16, 64, 256, KIB, 4 * KIB)
"""The message sizes of 9.7.x and 9.8.x, 1000 round trips each."""
_ROUND_TRIP_COUNT = 1000

LIMIT_FRAGMENTS = 64
"""Into how many fragments limits.3 and limits.4 cut a message one byte over the limit."""


def scaled(amount: int, scale: float) -> int:
    """``amount`` times ``scale``, rounded, at least 1."""
    return max(1, round(amount * scale))


def _fill(pattern: bytes, size: int) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


def _label(size: int) -> str:
    """Autobahn's way of writing a size: ``64 * 2**10 (64k)``, ``4 * 2**20 (4M)``."""
    if size >= MIB:
        return f"{size // MIB} * 2**20 ({size // MIB}M)"
    return f"{size // KIB} * 2**10 ({size // KIB}k)"


def _short(size: int) -> str:
    """``64``, ``1k``, ``4M``."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB}M"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB}k"
    return str(size)


def _scale_note(scale: float) -> str:
    if scale == 1:
        return ""
    inverse = 1 / scale
    shown = f"1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-9 else f"{scale:g}"
    return f" (scaled by {shown})"


def _timeout(seconds: int, scale: float) -> float | None:
    """Autobahn's time limit for the case, scaled, if it is longer than the runner's default."""
    wait = seconds * scale
    return wait if wait > DEFAULT_TIMEOUT else None


def _kind(binary_message: bool) -> str:
    return "binary" if binary_message else "text"


def _big(number: int, scale: float, *, binary_message: bool) -> Case:
    """9.1.x (text) and 9.2.x (binary): one big message in one frame."""
    full = _SIZES[number - 1]
    size = scaled(full, scale)
    pattern = _BINARY_PATTERN if binary_message else _TEXT_PATTERN
    data = _fill(pattern, size)
    kind = _kind(binary_message)
    echo = received_binary(data) if binary_message else received_text(data)
    return Case(
        id=f"9.{2 if binary_message else 1}.{number}",
        description=f"Send {kind} message message with payload of length {size}: "
        f"Autobahn's {_label(full)}{_scale_note(scale)}.",
        expectation=f"Receive echo'ed {kind} message (with payload as sent).",
        steps=(SendMessage(data, binary=binary_message),),
        ok=(echo,),
        close=NORMAL_CLOSE,
        timeout=_timeout(_SIZE_WAITS[number - 1], scale),
    )


def _fragmented(number: int, scale: float, *, binary_message: bool) -> Case:
    """9.3.x (text) and 9.4.x (binary): a 4 MiB message in fragments of increasing size."""
    size = scaled(_FRAGMENTED, scale)
    full_fragment = _FRAGMENT_SIZES[number - 1]
    # The fragment sizes stay Autobahn's (up to the scaled message's size): scaled too,
    # 9.3.1 would cut 64 KiB into 65,536 fragments of one byte, which servers rightly cap.
    fragment = min(full_fragment, size)
    data = (b"\xfe" if binary_message else b"*") * size
    kind = _kind(binary_message)
    echo = received_binary(data) if binary_message else received_text(data)
    return Case(
        id=f"9.{4 if binary_message else 3}.{number}",
        description=f"Send fragmented {kind} message message with message payload of length "
        f"{size} in fragments of {fragment}: Autobahn's {_label(_FRAGMENTED)} in fragments "
        f"of {_short(full_fragment)}{_scale_note(scale)}.",
        expectation=f"Receive echo'ed {kind} message (with payload as sent).",
        steps=(SendMessage(data, binary=binary_message, fragment_size=fragment),),
        ok=(echo,),
        close=NORMAL_CLOSE,
        timeout=_timeout(100, scale),
    )


def _chopped(number: int, scale: float, *, binary_message: bool) -> Case:
    """9.5.x (text) and 9.6.x (binary): a 1 MiB message in one frame, written in chops."""
    size = scaled(_CHOPPED, scale)
    full_chop = _CHOP_SIZES[number - 1]
    chop = scaled(full_chop, scale)
    data = _fill(_BINARY_PATTERN if binary_message else _TEXT_PATTERN, size)
    frame = binary(data) if binary_message else text(data)
    kind = _kind(binary_message)
    echo = received_binary(data) if binary_message else received_text(data)
    return Case(
        id=f"9.{6 if binary_message else 5}.{number}",
        description=f"Send {kind} message message with payload of length {size}. Sent out data "
        f"in chops of {chop} octets: Autobahn's {_label(_CHOPPED)} in chops of {full_chop}"
        f"{_scale_note(scale)}.",
        expectation=f"Receive echo'ed {kind} message (with payload as sent).",
        steps=(Send((frame,), chop=chop),),
        ok=(echo,),
        close=NORMAL_CLOSE,
        timeout=_timeout(1000, scale),
    )


def _round_trips(number: int, scale: float, *, binary_message: bool) -> Case:
    """9.7.x (text) and 9.8.x (binary): small messages, each sent once the one before came back."""
    size = _ROUND_TRIPS[number - 1]
    count = scaled(_ROUND_TRIP_COUNT, scale)
    frame = binary(b"\xfe" * size) if binary_message else text(b"*" * size)
    kind = _kind(binary_message)
    echo = received_binary(frame.payload) if binary_message else received_text(frame.payload)
    steps: list[Step] = []
    for sent in range(1, count + 1):
        steps += [Send((frame,)), WaitFor(sent)]
    return Case(
        id=f"9.{8 if binary_message else 7}.{number}",
        description=f"Send {count} {kind} messages of payload size {size} to measure "
        f"implementation/network RTT (round trip time) / latency: Autobahn sends "
        f"{_ROUND_TRIP_COUNT}{_scale_note(scale)}.",
        expectation=f"Receive echo'ed {kind} messages (with payload as sent).",
        steps=tuple(steps),
        ok=(echo,) * count,
        close=NORMAL_CLOSE,
    )


def performance_cases(scale: float) -> Iterator[Case]:
    """Family 9: 9.1.1 to 9.8.6, sizes and counts scaled by ``scale``."""
    for binary_message in (False, True):
        for number in range(1, len(_SIZES) + 1):
            yield _big(number, scale, binary_message=binary_message)
    for binary_message in (False, True):
        for number in range(1, len(_FRAGMENT_SIZES) + 1):
            yield _fragmented(number, scale, binary_message=binary_message)
    for binary_message in (False, True):
        for number in range(1, len(_CHOP_SIZES) + 1):
            yield _chopped(number, scale, binary_message=binary_message)
    for binary_message in (False, True):
        for number in range(1, len(_ROUND_TRIPS) + 1):
            yield _round_trips(number, scale, binary_message=binary_message)


def limit_cases(max_size: int) -> Iterator[Case]:
    """The ``limits`` group for a testee whose maximum message size is ``max_size``."""
    over = b"*" * (max_size + 1)
    fragment = max(1, -(-len(over) // LIMIT_FRAGMENTS))
    at = over[:max_size]
    yield Case(
        id="limits.1",
        description=f"Send a text message of exactly {max_size} bytes, the testee's maximum.",
        expectation="Receive echo'ed text message (with payload as sent).",
        steps=(SendMessage(at),),
        ok=(received_text(at),),
        close=NORMAL_CLOSE,
    )
    yield Case(
        id="limits.2",
        description=f"Send a text message of {max_size + 1} bytes, one over the testee's "
        "maximum, in one frame.",
        expectation="The testee fails the connection with 1009 (message too big, RFC 6455 "
        "§7.4.1), from the frame header at best; nothing is echoed.",
        steps=(Send((text(over),)),),
        ok=(),
        close=fails(1009),
    )
    for number, binary_message in ((3, False), (4, True)):
        kind = _kind(binary_message)
        yield Case(
            id=f"limits.{number}",
            description=f"Send a {kind} message of {max_size + 1} bytes, one over the testee's "
            f"maximum, in fragments of {fragment} bytes.",
            expectation="The testee fails the connection with 1009: the limit is on the "
            "message, whose running total passes it, not on each frame; nothing is echoed.",
            steps=(SendMessage(over, binary=binary_message, fragment_size=fragment),),
            ok=(),
            close=fails(1009),
        )
    yield Case(
        id="limits.5",
        description="Send only the header of a binary frame announcing 2**63 - 1 bytes of "
        "payload (legal: the length's most significant bit is 0, RFC 6455 §5.2).",
        expectation="The testee fails the connection with 1009 at once, without waiting "
        "for the payload (a 1002 would call a legal length a protocol error).",
        steps=(Send((Frame(BINARY, length=2**63 - 1),)),),
        ok=(),
        close=fails(1009),
    )
    yield Case(
        id="limits.6",
        description=f"Send three messages of exactly {max_size} bytes each: text, binary, text.",
        expectation="Receive the three echoed: the limit is per message, not per connection.",
        steps=(SendMessage(at), SendMessage(at, binary=True), SendMessage(at)),
        ok=(received_text(at), received_binary(at), received_text(at)),
        close=NORMAL_CLOSE,
    )


def _two_byte_text(size: int) -> bytes:
    """A text of ``size`` bytes, two-byte characters but for one ASCII letter when odd."""
    return b"a" * (size % 2) + "é".encode() * (size // 2)


def more_limit_cases(max_size: int) -> Iterator[Case]:
    """limits.7 to limits.11: the limit on bytes, per message, in fragments, pings aside."""
    over = b"\xfe" * (max_size + 1)
    at = _two_byte_text(max_size)
    fragment = max(1, -(-max_size // LIMIT_FRAGMENTS))
    too_big = "The testee fails the connection with 1009 (message too big, RFC 6455 §7.4.1)"
    yield Case(
        id="limits.7",
        description=f"Send a binary message of {max_size + 1} bytes, one over the testee's "
        "maximum, in one frame.",
        expectation=f"{too_big}, from the frame header at best; nothing is echoed.",
        steps=(Send((binary(over),)),),
        ok=(),
        close=fails(1009),
    )
    yield Case(
        id="limits.8",
        description=f"Send a text message of exactly {max_size} bytes of two-byte characters "
        "('é', C3 A9).",
        expectation="Receive echo'ed text message: the limit counts bytes, and the message "
        "is at it.",
        steps=(SendMessage(at),),
        ok=(received_text(at),),
        close=NORMAL_CLOSE,
    )
    yield Case(
        id="limits.9",
        description=f"Send a text message of {max_size + 1} bytes: the two-byte characters "
        "of limits.8 and '!', far fewer characters than the maximum.",
        expectation=f"{too_big}: the limit counts bytes, not characters; nothing is echoed.",
        steps=(Send((text(at + b"!"),)),),
        ok=(),
        close=fails(1009),
    )
    yield Case(
        id="limits.10",
        description=f"Send a text message of exactly {max_size} bytes in fragments of "
        f"{fragment} bytes.",
        expectation="Receive echo'ed text message: the running total reaches the limit, "
        "it does not pass it.",
        steps=(SendMessage(b"*" * max_size, fragment_size=fragment),),
        ok=(received_text(b"*" * max_size),),
        close=NORMAL_CLOSE,
    )
    data = b"\x01" * max_size
    cut = max_size - max_size // 10
    yield Case(
        id="limits.11",
        description=f"Send a binary message of exactly {max_size} bytes in two fragments "
        "with a ping of 125 bytes between them.",
        expectation="Receive the pong, then the echo'ed message: a control frame between "
        "fragments is not part of the message (RFC 6455 §5.4) and does not count.",
        steps=(Send((binary(data[:cut], fin=False), ping(b"p" * 125), cont(data[cut:]))),),
        ok=(received_pong(b"p" * 125), received_binary(data)),
        close=NORMAL_CLOSE,
    )


def _deflated_mebibytes_of_zeros(count: int) -> bytes:
    """``count`` MiB of zero bytes compressed as one message, cheaply.

    One MiB compressed and sync-flushed refers back only to zeros of its own (or before
    it, zeros too): the same bytes repeated ``count`` times inflate to ``count`` MiB.
    """
    compressor = zlib.compressobj(wbits=-9)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return (block * count)[:-4]  # the message's tail (RFC 7692 §7.2.1)


def deflate_limit_cases(max_size: int) -> Iterator[Case]:
    """limits.12 to limits.16: the limit on the inflated message under permessage-deflate."""
    zeros = bytes(max_size)
    halves = sync_flushed(bytes(max_size - max_size // 2), bytes(max_size // 2 + 1))
    bomb = -(-max(MIB, 64 * (max_size + 1)) // MIB) * MIB
    bomb_data = _deflated_mebibytes_of_zeros(bomb // MIB)
    too_big = "The testee fails the connection with 1009 (message too big, RFC 6455 §7.4.1)"
    compressed = "a binary message compressed (RSV1 set, RFC 7692)"
    steps: tuple[tuple[str, str, tuple[Frame, ...], bool], ...] = (
        (
            f"Send {compressed} that inflates to exactly {max_size} zero bytes, the testee's "
            "maximum.",
            "Receive echo'ed binary message: the inflated message is at the limit.",
            (binary(deflated(zeros), rsv=4),),
            True,
        ),
        (
            f"Send {compressed} that inflates to {max_size + 1} zero bytes, one over the "
            "testee's maximum.",
            f"{too_big}: the limit holds the inflated message; nothing is echoed.",
            (binary(deflated(zeros + b"\x00"), rsv=4),),
            False,
        ),
        (
            f"Send {compressed} in two fragments that together inflate to {max_size + 1} zero "
            "bytes.",
            f"{too_big}: the limit holds the inflated running total; nothing is echoed.",
            (binary(halves[0], fin=False, rsv=4), cont(halves[1])),
            False,
        ),
        (
            f"Send {compressed} of {len(bomb_data)} bytes that inflates to {bomb} "
            "zero bytes (a compression bomb).",
            f"{too_big}, without inflating the rest of the bomb; nothing is echoed.",
            (binary(bomb_data, rsv=4),),
            False,
        ),
        (
            f"Send an uncompressed binary message (RSV1 clear) of {max_size + 1} bytes, "
            "permessage-deflate agreed.",
            f"{too_big}; nothing is echoed.",
            (binary(zeros + b"\x00"),),
            False,
        ),
    )
    for number, (description, expectation, frames, echoed) in enumerate(steps, 12):
        yield Case(
            id=f"limits.{number}",
            description=description,
            expectation=expectation,
            steps=(Send(frames),),
            ok=(received_binary(zeros),) if echoed else (),
            close=NORMAL_CLOSE if echoed else fails(1009),
            deflate=Deflate(),
        )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Family 9, scaled by ``options.scale``; the limits group if ``options.max_size`` is set."""
    yield from performance_cases(options.scale)
    if options.max_size is not None:
        yield from limit_cases(options.max_size)
        yield from more_limit_cases(options.max_size)
        yield from deflate_limit_cases(options.max_size)
