"""What both adapters decide for a connection, without I/O: pings, keepalive, deadlines, flow.

The sans-IO :class:`~wsproto_core.connection.Connection` owns the protocol;
:class:`Session` owns the policy an adapter needs around it that is not
protocol and not I/O either:

* the **ping registry**: which pings wait for their pong, since when, and
  who waits for each (RFC 6455 §5.5.3: a pong answers the most recent ping, so
  it acknowledges every earlier one too);
* **keepalive**: a ping every ``ping_interval`` seconds, and the connection
  failed with 1011 when its pong does not come within ``ping_timeout``,
  unless the peer is visibly alive, taking our bytes while we do not read its
  (back pressure);
* the **deadlines** of the closing handshake, from the connection's
  :class:`~wsproto_core.state.TransportAction`: the close timeout, and
  :data:`~wsproto_core.state.FAILURE_GRACE` while a failed connection waits
  for the peer's close;
* **read holds**, the reasons to stop reading from the peer, and the **overrun**
  decision for a sender that never waits.

It never reads a clock: the adapter passes ``now`` (``time.monotonic()`` or
``loop.time()``), asks :meth:`Session.next_deadline` when to come back, and
calls :meth:`Session.due` then. So the asyncio adapter keeps one timer and the
threading adapter one ``poll`` timeout, and both apply the same rules.
"""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING, Generic, TypeVar

from .state import FAILURE_GRACE, ConnectionState, TransportAction
from .versions import profile

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["OVERRUN_FACTOR", "Due", "Hold", "Session"]

W = TypeVar("W")
"""What an adapter keeps per ping to wake whoever waits for its pong (a future, an event)."""

OVERRUN_FACTOR = 16
"""A send that finds this many times ``write_limit`` buffered fails the connection (1013)."""


class Due(enum.Enum):
    """What came due at a deadline; see :meth:`Session.due`."""

    PING = "a keepalive ping was queued: write it"
    KEEPALIVE_FAILED = "no pong within ping_timeout: the connection was closed with 1011"
    EXPIRED = "the wait for the peer ran out: the connection moved on (expire())"
    CLOSE_TIMEOUT = "the close timeout ran out: cut the stream"


class Hold(enum.IntFlag):
    """Why reading from the peer is paused; any one holds it."""

    QUEUE = 1
    """``max_queue`` messages wait for the application."""
    WRITE = 2
    """Our writes are above ``write_limit``: the peer does not keep up."""
    APP = 4
    """A handler callback runs and more wait behind it."""


