"""Family 10, miscellaneous: a long message the peer fragments.

Case 10.1.1 sends a 65536-byte text message in frames of 1300 bytes (the
Autobahn peer's ``autoFragmentSize``); the testee echoes the message, in as
many frames as it likes (RFC 6455 §5.4: an intermediary or the sender may
fragment a message; the receiver sees one message either way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import NORMAL_CLOSE, Case, Send, received_text
from ..wire import cont, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..wire import Frame
    from . import CatalogueOptions

__all__ = ["cases"]

AUTO_FRAGMENT_SIZE = 1300
"""The payload bytes of each frame of case 10.1.1."""


def _fragments(payload: bytes, size: int) -> tuple[Frame, ...]:
    """``payload`` as a text message in frames of ``size`` bytes (the last one shorter)."""
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    last = len(pieces) - 1
    return tuple((text if n == 0 else cont)(piece, fin=n == last) for n, piece in enumerate(pieces))


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """Case 10.1.1."""
    payload = b"*" * 65536
    yield Case(
        id="10.1.1",
        description="Send text message with payload of length 65536 auto-fragmented with "
        f"autoFragmentSize = {AUTO_FRAGMENT_SIZE}.",
        expectation="Receive echo'ed text message (with payload as sent; the testee may "
        "fragment its echo as it likes). Clean close with normal code.",
        steps=(Send(_fragments(payload, AUTO_FRAGMENT_SIZE)),),
        ok=(received_text(payload),),
        close=NORMAL_CLOSE,
    )
