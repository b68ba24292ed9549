"""Family 7: the closing handshake, close frames' payloads and codes.

In every case but 7.1.1 the peer starts the closing handshake itself, at once,
and judges the testee's answer (RFC 6455 §5.5.1, §7.4):

===========  ================================================================
Cases        What the peer sends, what must follow
===========  ================================================================
7.1.x        frames after its close (a second close, a ping, a message, the
             rest of a message): ignored; 7.1.6, a big message just before
             the close, is INFORMATIONAL
7.3.x        close payloads of 0, 1, 2, 2 + reason, 2 + 123 and 2 + 124
             octets: the 1-octet one and the 126-octet frame fail with 1002
7.5.1        a reason that is not UTF-8: 1002 or 1007
7.7.x        codes that may travel: echoed (or answered with 1000)
7.9.x        codes that may not (RFC 6455 §7.4.1, §7.4.2, IANA): 1002
7.13.x       codes 5000 and 65535, undefined: INFORMATIONAL
===========  ================================================================

How the answer is judged follows Autobahn: when the testee echoes a close,
its close may carry the code it received, 1000, or no code at all (``None``:
§5.5.1 says it "typically" echoes the code, so any close answers); when it
must refuse the close it received, it fails the connection with the code
named, and a testee that drops the TCP connection instead is NON-STRICT
(Autobahn: "or drop TCP").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import Case, ExpectedClose, Send, received_text
from ..wire import CLOSE, TEXT, Frame, close, cont, ping, text
from .utf8 import EDITED, KOSME, SURROGATE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = ["INVALID_CODES", "VALID_CODES", "cases", "echo", "refuse"]

VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
"""7.7.1 to 7.7.13: codes a close frame may carry (RFC 6455 §7.4.1, §7.4.2)."""

INVALID_CODES = (0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999)
"""7.9.1 to 7.9.9: codes a close frame may not carry.

Below 1000 unused; 1004 reserved; 1005 and 1006 never sent; 1016 to 2999
reserved for the protocol and unassigned (IANA registers 1012 to 1015 since
RFC 6455; Autobahn took 1014 and 1015 out of this list in 2018).
"""

_HELLO = "Hello World!"
_BIG_SIZE = 256 * 2**10
"""7.1.6's message: 256 KiB."""

_NORMAL = "Clean close with normal code."
"""Autobahn's expectation when the testee must answer the peer's close with 1000."""


def echo(*codes: int) -> ExpectedClose:
    """The testee answers the peer's close cleanly, with one of ``codes`` or no code."""
    return ExpectedClose(closed_by_me=True, codes=(*codes, None))


def refuse(*codes: int) -> ExpectedClose:
    """The testee refuses the peer's close: it fails the connection with one of ``codes``."""
    return ExpectedClose(closed_by_me=True, codes=codes, require_clean=False)


def _sends(
    case_id: str,
    description: str,
    expectation: str,
    frames: tuple[Frame, ...],
    expected: ExpectedClose,
) -> Case:
    """The peer sends ``frames``, its close among them; the testee sends no message back."""
    return Case(case_id, description, expectation, (Send(frames),), ok=(), close=expected)


def _big_message() -> bytes:
    """7.1.6's payload: ``BAsd7&jh23`` repeated to 256 KiB."""
    pattern = b"BAsd7&jh23"
    return (pattern * (_BIG_SIZE // len(pattern) + 1))[:_BIG_SIZE]


def _after_close() -> Iterator[Case]:
    yield Case(
        "7.1.1",
        "Send a message followed by a close frame",
        "Echoed message followed by clean close with normal code.",
        (Send((text(_HELLO),)),),
        ok=(received_text(_HELLO),),
        close=echo(1000),
    )
    yield _sends(
        "7.1.2",
        "Send two close frames",
        "Clean close with normal code. Second close frame ignored.",
        (close(1000), close()),
        echo(1000),
    )
    yield _sends(
        "7.1.3",
        "Send a ping after close message",
        "Clean close with normal code, no pong.",
        (close(1000), ping()),
        echo(1000),
    )
    yield _sends(
        "7.1.4",
        "Send text message after sending a close frame.",
        "Clean close with normal code. Text message ignored.",
        (close(1000), text(_HELLO)),
        echo(1000),
    )
    yield _sends(
        "7.1.5",
        "Send message fragment1 followed by close then fragment",
        _NORMAL,
        (text("fragment1", fin=False), close(1000), cont("fragment2")),
        echo(1000),
    )
    yield Case(
        "7.1.6",
        "Send 256K message followed by close then a ping",
        "Case outcome depends on implementation defined close behavior. Message and close "
        "frame are sent back to back. If the close frame is processed before the text message "
        "write is complete (as can happen in asynchronous processing models) the close frame "
        "is processed first and the text message may not be received or may only be partially "
        "received.",
        (Send((Frame(TEXT, _big_message()), text(_HELLO), close(1000), ping())),),
        ok=None,
        close=echo(1000),
    )


def _payloads() -> Iterator[Case]:
    yield _sends(
        "7.3.1",
        "Send a close frame with payload length 0 (no close code, no close reason)",
        _NORMAL,
        (close(),),
        echo(1000),
    )
    yield _sends(
        "7.3.2",
        "Send a close frame with payload length 1",
        "Clean close with protocol error or drop TCP.",
        (Frame(CLOSE, b"a"),),
        refuse(1002),
    )
    yield _sends(
        "7.3.3",
        "Send a close frame with payload length 2 (regular close with a code)",
        _NORMAL,
        (close(1000),),
        echo(1000),
    )
    yield _sends(
        "7.3.4",
        "Send a close frame with close code and close reason",
        _NORMAL,
        (close(1000, _HELLO),),
        echo(1000),
    )
    yield _sends(
        "7.3.5",
        "Send a close frame with close code and close reason of maximum length (123)",
        _NORMAL,
        (close(1000, "*" * 123),),
        echo(1000),
    )
    yield _sends(
        "7.3.6",
        "Send a close frame with close code and close reason which is too long (124) - total "
        "frame payload 126 octets",
        "Clean close with protocol error code or dropped TCP connection.",
        (close(1000, "*" * 124),),
        refuse(1002),
    )
    reason = KOSME + SURROGATE + EDITED
    yield _sends(
        "7.5.1",
        f"Send a close frame with invalid UTF8 payload (reason: {reason.hex()})",
        "Clean close with protocol error or invalid utf8 code or dropped TCP.",
        (close(1000, reason),),
        refuse(1002, 1007),
    )


def _codes() -> Iterator[Case]:
    for n, code in enumerate(VALID_CODES, 1):
        yield _sends(
            f"7.7.{n}",
            f"Send close with valid close code {code}",
            "Clean close with normal or echoed code",
            (close(code),),
            echo(1000, code),
        )
    for n, code in enumerate(INVALID_CODES, 1):
        yield _sends(
            f"7.9.{n}",
            f"Send close with invalid close code {code}",
            "Clean close with protocol error code or drop TCP",
            (close(code),),
            refuse(1002),
        )
    for n, code in enumerate((5000, 65535), 1):
        yield Case(
            f"7.13.{n}",
            f"Send close with close code {code}",
            "Actual events are undefined by the spec.",
            (Send((close(code),)),),
            ok=None,
            close=ExpectedClose(
                closed_by_me=True, codes=(1000, code, 1002, None), require_clean=False
            ),
        )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """The cases of family 7: 7.1.1 to 7.13.2."""
    yield from _after_close()
    yield from _payloads()
    yield from _codes()