class Session(Generic[W]):
    """The adapter-side policy of one connection; see the module docstring.

    Args:
        conn: The sans-IO connection.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds to wait for a keepalive pong (``None``: forever).
        close_timeout: Seconds the closing handshake may take before the stream is cut.
        write_limit: The high-water mark of the adapter's write buffer, in bytes.
    """

    __slots__ = (
        "_close_at",
        "_conn",
        "_grace_at",
        "_keepalive",
        "_keepalive_taken",
        "_ping_at",
        "_pings",
        "_pong_at",
        "close_timeout",
        "holds",
        "ping_interval",
        "ping_timeout",
        "taken",
        "write_limit",
    )

    def __init__(
        self,
        conn: Connection,
        *,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        close_timeout: float = 10,
        write_limit: int = 64 * 1024,
    ) -> None:
        if ping_interval is not None and ping_interval <= 0:
            raise ValueError("ping_interval must be positive or None")
        if ping_timeout is not None and ping_timeout <= 0:
            raise ValueError("ping_timeout must be positive or None")
        if close_timeout <= 0:
            raise ValueError("close_timeout must be positive")
        self._conn = conn
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.write_limit = write_limit
        self._pings: dict[bytes, tuple[W | None, float]] = {}
        self._keepalive: bytes | None = None  # the keepalive ping waiting for its pong
        self._keepalive_taken = 0
        self._ping_at: float | None = None
        self._pong_at: float | None = None
        self._close_at: float | None = None
        self._grace_at: float | None = None
        self.holds = Hold(0)
        self.taken = 0
        """How many of our bytes the peer has taken (the adapter keeps it up to date)."""

    # -- pings -----------------------------------------------------------------------

    def ping(self, waiter: W | None, now: float, payload: bytes | None = None) -> bytes:
        """Queue a ping on the connection and remember who waits for its pong.

        Args:
            waiter: Woken by :meth:`pong` (``None``: nobody waits).
            now: The time, for the latency.
            payload: Up to 125 bytes; 4 random bytes by default.

        Returns:
            The payload.

        Raises:
            ValueError: A ping with this payload already waits for its pong.
            InvalidState, UnsupportedOperation, PayloadTooBig: As ``Connection.ping``.
        """
        if payload is None:
            payload = os.urandom(4)
            while payload in self._pings:
                payload = os.urandom(4)
        elif payload in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        self._conn.ping(payload)
        self._pings[payload] = (waiter, now)
        return payload

    def pong(self, payload: bytes, now: float) -> list[tuple[W, float]]:
        """A pong arrived: return the waiters it acknowledges, each with its ping's latency.

        A pong acknowledges its ping and every ping sent before it; an
        unsolicited pong (RFC 6455 §5.5.3) acknowledges nothing.
        """
        pings = self._pings
        if payload not in pings:
            return []
        acknowledged: list[tuple[W, float]] = []
        for key in list(pings):
            waiter, sent = pings.pop(key)
            if key == self._keepalive:
                self._keepalive = None
                self._pong_at = None
            if waiter is not None:
                acknowledged.append((waiter, now - sent))
            if key == payload:
                break
        return acknowledged

    def forget_pings(self) -> list[W]:
        """The connection ended: return every waiter still waiting, and forget them."""
        waiters = [waiter for waiter, _ in self._pings.values() if waiter is not None]
        self._pings.clear()
        self._keepalive = None
        return waiters

    # -- the clock -------------------------------------------------------------------

    def start(self, now: float) -> None:
        """The connection is open: schedule the first keepalive ping, if any."""
        interval = self.ping_interval
        version = self._conn.protocol_version
        if interval is not None and version is not None and profile(version).pings:
            self._ping_at = now + interval

    def update(self, now: float) -> None:
        """After each exchange with the connection: arm the deadlines its action asks for."""
        conn = self._conn
        if conn.state is not ConnectionState.OPEN:
            self._ping_at = self._pong_at = None
        action = conn.transport_action
        if action is TransportAction.NONE or conn.state is ConnectionState.CONNECTING:
            return
        if self._close_at is None:
            # The closing handshake cannot hang: the stream is cut after the close timeout.
            self._close_at = now + self.close_timeout
        if action is TransportAction.WAIT_BRIEFLY and self._grace_at is None:
            self._grace_at = now + min(FAILURE_GRACE, self.close_timeout)

    def next_deadline(self) -> float | None:
        """When :meth:`due` has something to do, or ``None``."""
        deadline = None
        for candidate in (self._close_at, self._grace_at, self._pong_at, self._ping_at):
            if candidate is not None and (deadline is None or candidate < deadline):
                deadline = candidate
        return deadline

    def due(self, now: float) -> Due | None:
        """Do what is due at ``now``, on the connection, and say what it was (or ``None``).

        The adapter then writes what the connection owes and, on
        ``CLOSE_TIMEOUT`` (or ``KEEPALIVE_FAILED``, whose close frame a silent
        peer will not answer), ends the stream when the close timeout says so.
        Call it again while it returns something: several may be due at once.
        """
        if self._close_at is not None and now >= self._close_at:
            self._close_at = None
            return Due.CLOSE_TIMEOUT
        if self._grace_at is not None and now >= self._grace_at:
            self._grace_at = None
            self._conn.expire()
            return Due.EXPIRED
        if self._pong_at is not None and now >= self._pong_at:
            return self._pong_late(now)
        if self._ping_at is not None and now >= self._ping_at:
            return self._keepalive_ping(now)
        return None

    def _keepalive_ping(self, now: float) -> Due | None:
        assert self.ping_interval is not None
        self._ping_at = now + self.ping_interval
        if self._keepalive is not None or self._conn.state is not ConnectionState.OPEN:
            return None  # still waiting for the last one's pong (no ping timeout)
        self._keepalive = self.ping(None, now)
        self._keepalive_taken = self.taken
        if self.ping_timeout is not None:
            self._pong_at = now + self.ping_timeout
        return Due.PING

    def _pong_late(self, now: float) -> Due | None:
        self._pong_at = None
        if Hold.WRITE in self.holds and self.taken > self._keepalive_taken:
            # Not read while our writes wait (back pressure), the pong may well have come:
            # a peer that keeps taking our bytes is alive. Try again.
            self._pings.pop(self._keepalive or b"", None)
            self._keepalive = None
            return None
        self._ping_at = None
        if self._conn.state is ConnectionState.OPEN:
            # _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): the peer is not there.
            self._conn.close(1011, "keepalive ping timeout")
        return Due.KEEPALIVE_FAILED

    # -- flow ------------------------------------------------------------------------

    def hold(self, reason: Hold) -> bool:
        """Stop reading for ``reason``; return whether reading should be paused now."""
        self.holds |= reason
        return bool(self.holds)

    def release(self, reason: Hold) -> bool:
        """``reason`` no longer holds; return whether reading should still be paused."""
        self.holds &= ~reason
        return bool(self.holds)

    def overrun(self, buffered: int) -> bool:
        """Whether a send that will not wait, finding ``buffered`` bytes unsent, fails.

        One large message sent while the buffer was small is fine; a sender
        that keeps sending while :data:`OVERRUN_FACTOR` times ``write_limit``
        waits is ignoring back pressure, and the peer is not reading. The
        connection is then failed with 1013 (try again later); the adapter
        cuts the stream, since a peer that does not read cannot take the close.
        """
        if buffered <= self.write_limit * OVERRUN_FACTOR:
            return False
        if self._conn.state is ConnectionState.OPEN:
            self._conn.close(1013, "the peer does not read")
        return True
