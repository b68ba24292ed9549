"""Family 2, ping and pong: a pong for every ping, nothing for a pong.

RFC 6455 §5.5.2: an endpoint answers a ping with a pong carrying the same
application data, "as soon as is practical"; §5.5.3: an unsolicited pong is
not answered; §5.5: a control frame's payload is at most 125 bytes, a longer
one is a protocol error (1002).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import NORMAL_CLOSE, Case, Send, fails, received_pong
from ..wire import ping, pong

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = ["cases"]

_ANSWERED = "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
_ANSWERED_EMPTY = (
    "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code."
)
_UNSOLICITED = b"unsolicited pong payload"
_TEN = tuple(f"payload-{n}".encode() for n in range(10))


def _answered(case_id: str, description: str, payload: bytes) -> Case:
    """A ping the testee must answer with a pong carrying ``payload``."""
    return Case(
        id=case_id,
        description=description,
        expectation=_ANSWERED if payload else _ANSWERED_EMPTY,
        steps=(Send((ping(payload),)),),
        ok=(received_pong(payload),),
        close=NORMAL_CLOSE,
    )


def _unsolicited(case_id: str, payload: bytes) -> Case:
    """An unsolicited pong: nothing comes back."""
    what = "with payload" if payload else "without payload"
    return Case(
        id=case_id,
        description=f"Send unsolicited pong {what}. Verify nothing is received. "
        "Clean close with normal code.",
        expectation="Nothing.",
        steps=(Send((pong(payload),)),),
        ok=(),
        close=NORMAL_CLOSE,
    )


def _ten_pings(case_id: str, chop: int) -> Case:
    """Ten pings in a row: Autobahn wants ten pongs, RFC 6455 §5.5.3 allows the last alone."""
    how = " Send out octets in octet-wise chops." if chop == 1 else ""
    return Case(
        id=case_id,
        description=f"Send 10 Pings with payload.{how}",
        expectation="Pongs for our Pings with all the payloads. Note: This is not required "
        "by the Spec .. but we check for this behaviour anyway. Clean close with normal code. "
        "A Pong for the last Ping only (RFC 6455 §5.5.3: an endpoint MAY answer only the "
        "most recent of several Pings) is NON-STRICT.",
        steps=(Send(tuple(ping(p) for p in _TEN), chop=chop),),
        ok=tuple(received_pong(p) for p in _TEN),
        non_strict=(received_pong(_TEN[-1]),),
        close=NORMAL_CLOSE,
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Cases 2.1 to 2.11."""
    yield _answered("2.1", "Send ping without payload.", b"")
    yield _answered("2.2", "Send ping with small text payload.", b"Hello, world!")
    yield _answered(
        "2.3",
        "Send ping with small binary (non UTF-8) payload.",
        b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff",
    )
    yield _answered("2.4", "Send ping with binary payload of 125 octets.", b"\xfe" * 125)
    yield Case(
        id="2.5",
        description="Send ping with binary payload of 126 octets.",
        expectation="Connection is failed immediately (1002/Protocol Error), since control "
        "frames are only allowed to have payload up to and including 125 octets.",
        steps=(Send((ping(b"\xfe" * 126),)),),
        ok=(),
        close=fails(1002),
    )
    yield Case(
        id="2.6",
        description="Send ping with binary payload of 125 octets, send in octet-wise chops.",
        expectation="Pong with payload echo'ed is sent in reply to Ping. Implementations must "
        "be TCP clean. Clean close with normal code.",
        steps=(Send((ping(b"\xfe" * 125),), chop=1),),
        ok=(received_pong(b"\xfe" * 125),),
        close=NORMAL_CLOSE,
    )
    yield _unsolicited("2.7", b"")
    yield _unsolicited("2.8", _UNSOLICITED)
    yield Case(
        id="2.9",
        description="Send unsolicited pong with payload. Send ping with payload. "
        "Verify pong for ping is received.",
        expectation="Nothing in reply to own Pong, but Pong with payload echo'ed in reply "
        "to Ping. Clean close with normal code.",
        steps=(Send((pong(_UNSOLICITED), ping(b"ping payload"))),),
        ok=(received_pong(b"ping payload"),),
        close=NORMAL_CLOSE,
    )
    yield _ten_pings("2.10", chop=0)
    yield _ten_pings("2.11", chop=1)
