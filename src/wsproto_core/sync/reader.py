"""The reading half of a blocking connection: whose turn it is to read, and the clock.

One thread at a time reads the socket: it feeds the bytes to the sans-IO
connection, writes the replies the protocol owes, and hands the messages over,
to a bounded queue that ``recv()`` drains or to a callback (the handler API).
It also keeps the connection's clock: keepalive pings, the close timeout and
periodic callbacks are deadlines it waits for with ``poll`` on the socket, so
no other thread is needed.

The reader thread reads whenever nobody else does. A thread blocked in
``recv()`` with an empty queue takes the turn and reads for itself, so in the
usual loop (receive, answer, receive...) a message costs no thread switch; the
reader thread parks meanwhile and takes over when ``recv()`` is not called for
a while (:data:`HANDOFF`), so pings, closes and keepalive are always handled.

The connection's events are live and ordered: what it owes for an event (a
pong, the failure close for a bad frame) is queued when ``events()`` yields it.
So they are handed over one at a time, each one's replies written before the
next is taken. A handler's ``on_message`` answers while it runs; messages
queued for ``recv()`` are answered later, so a failure pending behind messages
nobody has read yet waits until a ``recv()`` call finds the queue empty (the
application has answered them), the application closes, or the close timeout
passes; meanwhile the socket is not read. The peer's own close is answered at
once.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from ..events import BytesMessage, Close, Pong, TextMessage
from ..session import Due, Session
from ..state import ConnectionState, TransportAction
from ..stats import Traffic

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..connection import Connection as Protocol
    from ..events import Accept, Event

__all__ = ["HANDOFF", "RECV_SIZE", "TURN", "PeriodicTimer", "Reader", "Turn", "handshake"]

logger = logging.getLogger("wsproto_core.sync")

RECV_SIZE = 65536
"""How many bytes one ``recv`` asks for."""

HANDOFF = 0.5
"""Seconds without a ``recv()`` call after which the reader thread takes the reading back."""

_OPEN = ConnectionState.OPEN
_CONNECTING = ConnectionState.CONNECTING
_CLOSED = ConnectionState.CLOSED
# poll(2) needs no file descriptor of its own, unlike epoll; select(2) where there is no poll.
_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.SelectSelector
)


class Turn:
    """Put in the message queue to tell a thread waiting in ``recv()`` to read for itself."""


TURN = Turn()
"""The one :class:`Turn` token."""


class PeriodicTimer:
    """A callback the reader thread calls every ``interval`` seconds.

    See :meth:`Connection.call_every`.
    """

    __slots__ = ("callback", "cancelled", "due", "interval")

    def __init__(self, interval: float, callback: Callable[[], object], due: float) -> None:
        self.interval = interval
        self.callback = callback
        self.due = due
        self.cancelled = False

    def cancel(self) -> None:
        """Stop calling the callback. Calling it again does nothing."""
        self.cancelled = True


def handshake(
    sock: socket.socket, protocol: Protocol, deadline: float, traffic: Traffic | None = None
) -> Event:
    """Run the opening handshake: write what ``protocol`` owes, read until it has an event.

    The socket is in timeout mode during the handshake (nobody else uses it
    yet); the caller sets it back to blocking.

    Args:
        sock: The connected socket.
        protocol: The sans-IO connection (a client's request is already queued).
        deadline: The ``time.monotonic()`` value by which the handshake must be done.
        traffic: Counts the bytes read and written, if given.

    Returns:
        The handshake's event: ``Request``, ``HTTPRequest``, ``Accept``, ``Reject``
        or ``HandshakeFailed``. A server's refusal is written. The events after it
        (frames the peer sent right behind) stay in ``protocol`` for the reader.

    Raises:
        TimeoutError: The deadline passed.
        OSError: The socket failed.
    """
    if traffic is None:
        traffic = Traffic()
    while True:
        out = protocol.data_to_send()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the opening handshake timed out")
        sock.settimeout(remaining)
        if out:
            sock.sendall(out)
            traffic.bytes_out += len(out)
        event = next(protocol.events(), None)
        if event is not None:
            out = protocol.data_to_send()
            sock.sendall(out)
            traffic.bytes_out += len(out)
            return event
        data = sock.recv(RECV_SIZE)
        traffic.bytes_in += len(data)
        protocol.receive_data(data)


class Reader:
    """The state of one connection and everything its reading side does.

    :class:`~wsproto_core.sync.connection.Connection` adds what the
    application calls; see it for the constructor's arguments.
    """

    __slots__ = (
        "_aborted",
        "_answered",
        "_close_event",
        "_close_timeout",
        "_closing",
        "_deferred_close",
        "_dispatching",
        "_done",
        "_draining",
        "_eof",
        "_handed",
        "_hold_until",
        "_lock",
        "_max_queue",
        "_messages",
        "_on_close",
        "_on_message",
        "_park",
        "_parked",
        "_paused",
        "_pending",
        "_pending_close",
        "_ping_interval",
        "_ping_timeout",
        "_protocol",
        "_reader",
        "_reading",
        "_recv_turns",
        "_recv_waiting",
        "_room",
        "_selector",
        "_sent_close",
        "_session",
        "_socket",
        "_taken",
        "_timers",
        "_urgent",
        "remote_address",
        "response",
        "traffic",
    )

    def __init__(
        self,
        sock: socket.socket,
        protocol: Protocol,
        *,
        remote_address: Any = None,
        response: Accept | None = None,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        close_timeout: float = 10,
        max_queue: int | None = 16,
        on_message: Callable[[str | bytes], object] | None = None,
        on_close: Callable[[int, str], object] | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        self._socket = sock
        self.traffic = Traffic() if traffic is None else traffic
        """What went through: messages and bytes (the handshake's, when given its counter)."""
        # Every write must move within the close timeout, or the connection is cut (see
        # _write); reads wait in the selector first, so this never ends one early.
        sock.settimeout(close_timeout)
        self._protocol = protocol
        self.remote_address = remote_address
        self.response = response
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._max_queue = max_queue
        self._on_message = on_message
        self._on_close = on_close
        self._lock = threading.Lock()
        # Messages, then None once closed; a C queue, so handing a message over is cheap.
        self._messages: queue.SimpleQueue[str | bytes | Turn | None] = queue.SimpleQueue()
        self._room = threading.Condition()  # the reader waits here while the queue is full
        self._paused = False
        self._selector = _Selector()
        self._selector.register(sock, selectors.EVENT_READ)
        self._pending = getattr(sock, "pending", None)  # TLS: bytes decrypted, not yet read
        self._park = threading.Condition()  # guards the turn to read
        self._reading: threading.Thread | None = None  # whose turn it is
        self._parked = False  # the reader thread waits for a recv() caller's turn to end
        self._recv_waiting = 0  # recv() callers waiting for someone else's read
        self._recv_turns = 0  # how many turns recv() callers took, to see they are active
        self._urgent = False  # someone waits for bytes (a pong): read now
        self._done = threading.Event()
        self._reader: threading.Thread | None = None
        self._close_event: Close | None = None
        self._sent_close: tuple[int, str] | None = None
        self._pending_close: tuple[int, str] | None = None
        self._closing = False
        # Handler mode: the reader hands over the messages of one read; a close asked
        # for meanwhile by another thread waits for the end of it (see _defer_close).
        self._dispatching = False
        self._deferred_close: tuple[int, str] | None = None
        self._aborted = False
        self._draining = False
        self._eof = False
        # Pings, keepalive and the deadlines of closing: the policy both adapters share.
        self._session: Session[threading.Event] = Session(
            protocol,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
        )
        self._hold_until: float | None = None  # when a failure held for recv() goes out anyway
        # Messages put in the queue, messages recv() returned, and how many of those were
        # returned when a recv() call last found the queue empty: the application had
        # answered them all (see _holds_failure).
        self._handed = 0
        self._taken = 0
        self._answered = 0
        self._timers: list[PeriodicTimer] = []

    def abort(self) -> None:
        """Cut the stream at once, without a closing handshake. Safe from any thread."""
        self._aborted = True
        # The plain socket method: an SSLSocket's own would drop its TLS state under a writer.
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
        with self._room:
            self._room.notify()
        with self._park:
            self._park.notify()

    def _read_or_wait(self, deadline: float | None) -> str | bytes | Turn | None:
        """Read once if nobody else is reading, else wait for the next message."""
        with self._park:
            # Not while the reader thread is wanted (a periodic callback is due: it runs there).
            my_turn = self._reading is None and not self._eof and not self._wants_reader()
            if my_turn:
                self._reading = threading.current_thread()
                self._recv_turns += 1
            else:
                self._recv_waiting += 1
        if my_turn:
            try:
                self._step(deadline)
            finally:
                self._end_turn()
            if deadline is not None and time.monotonic() >= deadline and self._messages.empty():
                raise TimeoutError("no message arrived in time")
            return TURN  # look at the queue again
        try:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no message arrived in time") from None
        finally:
            with self._park:
                self._recv_waiting -= 1

    def _end_turn(self) -> None:
        with self._park:
            self._reading = None
            if self._parked or self._eof or self._urgent or self._protocol.state is not _OPEN:
                self._park.notify()

    def _wants_reader(self) -> bool:
        """Whether the reader thread must take the next turn (park lock held)."""
        reader = self._reader
        return self._urgent and reader is not None and reader is not threading.current_thread()

    def _read_soon(self) -> None:
        """Have the reader thread take the turn now if no recv() caller has it."""
        with self._park:
            self._urgent = True
            self._park.notify()

    # -- the reader thread ----------------------------------------------------------

    def run(self) -> None:
        """The reader loop: read, feed, reply, deliver, until the stream ends.

        :meth:`start` runs it in a new thread; a server may run it in the
        connection's own thread instead.
        """
        self._reader = self._reading = threading.current_thread()
        self._session.start(time.monotonic())
        try:
            with self._lock:
                self._flush()  # a server's handshake response
            if self._pending_close is not None:
                self._start_close(*self._pending_close)
            self._pump()  # the frames the peer sent right behind the handshake
            if self._on_message is not None:
                while not self._eof:  # callbacks run here: this thread always reads
                    self._step(None)
            else:
                while self._next_turn():
                    self._step(None)
        finally:
            self._finish()

    def _next_turn(self) -> bool:
        """Between two reads of the reader thread: wait for its turn; False at the end.

        While ``recv()`` callers keep taking turns the reader thread looks again
        every :data:`HANDOFF` seconds; while one waits in ``recv()`` for nothing
        it sleeps until that turn ends. It takes the turn when nobody has read
        for a whole :data:`HANDOFF`, or at once when closing or when a pong is awaited.
        """
        me = threading.current_thread()
        with self._park:
            # While a failure is held for them, leave the turn to recv() callers.
            patient = self._hand_over() or self._holds_failure()
            while True:
                if self._reading is None:
                    if self._eof:
                        return False
                    if not patient or self._urgent or self._protocol.state is not _OPEN:
                        self._reading = me
                        self._urgent = False
                        return True
                elif not patient:
                    self._parked = True
                    self._park.wait()  # until that caller's turn ends
                    self._parked = False
                turns = self._recv_turns
                self._park.wait(HANDOFF)
                patient = self._recv_turns != turns  # a recv() caller read meanwhile

    def _hand_over(self) -> bool:
        """End the reader thread's turn (park lock held); True if a recv() caller takes it."""
        self._reading = None
        if self._recv_waiting and not self._eof:
            self._messages.put(TURN)  # wakes a recv() caller, which reads for itself
            return True
        return False

    def _step(self, until: float | None) -> None:
        """Wait for bytes (at most until the next deadline or ``until``), then handle them.

        While the connection holds a ``Close`` not yet handed over (a failure held
        for ``recv()``), hand it over instead, if its time has come.
        """
        if self._protocol.pending_close is not None:
            self._pump()
            return
        deadline = self._next_deadline()
        timer_due = deadline is not None and (until is None or deadline <= until)
        wake = deadline if timer_due else until
        if wake is not None:
            timeout = wake - time.monotonic()
            pending = self._pending
            if timeout <= 0 or (
                not (pending is not None and pending()) and not self._selector.select(timeout)
            ):
                if timer_due:
                    self._on_deadline()
                return
        try:
            data = self._socket.recv(RECV_SIZE)
        except OSError:
            data = b""
        self._receive(data)

    def _receive(self, data: bytes) -> None:
        self.traffic.bytes_in += len(data)
        if not data:
            self._eof = True
        if self._draining:
            return  # closing: the peer's last bytes have no meaning left
        self._pump(data)

    def _pump(self, data: bytes | None = None) -> None:
        """Feed ``data``, if any; hand the events over in order, writing what each one owes.

        Stops before a failure held for ``recv()`` (see :meth:`_holds_failure`). In
        handler mode, a close another thread asks for meanwhile waits until every
        message of ``data`` was handed to ``on_message`` (see :meth:`_defer_close`).
        """
        if self._on_message is None:
            self._feed(data)
            return
        with self._park:
            self._dispatching = True
        try:
            self._feed(data)
        finally:
            with self._park:
                self._dispatching = False
                deferred, self._deferred_close = self._deferred_close, None
            if deferred is not None:
                self._start_close(*deferred)

    def _defer_close(self, code: int, reason: str) -> bool:
        """Whether a close from another thread must wait for the messages being handed over.

        A graceful shutdown closes with 1001 from another thread: the messages this
        connection has read already are still handled, and their replies go out
        before the close frame. Closes from the reader thread (a handler's own) are
        not deferred.
        """
        if self._reader is threading.current_thread():
            return False
        with self._park:
            if not self._dispatching:
                return False
            if self._deferred_close is None:
                self._deferred_close = (code, reason)
            return True

    def _feed(self, data: bytes | None) -> None:
        protocol = self._protocol
        events = protocol.events()
        with self._lock:
            if data is not None:
                protocol.receive_data(data)
            # Only this thread feeds the connection: a failure is there now or not at all.
            failing = self._on_message is None and protocol.pending_close is not None
            event = None if failing and self._holds_failure() else self._take(events)
        while event is not None:
            self._dispatch(event)
            if failing and self._holds_failure():
                return
            with self._lock:
                event = self._take(events)

    def _take(self, events: Iterator[Event]) -> Event | None:
        """The next event, or ``None``; write what it leaves owed (lock held)."""
        event = next(events, None)
        kind = type(event)
        if kind is not TextMessage and kind is not BytesMessage:
            self._flush()  # a message leaves nothing owed; the others may
        return event

    def _holds_failure(self) -> bool:
        """Whether a pending failure waits for the application to answer the messages before it.

        It waits until a ``recv()`` call finds the queue empty (every message was
        returned and the application is back for more), the application closes,
        the stream is cut, or the close timeout has passed since the hold began.
        """
        if self._on_message is not None or self._closing or self._aborted:
            return False
        if self._protocol.pending_failure is None or self._answered >= self._handed:
            return False
        now = time.monotonic()
        if self._hold_until is None:
            self._hold_until = now + self._close_timeout
        return now < self._hold_until

    def _flush(self) -> bool:
        """Write what the protocol owes (lock held); return False if the socket failed."""
        protocol = self._protocol
        out = protocol.data_to_send()
        written = True
        if out:
            try:
                self._write(out)
            except OSError:  # the peer is gone, or has taken nothing for the close timeout
                self.abort()
                written = False
        if protocol.transport_action is not TransportAction.NONE:
            self._session.update(time.monotonic())  # the close timeout, the failure grace
        if protocol.should_close_transport and not self._draining:
            self._draining = True
            if self._reading is threading.current_thread():
                # Half-close, then read until the peer's EOF (or the close timeout):
                # closing with unread bytes would reset the stream and could lose
                # our last frames on their way (RFC 6455 §7.1.1).
                with contextlib.suppress(OSError):  # the peer is gone already
                    socket.socket.shutdown(self._socket, socket.SHUT_WR)
            else:
                self.abort()  # wakes the reader, which ends the connection
        return written

    def _write(self, data: bytes) -> None:
        """Send all of ``data`` (lock held) while the peer keeps taking some.

        Each ``send`` waits at most the close timeout for room in the socket's
        buffer (its timeout), so a peer that reads slowly is waited for, and
        one that stops reading raises ``TimeoutError`` after the close timeout,
        instead of blocking this thread, the lock and every deadline forever.
        (``sendall`` would bound the whole write instead, however fast it moves.)
        """
        self.traffic.bytes_out += len(data)
        send = self._socket.send
        view = memoryview(data)
        while view:
            view = view[send(view) :]

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, (TextMessage, BytesMessage)):
            self._deliver(event.data)
        elif isinstance(event, Pong):
            self._acknowledge(event.payload)
        elif isinstance(event, Close):
            self._closed(event)

    def _deliver(self, message: str | bytes) -> None:
        on_message = self._on_message
        if on_message is not None:
            self.traffic.messages_in += 1
            try:
                on_message(message)
            except Exception:
                logger.exception("message handler failed")
                self._start_close(1011, "internal error")
            return
        if self._closing or self._aborted:
            return
        messages = self._messages
        messages.put(message)
        self._handed += 1
        self.traffic.messages_in += 1
        limit = self._max_queue
        if limit is not None and self._reading is self._reader and messages.qsize() >= limit:
            # Backpressure: stop reading until recv() makes room (or the connection closes).
            with self._room:
                self._paused = True
                while messages.qsize() >= limit and not self._closing and not self._aborted:
                    self._room.wait()
                self._paused = False

    def _acknowledge(self, payload: bytes) -> None:
        with self._lock:
            acknowledged = self._session.pong(payload, time.monotonic())
        for pong, _ in acknowledged:
            pong.set()

    def _next_deadline(self) -> float | None:
        if self._aborted:
            return None
        deadline = self._session.next_deadline()
        if self._timers and self._protocol.state is _OPEN:
            for timer in self._timers:
                if not timer.cancelled and (deadline is None or timer.due < deadline):
                    deadline = timer.due
        return deadline

    def _on_deadline(self) -> None:
        now = time.monotonic()
        if not self._session_due(now):
            return
        reader = self._reader
        if reader is None or reader is threading.current_thread():
            self._run_timers(now)
        elif any(not timer.cancelled and now >= timer.due for timer in self._timers):
            with self._park:
                self._urgent = True  # periodic callbacks run in the reader thread: hand over

    def _session_due(self, now: float) -> bool:
        """Do what the session has due (keepalive, timeouts); False if the stream was cut."""
        session = self._session
        deadline = session.next_deadline()
        if deadline is None or deadline > now:
            return True
        if not self._lock.acquire(timeout=self._close_timeout):
            self.abort()  # a write has been stuck for the whole close timeout
            return False
        try:
            while due := session.due(now):
                if due is Due.CLOSE_TIMEOUT:
                    self.abort()  # the closing handshake took too long
                    return False
                if due is Due.KEEPALIVE_FAILED:
                    # Fail the connection (RFC 6455 §7.1.7) with 1011: the peer is gone.
                    if self._sent_close is None:
                        self._sent_close = (1011, "keepalive ping timeout")
                    self._flush()
                    self.abort()
                    return False
                self._flush()  # PING: write it; EXPIRED: the failure goes on
        finally:
            self._lock.release()
        return True

    def _run_timers(self, now: float) -> None:
        timers = self._timers
        if not timers or self._protocol.state is not _OPEN:
            return
        for timer in list(timers):
            if timer.cancelled:
                timers.remove(timer)
            elif now >= timer.due:
                timer.due += timer.interval
                if timer.due <= now:
                    timer.due = now + timer.interval  # fell behind: skip, don't burst
                try:
                    timer.callback()
                except Exception:
                    logger.exception("periodic callback failed")
                    self._start_close(1011, "internal error")
                    return

    def _start_close(self, code: int, reason: str) -> None:
        if self._dispatching and self._defer_close(code, reason):
            return
        with self._room:
            self._closing = True
            self._room.notify()
        with self._park:
            self._park.notify()  # the reader thread takes the turn to read the close
        if not self._lock.acquire(timeout=self._close_timeout):
            self.abort()  # a write has been stuck for the whole close timeout
            return
        try:
            state = self._protocol.state
            if state is _CONNECTING:
                self._pending_close = (code, reason)
            elif state is _OPEN:
                self._protocol.close(code, reason)
                self._sent_close = (code, reason)
                self._flush()
        finally:
            self._lock.release()

    def _finish(self) -> None:
        self.abort()
        self._selector.close()
        # What is left: a close the application caused (draft-75) is reported without a read.
        self._pump()
        with self._lock:  # no writer is left inside sendall once the stream is shut down
            self._socket.close()
        close_event = self._close_event
        if close_event is None:
            close_event = Close(
                1006, "connection closed without a closing handshake", by_peer=False
            )
        for timer in self._timers:
            timer.cancel()  # before on_close, as the handler API promises
        self._timers.clear()
        self._closed(close_event)
        self._done.set()
        if self._on_close is not None:
            try:
                self._on_close(close_event.code, close_event.reason)
            except Exception:
                logger.exception("close handler failed")

    # -- helpers ---------------------------------------------------------------------

    def _closed(self, event: Close) -> None:
        """Record the close (the first one counts) and wake ``recv``, in the reader thread."""
        if self._close_event is None:
            self._close_event = event
            self._messages.put(None)
