"""One WebSocket connection over an asyncio transport, either role.

:class:`WebSocket` is the ``asyncio.Protocol`` that drives a sans-IO
:class:`~wsproto_core.connection.Connection`: ``data_received`` feeds the bytes,
one pass over ``events()`` handles what happened, and ``data_to_send()`` is
written back. It is also what the application holds: ``recv()``, ``send()``,
``async for``, ``ping()``, ``close()``.

It owns everything that needs a clock or a buffer: keepalive pings, the close
timeout, write backpressure (``send`` waits for the transport to drain above
the high-water mark) and the bounded receive queue (reading pauses while
``max_queue`` messages wait for ``recv``).

The connection's events are live and ordered: what it owes for an event (a
pong, the failure close for a bad frame) is queued only when ``events()``
yields it. Messages handed to ``recv`` are answered later than that, so when a
failure is pending behind messages the application has not read yet, the loop
stops there and goes on when ``recv`` finds the queue empty (the application
has answered them), or when it closes, or after the close timeout: its replies
go out before the failure close. The peer's own close is answered at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import ConnectionClosedOK, closed_error
from ..events import BytesMessage, Close, Pong, TextMessage
from ..session import Due, Hold, Session
from ..state import ConnectionState, TransportAction

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable

    from ..connection import Connection
    from ..events import Event
    from ..extensions import Extension
    from ..versions import ProtocolVersion
    from .options import Options

__all__ = ["WebSocket"]

logger = logging.getLogger("wsproto_core.asyncio")


class _Done:
    """An awaitable that is already done: what a send that need not wait returns."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # a generator: awaiting it returns at once


_DONE = _Done()

_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_NONE = TransportAction.NONE


