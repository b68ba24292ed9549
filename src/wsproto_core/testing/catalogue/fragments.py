"""Family 5, fragmentation: messages in several frames, and the rules that bind them.

RFC 6455 §5.4: a fragmented message is a first frame (text or binary, FIN
clear), continuation frames, and a last continuation with FIN set; "control
frames themselves MUST NOT be fragmented"; control frames MAY be injected in
the middle of a fragmented message, and a ping there is answered at once
(§5.5.2); a continuation with nothing to continue, or a new data frame inside a
fragmented message, is a protocol error: the testee fails the connection with
1002 (§7.1.7, §7.4.1).

Several cases come three times, the bytes written differently: in one write,
one write per frame ("frame-wise chops"), one write per byte ("octet-wise
chops"). A testee must be agnostic to how the stream is cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import NORMAL_CLOSE, Case, Send, WaitFor, fails, received_pong, received_text
from ..wire import cont, ping, pong, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..wire import Frame
    from . import CatalogueOptions

__all__ = ["cases"]

_ECHOED = "Message is processed and echo'ed back to us."
_NOTHING_TO_CONTINUE = (
    "The connection is failed immediately, since there is no message to continue."
)
_NOT_FRAGMENTED = "Connection is failed immediately, since control message MUST NOT be fragmented."
_CHOPS: tuple[tuple[int | None, str], ...] = (
    (None, "one chop"),
    (0, "per-frame chops"),
    (1, "octet-wise chops"),
)
"""The three ways cases 5.9 to 5.14 write their bytes, Autobahn's words for each."""

_FRAGMENTS = (text("fragment1", fin=False), cont("fragment2"))


def _fails(
    case_id: str,
    description: str,
    expectation: str,
    frames: tuple[Frame, ...],
    chop: int | None = None,
) -> Case:
    return Case(
        id=case_id,
        description=description,
        expectation=expectation,
        steps=(Send(frames, chop=chop),),
        ok=(),
        close=fails(1002),
    )


def _fragmented_control() -> Iterator[Case]:
    """5.1 and 5.2: a ping, a pong, in two fragments."""
    for case_id, first in (("5.1", ping), ("5.2", pong)):
        name = "Ping" if first is ping else "Pong"
        frames = (first(b"fragment1", fin=False), cont("fragment2"))
        yield _fails(case_id, f"Send {name} fragmented into 2 fragments.", _NOT_FRAGMENTED, frames)


def _fragmented_text() -> Iterator[Case]:
    """5.3 to 5.8: a text message in two fragments, alone and with a ping in between."""
    described = "Send text Message fragmented into 2 fragments"
    for case_id, chop, how in (
        ("5.3", None, "."),
        ("5.4", 0, ", octets are sent in frame-wise chops."),
        ("5.5", 1, ", octets are sent in octet-wise chops."),
    ):
        yield Case(
            id=case_id,
            description=described + how,
            expectation=_ECHOED,
            steps=(Send(_FRAGMENTS, chop=chop),),
            ok=(received_text("fragment1fragment2"),),
            close=NORMAL_CLOSE,
        )
    with_ping = (_FRAGMENTS[0], ping(b"ping payload"), _FRAGMENTS[1])
    for case_id, chop, how in (
        ("5.6", None, ""),
        ("5.7", 0, " Octets are sent in frame-wise chops."),
        ("5.8", 1, " Octets are sent in octet-wise chops."),
    ):
        yield Case(
            id=case_id,
            description=f"{described}, one ping with payload in-between.{how}",
            expectation="A pong is received, then the message is echo'ed back to us.",
            steps=(Send(with_ping, chop=chop),),
            ok=(received_pong(b"ping payload"), received_text("fragment1fragment2")),
            close=NORMAL_CLOSE,
        )


