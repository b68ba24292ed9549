"""Family 1, framing: text and binary messages at every payload length edge.

RFC 6455 §5.2 encodes a payload length in 7 bits up to 125, in 16 bits from
126 to 65535 and in 64 bits beyond: cases 1.1.x (text) and 1.2.x (binary)
send one message at each side of each boundary (0, 125, 126, 127, 128, 65535,
65536 bytes), and the 65536-byte one again in writes of 997 bytes, which cut
the header and the payload at arbitrary places. The testee echoes each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import NORMAL_CLOSE, Case, Send, received_binary, received_text
from ..wire import binary, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = ["LENGTHS", "cases"]

LENGTHS = (0, 125, 126, 127, 128, 65535, 65536)
"""The payload lengths of cases x.1 to x.7, around the 7-, 16- and 64-bit length forms."""

CHOP = 997
"""The write size of cases 1.1.8 and 1.2.8."""


def _echo(number: int, size: int, *, binary_message: bool, chop: int | None) -> Case:
    kind = "binary" if binary_message else "text"
    frame = binary(b"\xfe" * size) if binary_message else text("*" * size)
    echo = received_binary(frame.payload) if binary_message else received_text(frame.payload)
    what = "payload 0" if size == 0 else f"payload of length {size}"
    how = "" if chop is None else f" Sent out data in chops of {chop} octets."
    payload = "with empty payload" if size == 0 else "with payload as sent"
    return Case(
        id=f"1.{2 if binary_message else 1}.{number}",
        description=f"Send {kind} message with {what}.{how}",
        expectation=f"Receive echo'ed {kind} message ({payload}). Clean close with normal code.",
        steps=(Send((frame,), chop=chop),),
        ok=(echo,),
        close=NORMAL_CLOSE,
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Cases 1.1.1 to 1.1.8 (text) and 1.2.1 to 1.2.8 (binary)."""
    for binary_message in (False, True):
        for number, size in enumerate(LENGTHS, 1):
            yield _echo(number, size, binary_message=binary_message, chop=None)
        yield _echo(8, LENGTHS[-1], binary_message=binary_message, chop=CHOP)
