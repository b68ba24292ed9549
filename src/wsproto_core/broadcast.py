"""Broadcast without I/O: one message to many connections, encoded once per framing.

The adapters' ``broadcast`` functions (:func:`wsproto_core.asyncio.broadcast`,
:func:`wsproto_core.sync.broadcast`, and :func:`wsproto_core.handlers.broadcast`
for handler connections) are thin: this module decides, for each connection,
whether the message goes out, and encodes it.

* **Encode once.** A :class:`PreparedMessage` keeps the frame bytes of its
  message for each :attr:`~wsproto_core.codec.Codec.shared_framing` key it
  met: servers without compression share one encoding (their frames are not
  masked and versions 13, 8 and 7 frame data alike); servers whose
  permessage-deflate resets its compressor after every message
  (``server_no_context_takeover``) with the same parameters share another.
  A compressor that keeps its context from message to message (the default)
  encodes for its connection alone, as does a client (it masks every frame).
* **Slow peers.** A connection whose write buffer is above its limit is not
  given more: the :class:`Overflow` policy skips it (the message is lost for
  that peer) or closes it (1013, the stream cut). Memory per connection stays
  within the limit plus one message.
* **Errors stay per connection.** A connection that is not open is counted in
  :attr:`BroadcastReport.not_open`; one whose send fails (binary on a hixie
  draft, a fragmented message half sent) in :attr:`BroadcastReport.failed`,
  with the exception. Nothing is raised for the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from .state import ConnectionState

if TYPE_CHECKING:
    from collections.abc import Hashable

    from .codec import Codec
    from .connection import Connection

__all__ = [
    "SLOW_CLOSE_CODE",
    "SLOW_CLOSE_REASON",
    "BroadcastReport",
    "Delivery",
    "Outcome",
    "Overflow",
    "PreparedMessage",
]

T = TypeVar("T")
"""What the caller named each connection by (a WebSocket, a HandlerConnection...)."""

_OPEN = ConnectionState.OPEN

SLOW_CLOSE_CODE = 1013
"""The close code of a connection closed by :attr:`Overflow.CLOSE`: try again later."""
SLOW_CLOSE_REASON = "the peer does not read: broadcast overflow"


class Overflow(enum.Enum):
    """What a broadcast does with a connection whose write buffer is above its limit."""

    SKIP = "skip"
    """Leave it out of this message; it gets the next ones once it has caught up."""
    CLOSE = "close"
    """Close it with 1013 (try again later) and cut the stream: it cannot keep up."""


class Outcome(enum.Enum):
    """What became of the message for one connection."""

    SENT = "sent"
    """Queued on the connection; the adapter writes it."""
    NOT_OPEN = "not open"
    """The connection is not open (still connecting, closing or closed)."""
    SKIPPED = "skipped"
    """Above its write limit, left out (:attr:`Overflow.SKIP`)."""
    CLOSED = "closed"
    """Above its write limit, closed (:attr:`Overflow.CLOSE`); the adapter cuts the stream."""
    FAILED = "failed"
    """The send raised; the exception is in :attr:`BroadcastReport.failed`."""


class PreparedMessage:
    """A message to send to many connections, encoded once per shared framing.

    Args:
        message: ``str`` for a text message, bytes-like for a binary one.

    Attributes:
        message: The message.
        encodings: How many times it was encoded so far (once per shared
            framing, plus once per connection that shares none).
    """

    __slots__ = ("_frames", "encodings", "message")

    def __init__(self, message: str | bytes | bytearray | memoryview) -> None:
        if isinstance(message, (bytearray, memoryview)):
            message = bytes(message)
        elif not isinstance(message, (str, bytes)):
            raise TypeError(f"a message is str or bytes, not {type(message).__name__}")
        self.message: str | bytes = message
        self._frames: dict[Hashable, bytes] = {}
        self.encodings = 0

    def frames_for(self, codec: Codec) -> bytes:
        """The message's frame bytes for ``codec``, encoded by it or taken from the cache.

        Raises:
            UnsupportedOperation: Binary on a hixie draft.
        """
        key = codec.shared_framing
        if key is None:
            return self._encode(codec)
        frames = self._frames.get(key)
        if frames is None:
            frames = self._frames[key] = self._encode(codec)
        return frames

    def _encode(self, codec: Codec) -> bytes:
        self.encodings += 1
        message = self.message
        if isinstance(message, str):
            return codec.send_text(message)
        return codec.send_binary(message)


@dataclass(eq=False)
class BroadcastReport(Generic[T]):
    """What a broadcast did, connection by connection (only the exceptions are listed).

    Attributes:
        sent: How many connections were given the message.
        not_open: The connections that were not open.
        skipped: The connections left out for being above their write limit.
        closed: The connections closed for being above their write limit.
        failed: The connections whose send raised, with the exception.
        encodings: How many times the message was encoded.
    """

    sent: int = 0
    not_open: list[T] = field(default_factory=list)
    skipped: list[T] = field(default_factory=list)
    closed: list[T] = field(default_factory=list)
    failed: list[tuple[T, Exception]] = field(default_factory=list)
    encodings: int = 0

    def merge(self, other: BroadcastReport[T]) -> None:
        """Add ``other``'s counts and lists to this report."""
        self.sent += other.sent
        self.not_open += other.not_open
        self.skipped += other.skipped
        self.closed += other.closed
        self.failed += other.failed
        self.encodings += other.encodings

    def summary(self) -> str:
        """One line for a log: the counts."""
        return (
            f"sent {self.sent}, not open {len(self.not_open)}, skipped {len(self.skipped)}, "
            f"closed {len(self.closed)}, failed {len(self.failed)}, encoded {self.encodings}x"
        )


