"""``broadcast`` for the asyncio adapter: the core decides, this writes.

See :mod:`wsproto_core.broadcast` for the rules (encode once per framing, the
overflow policy, errors per connection). Here: each connection's write buffer
is its transport's, measured against its ``write_limit``; connections served by
another thread's loop are handed to that loop and waited for.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, TypeVar

from ..broadcast import BroadcastReport, Delivery, Outcome, Overflow, PreparedMessage

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterable

    from .connection import WebSocket

__all__ = ["broadcast"]

logger = logging.getLogger("wsproto_core.asyncio")

T = TypeVar("T")


def broadcast(
    connections: Iterable[WebSocket],
    message: str | bytes | PreparedMessage,
    *,
    overflow: Overflow = Overflow.SKIP,
) -> BroadcastReport[WebSocket]:
    """Send ``message`` to every open connection of ``connections``; never raises for one.

    Callable from any thread or task; it does not wait for the peers. On a
    connection's own loop thread the message is written at once; connections
    of a loop running in another thread are handed to that loop, and this call
    waits (at most their close timeout) until it has written them.

    The message is encoded once for every group of connections that frame it
    alike (no compression, or permessage-deflate without context takeover and
    the same parameters), else once per connection. A connection whose write
    buffer is above its ``write_limit`` is skipped or closed, as ``overflow``
    says; one that is not open is left out. One line is logged (warning) when
    any connection was skipped, closed or failed.

    Args:
        connections: The connections (server or client side).
        message: ``str`` for text, ``bytes`` for binary, or a
            :class:`~wsproto_core.broadcast.PreparedMessage` to share its
            encodings across several calls.
        overflow: What to do with a connection above its write limit.

    Returns:
        The :class:`~wsproto_core.broadcast.BroadcastReport`: how many were
        sent, and which connections were not open, skipped, closed or failed.
    """
    prepared = message if isinstance(message, PreparedMessage) else PreparedMessage(message)
    pairs = ((ws, ws) for ws in connections)
    report: BroadcastReport[WebSocket] = deliver(pairs, prepared, overflow)
    if report.skipped or report.closed or report.failed:
        logger.warning("broadcast: %s", report.summary())
    return report


def deliver(
    targets: Iterable[tuple[T, WebSocket]], prepared: PreparedMessage, overflow: Overflow
) -> BroadcastReport[T]:
    """Broadcast to ``(name, connection)`` pairs; the report names them by ``name``."""
    here = threading.get_ident()
    delivery: Delivery[T] = Delivery(prepared, overflow)
    elsewhere: dict[asyncio.AbstractEventLoop, list[tuple[T, WebSocket]]] = {}
    for target, ws in targets:
        if ws._thread_id == here:
            _send(delivery, target, ws)
        else:
            elsewhere.setdefault(ws._loop, []).append((target, ws))
    for loop, group in elsewhere.items():
        delivery.report.merge(_deliver_on(loop, group, prepared, overflow))
    return delivery.finish()


def _send(delivery: Delivery[T], target: T, ws: WebSocket) -> None:
    """One connection, on its loop's thread."""
    transport = ws._transport
    buffered = 0 if transport is None else transport.get_write_buffer_size()
    outcome = delivery.send(target, ws._conn, buffered, ws._session.write_limit)
    if outcome is Outcome.SENT:
        ws._flush()
    elif outcome is Outcome.CLOSED and transport is not None:
        ws._conn.data_to_send()  # the 1013 close: a peer that does not read cannot take it
        transport.abort()


def _deliver_on(
    loop: asyncio.AbstractEventLoop,
    group: list[tuple[T, WebSocket]],
    prepared: PreparedMessage,
    overflow: Overflow,
) -> BroadcastReport[T]:
    """Hand ``group`` to its loop, running in another thread, and wait for it."""
    delivery: Delivery[T] = Delivery(prepared, overflow)
    done = threading.Event()

    def run() -> None:
        try:
            for target, ws in group:
                _send(delivery, target, ws)
        finally:
            done.set()

    timeout = max(ws._options.close_timeout for _, ws in group)
    try:
        loop.call_soon_threadsafe(run)
    except RuntimeError as exc:  # the loop is closed: so are its connections
        for target, _ in group:
            delivery.failed(target, exc)
        return delivery.report
    if not done.wait(timeout):
        stuck: BroadcastReport[T] = BroadcastReport()
        error = TimeoutError("the connection's event loop did not run the broadcast in time")
        stuck.failed = [(target, error) for target, _ in group]
        return stuck  # it may still run: its own report is dropped
    return delivery.report
