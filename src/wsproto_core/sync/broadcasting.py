"""``broadcast`` for the threading adapter: the core decides, this writes without waiting.

See :mod:`wsproto_core.broadcast` for the rules. A blocking connection has no
write buffer of its own: its socket's (the kernel's) is the buffer, and it is
above its limit when the socket is not writable, or when another thread's write
to that peer is stuck waiting for room. Such a connection is skipped or closed
at once; the broadcasting thread never waits for a peer.

A message that the socket takes only in part is finished by a short-lived
thread that inherits the connection's lock (so no other frame comes in
between) and writes the rest as any send does: while the peer takes bytes, or
until the close timeout cuts the connection. Meanwhile the connection counts
as above its limit, so at most one message per connection waits that way.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from typing import TYPE_CHECKING, TypeVar

from ..broadcast import BroadcastReport, Delivery, Outcome, Overflow, PreparedMessage

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterable

    from .connection import Connection

__all__ = ["broadcast"]

logger = logging.getLogger("wsproto_core.sync")

T = TypeVar("T")

_poll = getattr(select, "poll", None)

_LOCK_POLL = 0.002
"""Seconds between two looks at a peer while another thread holds its lock."""


def broadcast(
    connections: Iterable[Connection],
    message: str | bytes | PreparedMessage,
    *,
    overflow: Overflow = Overflow.SKIP,
) -> BroadcastReport[Connection]:
    """Send ``message`` to every open connection of ``connections``; never raises for one.

    Safe from any thread. The message is encoded once for every group of
    connections that frame it alike (no compression, or permessage-deflate
    without context takeover and the same parameters), else once per
    connection. A connection whose socket cannot take more now (the peer does
    not read) is skipped or closed, as ``overflow`` says: closing cuts the
    stream (a peer that does not read cannot take a close frame). One line is
    logged (warning) when any connection was skipped, closed or failed.

    Args:
        connections: The connections (server or client side).
        message: ``str`` for text, ``bytes`` for binary, or a
            :class:`~wsproto_core.broadcast.PreparedMessage`.
        overflow: What to do with a connection above its limit.

    Returns:
        The :class:`~wsproto_core.broadcast.BroadcastReport`.
    """
    prepared = message if isinstance(message, PreparedMessage) else PreparedMessage(message)
    pairs = ((ws, ws) for ws in connections)
    report: BroadcastReport[Connection] = deliver(pairs, prepared, overflow)
    if report.skipped or report.closed or report.failed:
        logger.warning("broadcast: %s", report.summary())
    return report


def deliver(
    targets: Iterable[tuple[T, Connection]], prepared: PreparedMessage, overflow: Overflow
) -> BroadcastReport[T]:
    """Broadcast to ``(name, connection)`` pairs; the report names them by ``name``."""
    delivery: Delivery[T] = Delivery(prepared, overflow)
    for target, ws in targets:
        if not _acquire(ws):
            if delivery.overflowed(target) is Outcome.CLOSED:
                ws.abort()
            continue
        _send(delivery, target, ws)
    return delivery.finish()


def _send(delivery: Delivery[T], target: T, ws: Connection) -> None:
    """One connection, its lock held: released here, or by the thread that finishes the write."""
    sock = ws._socket
    protocol = ws._protocol
    try:
        outcome = delivery.send(target, protocol, 0 if _writable(sock) else 1, 0)
        if outcome is Outcome.SENT:
            data = protocol.data_to_send()
            sent = _send_now(sock, data)
            if sent < len(data):
                rest = threading.Thread(
                    target=_finish_write, args=(ws, data[sent:]), name="wsproto-broadcast-write"
                )
                rest.start()  # it releases the lock
                return
        elif outcome is Outcome.CLOSED:
            protocol.data_to_send()  # the 1013 close: a peer that does not read cannot take it
            ws._sent_close = (1013, "the peer does not read: broadcast overflow")
            ws.abort()
    except OSError as exc:  # the peer is gone
        delivery.failed(target, exc)
        ws.abort()
    ws._lock.release()


def _finish_write(ws: Connection, rest: bytes) -> None:
    """Write the rest of a broadcast frame as any send does, then hand the lock back."""
    try:
        ws._write(rest)
    except OSError:  # the peer is gone, or took nothing for the close timeout
        ws.abort()
    finally:
        ws._lock.release()


def _acquire(ws: Connection) -> bool:
    """Take the connection's lock, unless its holder waits for a peer that does not read."""
    lock = ws._lock
    if lock.acquire(blocking=False):
        return True
    deadline = time.monotonic() + ws._close_timeout
    while not lock.acquire(timeout=_LOCK_POLL):
        # A send, a pong or a broadcast's rest waits for room: the peer is behind.
        if not _writable(ws._socket) or time.monotonic() >= deadline:
            return False
    return True


def _writable(sock: socket.socket) -> bool:
    """Whether the socket takes bytes now (its buffer is below the kernel's mark)."""
    try:
        if _poll is None:  # no poll(2) (Windows): select(2), for sockets below FD_SETSIZE there
            return bool(select.select((), (sock,), (), 0)[1])
        poller = _poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed meanwhile
        return True  # the send says what happened


def _send_now(sock: socket.socket, data: bytes) -> int:
    """Send what the socket takes now (it was writable); return how many bytes."""
    return sock.send(data)