class Delivery(Generic[T]):
    """One broadcast's decisions for the connections an adapter hands it, one at a time.

    Args:
        message: The message (or one already prepared, to share its encodings).
        overflow: The policy for connections above their write limit.
    """

    __slots__ = ("message", "overflow", "report")

    def __init__(
        self,
        message: str | bytes | bytearray | memoryview | PreparedMessage,
        overflow: Overflow = Overflow.SKIP,
    ) -> None:
        self.message = message if isinstance(message, PreparedMessage) else PreparedMessage(message)
        self.overflow = overflow
        self.report: BroadcastReport[T] = BroadcastReport()

    def send(self, target: T, conn: Connection, buffered: int, limit: int) -> Outcome:
        """Decide for one connection, queue the message on it if it goes, record the outcome.

        Args:
            target: What the report names the connection by.
            conn: Its sans-IO connection.
            buffered: The bytes its adapter holds unsent (its write buffer).
            limit: Its write limit: above it, the :class:`Overflow` policy applies.

        Returns:
            ``SENT``: write ``conn.data_to_send()``. ``CLOSED``: the 1013 close is
            queued; cut the stream, a peer that does not read cannot take it.
            Otherwise nothing to do.
        """
        report = self.report
        if conn.state is not _OPEN:
            report.not_open.append(target)
            return Outcome.NOT_OPEN
        if buffered > limit:
            outcome = self.overflowed(target)
            if outcome is Outcome.CLOSED:
                conn.close(SLOW_CLOSE_CODE, SLOW_CLOSE_REASON)
            return outcome
        try:
            conn.send_prepared(self.message)
        except Exception as exc:  # reported for this connection, never raised for the others
            report.failed.append((target, exc))
            return Outcome.FAILED
        report.sent += 1
        return Outcome.SENT

    def overflowed(self, target: T) -> Outcome:
        """Record a connection found above its write limit: ``SKIPPED`` or ``CLOSED``.

        :meth:`send` calls it; an adapter calls it itself when it cannot even
        look at the connection without waiting (a write to the peer is stuck),
        and cuts the stream on ``CLOSED``.
        """
        if self.overflow is Overflow.SKIP:
            self.report.skipped.append(target)
            return Outcome.SKIPPED
        self.report.closed.append(target)
        return Outcome.CLOSED

    def failed(self, target: T, error: Exception) -> None:
        """Record a connection the adapter could not reach (its loop is gone, say)."""
        self.report.failed.append((target, error))

    def finish(self) -> BroadcastReport[T]:
        """The report, with the number of encodings."""
        self.report.encodings = self.message.encodings
        return self.report