def _nothing_to_continue() -> Iterator[Case]:
    """5.9 to 5.14: a continuation first, FIN set then clear, then a text message."""
    numbers = iter(range(9, 15))
    for fin in (True, False):
        frames = (cont("non-continuation payload", fin=fin), text("Hello, world!"))
        for chop, how in _CHOPS:
            yield _fails(
                f"5.{next(numbers)}",
                "Send unfragmented Text Message after Continuation Frame with "
                f"FIN = {str(fin).lower()}, where there is nothing to continue, sent in {how}.",
                _NOTHING_TO_CONTINUE,
                frames,
                chop,
            )


def _broken_sequences() -> Iterator[Case]:
    """5.15 to 5.18: continuations and text frames in orders RFC 6455 §5.4 forbids."""
    yield Case(
        id="5.15",
        description="Send text Message fragmented into 2 fragments, then Continuation Frame "
        "with FIN = false where there is nothing to continue, then unfragmented Text "
        "Message, all sent in one chop.",
        expectation=_NOTHING_TO_CONTINUE,
        steps=(Send((*_FRAGMENTS, cont("fragment3", fin=False), text("fragment4"))),),
        ok=(received_text("fragment1fragment2"),),
        non_strict=(),
        close=fails(1002),
    )
    for case_id, fin in (("5.16", False), ("5.17", True)):
        once = (cont("fragment1", fin=fin), text("fragment2", fin=False), cont("fragment3"))
        yield _fails(
            case_id,
            f"Repeated 2x: Continuation Frame with FIN = {str(fin).lower()} (where there is "
            "nothing to continue), then text Message fragmented into 2 fragments.",
            _NOTHING_TO_CONTINUE,
            once * 2,
        )
    yield _fails(
        "5.18",
        "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, "
        "sent in one chop.",
        "The connection is failed immediately, since all data frames after the initial data "
        "frame must have opcode 0.",
        (text("fragment1", fin=False), text("fragment2")),
    )


def _pings_inside(case_id: str, chop: int | None) -> Case:
    """5.19 and 5.20: five fragments, a ping after the second and after the fourth.

    Autobahn waits a second after the first ping; this peer waits for its pong
    instead (up to the timeout), then goes on.
    """
    first = (text("fragment1", fin=False), cont("fragment2", fin=False), ping(b"pongme 1!"))
    rest = (
        cont("fragment3", fin=False),
        cont("fragment4", fin=False),
        ping(b"pongme 2!"),
        cont("fragment5"),
    )
    if chop is None:
        description = (
            "A fragmented text message is sent in multiple frames. After sending the first "
            "2 frames of the text message, a Ping is sent. Then we wait for its Pong (or the "
            "timeout), then we send 2 more text fragments, another Ping and then the final "
            "text fragment. Everything is legal."
        )
        expectation = (
            "The peer immediately answers the first Ping before it has received the last "
            "text message fragment. The peer pong's back the Ping's payload exactly, and "
            "echo's the payload of the fragmented message back to us."
        )
    else:
        description = (
            "Same as Case 5.19, but send all frames with SYNC = True (each frame in a write "
            "of its own). Note, this does not change the octets sent in any way, only how "
            "the stream is chopped up on the wire."
        )
        expectation = (
            "Same as Case 5.19. Implementations must be agnostic to how octet stream is "
            "chopped up on wire (must be TCP clean)."
        )
    return Case(
        id=case_id,
        description=description,
        expectation=expectation,
        steps=(Send(first, chop=chop), WaitFor(1), Send(rest, chop=chop)),
        ok=(
            received_pong(b"pongme 1!"),
            received_pong(b"pongme 2!"),
            received_text("fragment1fragment2fragment3fragment4fragment5"),
        ),
        close=NORMAL_CLOSE,
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Cases 5.1 to 5.20."""
    yield from _fragmented_control()
    yield from _fragmented_text()
    yield from _nothing_to_continue()
    yield from _broken_sequences()
    yield _pings_inside("5.19", None)
    yield _pings_inside("5.20", 0)
