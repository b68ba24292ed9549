"""The blocking connection: what the application calls on one WebSocket connection.

Any thread may send: a lock serialises every use of the sans-IO connection and
every write to the socket, so frames never interleave. Receiving, keepalive
and the closing handshake are the reading side's work
(:mod:`wsproto_core.sync.reader`): a reader thread, or a thread waiting in
:meth:`Connection.recv`.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING

from ..connection import ServerConnection
from ..errors import ConnectionClosedOK, closed_error
from ..state import ConnectionState
from .reader import TURN, PeriodicTimer, Reader, Turn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..errors import ConnectionClosed
    from ..events import Request
    from ..extensions import Extension
    from ..versions import ProtocolVersion

__all__ = ["Connection"]

_OPEN = ConnectionState.OPEN


class Connection(Reader):
    """A WebSocket connection over a socket, after the opening handshake (either role).

    Iterate over it, or call :meth:`recv`, to receive messages (``str`` for text,
    ``bytes`` for binary); :meth:`send`, :meth:`ping` and :meth:`close` are safe
    from any thread. Use it as a context manager to close it on exit.

    The reader thread stops reading while ``max_queue`` messages wait to be
    received, so TCP backpressure reaches the peer; keepalive pings pause
    meanwhile (the slow side is this application, not the network). After
    :meth:`close` is called, messages that still arrive are dropped.

    Args:
        sock: The connected socket (blocking mode).
        protocol: The sans-IO connection, handshake done (or, server side, a
            request waiting for ``accept()``).
        remote_address: The peer's address.
        response: The client's ``Accept`` event.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds to wait for the pong before failing the
            connection with 1011 (``None``: wait forever).
        close_timeout: Seconds to wait for the closing handshake and the end of
            the stream before cutting it.
        max_queue: How many received messages may wait for :meth:`recv` (``None``: no limit).
        on_message: Instead of queueing, call this with each message in the
            reader thread (the handler API).
        on_close: Called once in the reader thread with the close code and reason.
        traffic: The counters to count its messages and bytes in (a new one by default).
    """

    __slots__ = ()

    # -- what the application reads ----------------------------------------------

    @property
    def request(self) -> Request | None:
        """Server side: the handshake request. ``None`` on the client side."""
        protocol = self._protocol
        return protocol.request if isinstance(protocol, ServerConnection) else None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol in use, or ``None``."""
        return self._protocol.subprotocol

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """The protocol spoken: 13, 8, 7, ``"hixie-76"`` or ``"hixie-75"``."""
        return self._protocol.protocol_version

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions agreed in the handshake, e.g. permessage-deflate."""
        return self._protocol.extensions

    @property
    def state(self) -> ConnectionState:
        """The state of the sans-IO connection."""
        return self._protocol.state

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (the reader thread is done)."""
        return self._done.is_set()

    @property
    def close_code(self) -> int | None:
        """The close code once the connection is closed, else ``None``."""
        event = self._close_event
        return None if event is None else event.code

    @property
    def close_reason(self) -> str | None:
        """The close reason once the connection is closed, else ``None``."""
        event = self._close_event
        return None if event is None else event.reason

    # -- the application's calls -------------------------------------------------

    def recv(self, timeout: float | None = None) -> str | bytes:
        """Return the next message: ``str`` for text, ``bytes`` for binary.

        Args:
            timeout: Seconds to wait (``None``: as long as it takes).

        Raises:
            ConnectionClosed: The connection is closed and every message was received.
            TimeoutError: No message arrived within ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        messages = self._messages
        while True:
            try:
                message = messages.get_nowait()
            except queue.Empty:
                self._answered = self._taken  # back for more: every message was answered
                message = self._read_or_wait(deadline)
            if message is TURN:
                continue
            if message is None:
                messages.put(None)  # for the next call
                raise self._closed_error()
            if self._paused:
                with self._room:
                    self._room.notify()
            assert not isinstance(message, Turn)
            self._taken += 1
            return message

    def __iter__(self) -> Iterator[str | bytes]:
        """Receive messages until the connection closes.

        Raises:
            ConnectionClosedError: The connection closed with an error code (not 1000,
                1001 or 1005) or without a closing handshake.
        """
        while True:
            try:
                yield self.recv()
            except ConnectionClosedOK:
                return

    def send(self, message: str | bytes | bytearray | memoryview) -> None:
        """Send a message: text for ``str``, binary for bytes-like. Safe from any thread.

        Blocks while the socket's send buffer is full (the peer reads slowly).

        Raises:
            ConnectionClosed: The connection is closing or closed.
            UnsupportedOperation: Binary on a hixie draft, which has none.
            TypeError: ``message`` is neither text nor bytes.
        """
        with self._lock:
            protocol = self._protocol
            if protocol.state is not _OPEN:
                raise self._closed_error()
            if isinstance(message, str):
                protocol.send_text(message)
            elif isinstance(message, (bytes, bytearray, memoryview)):
                protocol.send_binary(bytes(message))
            else:
                raise TypeError(f"a message is str or bytes, not {type(message).__name__}")
            self.traffic.messages_out += 1
            if not self._flush():
                raise self._closed_error()

    def ping(self, payload: bytes | None = None) -> threading.Event:
        """Send a ping; the returned event is set when the matching pong arrives.

        A pong acknowledges its ping and every earlier one. Safe from any thread.

        Args:
            payload: Up to 125 bytes; four random bytes by default.

        Raises:
            ConnectionClosed: The connection is closing or closed.
            UnsupportedOperation: The peer speaks a hixie draft, which has no pings.
            ValueError: ``payload`` is already waiting for its pong.
        """
        pong = threading.Event()
        with self._lock:
            if self._protocol.state is not _OPEN:
                raise self._closed_error()
            self._session.ping(pong, time.monotonic(), payload)
            if not self._flush():
                raise self._closed_error()
        self._read_soon()
        return pong

    def close(self, code: int = 1000, reason: str = "", *, wait: bool = True) -> None:
        """Start the closing handshake and wait (up to the close timeout) for the end.

        Safe from any thread; a second call does nothing more. Called from the
        reader thread (a handler callback), it does not wait. Called before the
        handshake is accepted, it closes right after.

        Args:
            code: The close code.
            reason: The close reason (at most 123 bytes of UTF-8).
            wait: Wait for the closing handshake and the end of the stream.

        Raises:
            InvalidCloseCode: ``code`` may not be sent (RFC 6455 §7.4).
        """
        self._start_close(code, reason)
        reader = self._reader
        if wait and reader is not None and reader is not threading.current_thread():
            self.wait_closed()

    def wait_closed(self) -> None:
        """Wait for the connection to end; cut it if that takes over the close timeout."""
        if self._reader is None:
            return  # never started: nothing to wait for
        if not self._done.wait(self._close_timeout):
            self.abort()
            self._done.wait()

    def call_every(self, interval: float, callback: Callable[[], object]) -> PeriodicTimer:
        """Call ``callback()`` in the reader thread every ``interval`` seconds while open.

        Calls never overlap with each other or with message callbacks. The first
        comes ``interval`` seconds after this call; when the reader thread is
        waiting on the socket at that moment (a call from another thread), it
        comes when the reader next wakes up. An exception closes with 1011.

        Raises:
            ValueError: ``interval`` is not positive.
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        timer = PeriodicTimer(interval, callback, time.monotonic() + interval)
        self._timers.append(timer)
        return timer

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the reader thread."""
        thread = threading.Thread(
            target=self.run, name=f"wsproto-reader-{self.remote_address}", daemon=True
        )
        self._reader = self._reading = thread
        thread.start()

    def _closed_error(self) -> ConnectionClosed:
        event = self._close_event
        if event is not None:
            return closed_error(event.code, event.reason)
        if self._sent_close is not None:
            return closed_error(*self._sent_close)
        return closed_error(1006, "connection closed without a closing handshake")