class WebSocket(asyncio.Protocol):
    """A WebSocket connection over an asyncio transport.

    Created by :func:`~wsproto_core.asyncio.serve` and
    :func:`~wsproto_core.asyncio.connect`, not directly.

    Attributes:
        subprotocol: The subprotocol in use, or ``None``.
        remote_address: The peer's address (``(host, port)`` for TCP).
        close_code: The close code once the connection is closing or closed, else ``None``.
        close_reason: The close reason.
    """

    __slots__ = (
        "_answer_pending",
        "_closed_waiter",
        "_conn",
        "_drain_waiters",
        "_half_closed",
        "_hold_handle",
        "_hold_released",
        "_loop",
        "_max_queue",
        "_messages",
        "_options",
        "_read",
        "_reading_paused",
        "_received",
        "_recv_waiter",
        "_sent",
        "_session",
        "_thread_id",
        "_thread_slots",
        "_timer",
        "_timer_at",
        "_transport",
        "_writing_paused",
        "_written",
        "close_code",
        "close_reason",
        "remote_address",
        "subprotocol",
    )

    def __init__(self, conn: Connection, options: Options) -> None:
        self._conn = conn
        self._options = options
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._thread_slots: threading.BoundedSemaphore | None = None  # see _send_from_thread
        self._transport: asyncio.Transport | None = None
        self._max_queue = options.max_queue
        # Allocated on first use: an idle connection should cost little memory.
        self._messages: deque[str | bytes] | None = None
        # A message was queued since recv() last found the queue empty: the application
        # may still answer it (see _holding).
        self._answer_pending = False
        self._recv_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._half_closed = False
        self._drain_waiters: list[asyncio.Future[None]] | None = None
        self._written = 0  # bytes given to the transport
        # What went through, for the server's stats(): bytes read, messages each way.
        self._read = 0
        self._received = 0
        self._sent = 0
        # Pings, keepalive, deadlines and read holds: the policy both adapters share.
        self._session: Session[asyncio.Future[float]] = Session(
            conn,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            close_timeout=options.close_timeout,
            write_limit=options.write_limit,
        )
        # The one timer, at the session's next deadline.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._hold_handle: asyncio.TimerHandle | None = None
        self._hold_released = False
        self._closed_waiter: asyncio.Future[None] | None = None
        self.subprotocol: str | None = None
        self.remote_address: Any = None
        self.close_code: int | None = None
        self.close_reason = ""

    # -- public API --------------------------------------------------------------------

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """The protocol spoken: 13, 8, 7, ``"hixie-76"`` or ``"hixie-75"``."""
        return self._conn.protocol_version

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions agreed in the handshake, e.g. permessage-deflate."""
        return self._conn.extensions

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        return self._conn.state

    @property
    def closed(self) -> bool:
        """Whether the transport is closed."""
        return self._transport is None and self.close_code is not None

    async def recv(self) -> str | bytes:
        """Return the next message: ``str`` for text, ``bytes`` for binary.

        Raises:
            ConnectionClosed: The connection closed and every message was read.
            RuntimeError: Another task is already waiting in ``recv``.
        """
        while not self._messages:
            self._answer_pending = False
            if self._conn.pending_close is not None:
                self._process()  # every message read and answered: on to the rest
                continue
            if self.close_code is not None:
                raise closed_error(self.close_code, self.close_reason)
            if self._recv_waiter is not None:
                raise RuntimeError("another task is already waiting in recv()")
            self._recv_waiter = waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None
        messages = self._messages
        message = messages.popleft()
        # The flag test is the cheap one: recv() runs for every message.
        if (
            self._reading_paused
            and len(messages) <= self._max_queue // 2
            and Hold.QUEUE in self._session.holds
        ):
            self._release_reading(Hold.QUEUE)
            if not self._session.holds and self._transport is not None:
                self._process()  # the events left when the queue filled
        return message

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str | bytes]:
        """Yield messages until a normal close; an abnormal one raises ``ConnectionClosedError``."""
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    async def send(self, message: str | bytes | Iterable[str | bytes]) -> None:
        """Send a message, waiting while the transport's buffer is above the high-water mark.

        Args:
            message: ``str`` for a text message, ``bytes`` (or ``bytearray``,
                ``memoryview``) for a binary one, or an iterable of fragments of
                one type, sent as one fragmented message (RFC 6455 §5.4).

        Raises:
            ConnectionClosed: The connection is closing or closed.
            TypeError: ``message`` is of another type.
        """
        if isinstance(message, (str, bytes, bytearray, memoryview)):
            self._send_message(message)
        else:
            self._send_fragments(message)
        if self._writing_paused:
            await self._drain()

    def _send_message(self, message: str | bytes | bytearray | memoryview) -> None:
        self._check_open()
        if isinstance(message, str):
            self._conn.send_text(message)
        else:
            self._conn.send_binary(bytes(message))
        self._sent += 1
        self._flush()

    def _send_fragments(self, fragments: Iterable[str | bytes]) -> None:
        text: bool | None = None
        for fragment in fragments:
            self._check_open()
            if text is None:
                text = isinstance(fragment, str)
            if text is not isinstance(fragment, str):
                raise TypeError("all fragments of a message must be of one type")
            if isinstance(fragment, str):
                self._conn.send_text(fragment, final=False)
            else:
                self._conn.send_binary(bytes(fragment), final=False)
        if text is None:
            raise TypeError("a fragmented message needs at least one fragment")
        self._check_open()
        if text:
            self._conn.send_text("", final=True)
        else:
            self._conn.send_binary(b"", final=True)
        self._sent += 1
        self._flush()

    async def ping(self, data: bytes | None = None) -> asyncio.Future[float]:
        """Send a ping; return a future that resolves to the latency when the pong arrives.

        Args:
            data: The payload (at most 125 bytes); random 4 bytes by default.

        Raises:
            ConnectionClosed: The connection is closing or closed.
            ValueError: A ping with this payload already waits for its pong.
        """
        self._check_open()
        waiter: asyncio.Future[float] = self._loop.create_future()
        payload = None if data is None else bytes(data)
        self._session.ping(waiter, self._loop.time(), payload)
        self._flush()
        return waiter

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait until the transport is closed.

        Bounded by the close timeout. A second call just waits.
        """
        self.start_close(code, reason)
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the transport is closed."""
        if self._transport is None and self.close_code is not None:
            return
        if self._closed_waiter is None:
            self._closed_waiter = self._loop.create_future()
        await asyncio.shield(self._closed_waiter)

    def start_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake without waiting (call it on the loop's thread)."""
        if self._conn.state is _OPEN:
            self._conn.close(code, reason)
            self._hold_released = True  # closing: nothing more will be answered
            self._process()
        elif self._transport is not None and self._conn.state is ConnectionState.CONNECTING:
            self._transport.abort()

    def send_threadsafe(self, message: str | bytes) -> Awaitable[None]:
        """Send from any thread or task; dropped if the connection is not open.

        On the loop's thread it does not wait: it returns an awaitable that
        completes once the buffer is below the write limit (await it to keep
        back pressure; a sender that never waits fails the connection with
        1013 when it gets :data:`OVERRUN_FACTOR` times the limit ahead). From
        another thread it waits, at most the close timeout, while the buffer
        is above the limit or ``max_queue`` of its sends wait for the loop.
        """
        if threading.get_ident() == self._thread_id:
            if self._writing_paused and self._overrun():
                return _DONE  # dropped: the connection failed
            self._send_if_open(message)
            return self._drained() if self._writing_paused else _DONE
        self._send_from_thread(message)
        return _DONE

    def _send_from_thread(self, message: str | bytes) -> None:
        slots = self._thread_slots
        if slots is None:
            slots = self._thread_slots = threading.BoundedSemaphore(self._max_queue)
        timeout = self._options.close_timeout
        if not slots.acquire(timeout=timeout):
            return  # the loop has taken none of our sends for the close timeout: it is stuck
        try:
            if self._writing_paused:
                drained = threading.Event()
                self._loop.call_soon_threadsafe(self._when_drained, drained.set)
                drained.wait(timeout)
            self._loop.call_soon_threadsafe(self._send_queued, message, slots)
        except RuntimeError:  # the loop is closed: the connection is gone
            slots.release()

    def _send_queued(self, message: str | bytes, slots: threading.BoundedSemaphore) -> None:
        slots.release()
        if not (self._writing_paused and self._overrun()):
            self._send_if_open(message)

    def _when_drained(self, callback: Callable[[], object]) -> None:
        if self._writing_paused and self._transport is not None:
            self._drained().add_done_callback(lambda _: callback())
        else:
            callback()

    def close_threadsafe(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake from any thread."""
        if threading.get_ident() == self._thread_id:
            self.start_close(code, reason)
        else:
            self._loop.call_soon_threadsafe(self.start_close, code, reason)

    def _send_if_open(self, message: str | bytes) -> None:
        if self._conn.state is _OPEN:
            self._send_message(message)

    def _check_open(self) -> None:
        if self._conn.state is not _OPEN:
            code = 1006 if self.close_code is None else self.close_code
            raise closed_error(code, self.close_reason)

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport, set its write limits and send what is already owed."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.remote_address = transport.get_extra_info("peername")
        limit = self._options.write_limit
        transport.set_write_buffer_limits(high=limit, low=limit // 4)
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to the connection, handle its events, write what it owes."""
        self._read += len(data)
        self._conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool:
        """The peer closed its side: tell the connection and close the transport."""
        self._conn.receive_data(b"")
        self._process()
        return False

    def pause_writing(self) -> None:
        """The transport's buffer is above the high-water mark: the peer does not keep up.

        ``send`` waits from now, and the peer is not read (nor its events
        handled) until the buffer drains: what it sends cannot make us write
        more (echoes, pongs).
        """
        self._writing_paused = True
        self._hold_reading(Hold.WRITE)

    def resume_writing(self) -> None:
        """The buffer drained below the low-water mark: wake the senders, read again."""
        self._writing_paused = False
        self._wake_drainers()
        self._release_reading(Hold.WRITE)
        if self._transport is not None:
            self._process()  # the events left when writing paused

    def connection_lost(self, exc: Exception | None) -> None:
        """Finish: report the close (1006 without a closing handshake) and wake every waiter."""
        if self._conn.state is not _CLOSED:
            self._conn.receive_data(b"")
            for event in self._conn.events():
                self._handle(event)
        self._transport = None
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, "connection lost"
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        if self._hold_handle is not None:
            self._hold_handle.cancel()
            self._hold_handle = None
        self._wake_receiver()
        self._wake_drainers()
        error = closed_error(self.close_code, self.close_reason)
        for waiter in self._session.forget_pings():
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # nobody may be waiting: mark it retrieved
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)
        self._on_connection_lost()

    # -- the event loop of one connection ----------------------------------------------

    def _process(self) -> None:
        """Handle the connection's events, in order, then write what it owes."""
        conn = self._conn
        failing = conn.pending_close is not None
        if not (failing and self._holding()):
            for event in conn.events():
                self._handle(event)
                kind = type(event)
                if kind is not TextMessage and kind is not BytesMessage:
                    # Handling it may have fed the connection more (accept() does).
                    failing = conn.pending_close is not None
                # Reading held (the transport's buffer is full, or the application's
                # queue): the events left wait in the connection, and the frames its
                # codec has not parsed yet stay compressed. Releasing goes on.
                if (failing and self._holding()) or self._reading_paused:
                    break
        self._flush()

    def _holding(self) -> bool:
        """Whether a pending failure waits for the application to answer the messages before it."""
        if self._hold_released or not self._unanswered() or self._conn.pending_failure is None:
            return False
        if self._hold_handle is None:
            self._hold_handle = self._loop.call_later(self._options.close_timeout, self._end_hold)
        return True

    def _unanswered(self) -> bool:
        """Whether messages were handed to the application that it may not have answered yet.

        True from the moment a message is queued until ``recv`` is called with the
        queue empty: the application has read every message and is back for more.
        """
        return self._answer_pending

    def _end_hold(self) -> None:
        """The application did not come back for more within the close timeout: fail now."""
        self._hold_handle = None
        self._hold_released = True
        self._process()

    def _handle(self, event: Event) -> None:
        kind = type(event)
        if kind is TextMessage or kind is BytesMessage:
            self._received += 1
            self._on_message(event.data)  # type: ignore[attr-defined]
        elif kind is Pong:
            self._on_pong(event.payload)  # type: ignore[attr-defined]
        elif kind is Close:
            assert isinstance(event, Close)
            self.close_code, self.close_reason = event.code, event.reason
            self._wake_receiver()
        else:
            self._on_handshake_event(event)

    def _flush(self) -> None:
        """Write what the connection owes; then do what it says with the transport."""
        transport = self._transport
        if transport is None:
            return
        data = self._conn.data_to_send()
        if data:
            self._written += len(data)
            transport.write(data)
        action = self._conn.transport_action
        if action is not _NONE:
            self._session.update(self._loop.time())  # the close timeout, the failure grace
            self._rearm()
            self._apply(action, transport)

    def _apply(self, action: TransportAction, transport: asyncio.Transport) -> None:
        """Carry out a :class:`~wsproto_core.state.TransportAction` other than ``NONE``."""
        if action is TransportAction.CLOSE:
            transport.close()
        elif action is TransportAction.HALF_CLOSE and not self._half_closed:
            self._half_closed = True
            if not transport.can_write_eof():
                transport.close()  # TLS: no half-close; close_notify ends the stream
                return
            # Half-close and read (discarding) until the peer's EOF, which closes the
            # transport (eof_received returns False). The close timeout above aborts a
            # peer that never ends its side.
            transport.write_eof()
            self._session.holds = Hold(0)  # read (and discard) to the end, whatever held it
            self._sync_reading()

    # -- the clock: one timer at the session's next deadline ---------------------------

    def _rearm(self) -> None:
        """Set the timer to the session's next deadline, if that moved."""
        deadline = self._session.next_deadline()
        if deadline == self._timer_at or self._transport is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        """Do what came due (keepalive, timeouts), then wait for the next deadline."""
        self._timer = self._timer_at = None
        session = self._session
        session.taken = self._taken()
        while self._transport is not None and (due := session.due(self._loop.time())):
            if due is Due.CLOSE_TIMEOUT:
                self._transport.abort()  # the closing handshake took too long
                return
            if due is Due.KEEPALIVE_FAILED:
                logger.info("%s: no pong within the keepalive timeout", self.remote_address)
                self._process()
                if self._transport is not None and self._writing_paused:
                    self._transport.abort()  # it does not read: the 1011 cannot reach it
                elif self._transport is not None:
                    self._transport.close()
            else:
                self._process()  # PING: write it; EXPIRED: the failure goes on
        self._rearm()

    def _on_message(self, message: str | bytes) -> None:
        """Queue a message for ``recv``; pause reading when the queue is full."""
        messages = self._messages
        if messages is None:
            messages = self._messages = deque()
        messages.append(message)
        self._answer_pending = True
        self._wake_receiver()
        if len(messages) >= self._max_queue:
            self._hold_reading(Hold.QUEUE)

    def _on_pong(self, payload: bytes) -> None:
        for waiter, latency in self._session.pong(payload, self._loop.time()):
            if not waiter.done():
                waiter.set_result(latency)
        self._rearm()  # the keepalive's pong deadline may be gone

    def _on_handshake_event(self, event: Event) -> None:
        raise NotImplementedError  # each role handles its handshake events

    def _on_connection_lost(self) -> None:
        """What a role does once the transport is gone (after every waiter is woken)."""

    def _opened(self) -> None:
        """The handshake succeeded: record the subprotocol and start the keepalive pings."""
        self.subprotocol = self._conn.subprotocol
        if self._transport is not None:
            self._session.start(self._loop.time())
            self._rearm()

    # -- flow control ------------------------------------------------------------------

    def _taken(self) -> int:
        """How many of the bytes we wrote have left the transport's buffer."""
        transport = self._transport
        return self._written - (0 if transport is None else transport.get_write_buffer_size())

    def _hold_reading(self, reason: Hold) -> None:
        """Stop reading from the peer for ``reason``."""
        self._session.hold(reason)
        self._sync_reading()

    def _release_reading(self, reason: Hold) -> None:
        """``reason`` no longer holds reading; read again if nothing else does."""
        self._session.release(reason)
        self._sync_reading()

    def _sync_reading(self) -> None:
        transport = self._transport
        holds = self._session.holds
        if transport is None or (self._half_closed and holds):
            return
        paused = bool(holds)
        if paused is not self._reading_paused:
            self._reading_paused = paused
            if paused:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _overrun(self) -> bool:
        """Before a send that will not wait: fail the connection if it is far behind already.

        The session decides (:meth:`~wsproto_core.session.Session.overrun`): the
        connection is failed with 1013, and the transport cut, since a peer that
        does not read cannot take the close frame.
        """
        transport = self._transport
        if transport is None:
            return True
        if not self._session.overrun(transport.get_write_buffer_size()):
            return False
        logger.info("%s: the peer does not read; send refused", self.remote_address)
        self._conn.data_to_send()  # the 1013 close: it cannot reach a peer that does not read
        transport.abort()
        return True

    async def _drain(self) -> None:
        if self._transport is None:
            self._check_open()
            return
        if not self._writing_paused:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(waiter)
        await waiter

    def _drained(self) -> asyncio.Future[None]:
        """A future done once the buffer is below the write limit (or the connection ends)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(waiter)
        return waiter

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def _wake_receiver(self) -> None:
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
