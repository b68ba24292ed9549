"""What a :class:`~wsproto_core.handlers.Handler` holds on an asyncio connection.

:class:`HandlerConnection` implements :class:`wsproto_core.handlers.HandlerConnection`
over a :class:`~wsproto_core.asyncio.server.ServerWebSocket`; its ``call_every``
timers run on the event loop.
"""

from __future__ import annotations

import inspect
import threading
from typing import TYPE_CHECKING

from ..handlers import HandlerConnectionBase
from .broadcasting import deliver

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from ..broadcast import BroadcastReport, Overflow, PreparedMessage
    from ..events import Request
    from ..handlers import Route
    from .server import ServerWebSocket

__all__ = ["HandlerConnection", "Timer"]


class Timer:
    """A ``call_every`` timer: calls a callback at fixed times on the loop."""

    __slots__ = ("_busy", "_callback", "_handle", "_interval", "_next", "_ws")

    def __init__(
        self, ws: ServerWebSocket, interval: float, callback: Callable[[], object]
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._ws = ws
        self._interval = interval
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0
        self._busy = False

    def start(self) -> None:
        loop = self._ws._loop
        self._next = loop.time() + self._interval
        self._handle = loop.call_at(self._next, self._fire)

    def _fire(self) -> None:
        loop = self._ws._loop
        # Fixed times, so the period does not drift; a late loop skips the missed ticks.
        self._next = max(self._next + self._interval, loop.time())
        self._handle = loop.call_at(self._next, self._fire)
        if self._busy:
            return
        try:
            result = self._callback()
        except Exception:
            self._ws._callback_failed()  # logs it and closes with 1011
            return
        if inspect.isawaitable(result):
            self._busy = True
            loop.create_task(self._finish(result))

    async def _finish(self, result: Awaitable[object]) -> None:
        try:
            await result
        except Exception:
            self._ws._callback_failed()  # logs it and closes with 1011
        finally:
            self._busy = False

    def cancel(self) -> None:
        """Stop calling the callback (safe from any thread)."""
        ws = self._ws
        if threading.get_ident() != ws._thread_id:
            ws._loop.call_soon_threadsafe(self.cancel)
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if ws._timers and self in ws._timers:
            ws._timers.remove(self)


class HandlerConnection(HandlerConnectionBase):
    """What a :class:`~wsproto_core.handlers.Handler` sees of an asyncio connection.

    Implements :class:`wsproto_core.handlers.HandlerConnection`; ``send``,
    ``close`` and ``call_every`` are safe from any thread or task.
    """

    __slots__ = ("_ws",)

    def __init__(self, request: Request, route: Route, ws: ServerWebSocket) -> None:
        super().__init__(request, route, ws.remote_address)
        self._ws = ws

    def send(self, message: str | bytes) -> Awaitable[None]:
        """Send a message; dropped if the connection is not open.

        On the event loop it returns at once, with an awaitable done when the
        peer has taken enough for the buffer to be below ``write_limit``: await
        it (in an ``async`` callback) to send no faster than the peer reads. A
        sender that does not wait and gets ``16 * write_limit`` ahead of the
        peer fails the connection with 1013. From another thread, ``send``
        blocks that thread until the buffer is below the limit.
        """
        return self._ws.send_threadsafe(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake."""
        self._ws.close_threadsafe(code, reason)

    @classmethod
    def _deliver(
        cls,
        group: list[HandlerConnectionBase],
        message: PreparedMessage,
        overflow: Overflow,
    ) -> BroadcastReport[HandlerConnectionBase]:
        return deliver(((hc, hc._ws) for hc in group if isinstance(hc, cls)), message, overflow)

    def call_every(self, interval: float, callback: Callable[[], object]) -> Timer:
        """Call ``callback()`` every ``interval`` seconds on the loop until cancelled or closed."""
        ws = self._ws
        timer = Timer(ws, interval, callback)
        if threading.get_ident() == ws._thread_id:
            ws._add_timer(timer)
        else:
            ws._loop.call_soon_threadsafe(ws._add_timer, timer)
        return timer
