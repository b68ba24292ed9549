"""The threading server: a thread per connection, for a handler, a router or a function.

Three kinds of application are served:

* a :class:`~wsproto_core.handlers.Handler` (served on every path) or a
  :class:`~wsproto_core.handlers.Router`: the connection's thread is its reader
  thread and calls ``on_message`` and the periodic callbacks itself, one at a
  time; a slow handler slows reading, which is the backpressure;
* a plain function ``handler(ws)`` taking a :class:`~wsproto_core.sync.connection.Connection`
  (``ws.recv()``, ``ws.send()``, iteration...): it runs in the connection's
  thread while a reader thread fills the bounded receive queue.

Example::

    from wsproto_core.sync import serve

    def echo(ws):
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 8765) as server:
        server.serve_forever()
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl as ssl_module
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .._accept import REFUSAL_LINGER, UNAVAILABLE, AcceptFailures, Refusals
from ..connection import DEFAULT_MAX_MESSAGE_SIZE, ServerConnection
from ..errors import ConnectionClosed
from ..events import HTTPRequest, Request
from ..extensions.compression import ServerCompression, server_extensions
from ..handlers import (
    Handler,
    HandlerConnectionBase,
    Refuse,
    Response,
    Router,
    error_response,
    log_connection,
    request_answer,
)
from ..state import TransportAction
from ..stats import ServerStats, Traffic
from .broadcasting import deliver
from .connection import Connection
from .reader import PeriodicTimer, handshake

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..broadcast import BroadcastReport, Overflow, PreparedMessage
    from ..handlers import Route

__all__ = ["Server", "serve"]

logger = logging.getLogger("wsproto_core.sync")

_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.SelectSelector
)


class HandlerConnection(HandlerConnectionBase):
    """What a :class:`~wsproto_core.handlers.Handler` sees of one connection (threading adapter).

    ``send``, ``close`` and ``call_every`` are safe from any thread. Periodic
    callbacks run in the connection's reader thread, never at the same time as
    ``on_message``.
    """

    __slots__ = ("_ws",)

    def __init__(self, request: Request, route: Route, ws: Connection) -> None:
        super().__init__(request, route, ws.remote_address)
        self._ws = ws

    def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message; dropped once closed."""
        with contextlib.suppress(ConnectionClosed):  # on_disconnect tells the handler
            self._ws.send(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake without waiting for it; a second call does nothing."""
        self._ws.close(code, reason, wait=False)

    @classmethod
    def _deliver(
        cls,
        group: list[HandlerConnectionBase],
        message: PreparedMessage,
        overflow: Overflow,
    ) -> BroadcastReport[HandlerConnectionBase]:
        return deliver(((hc, hc._ws) for hc in group if isinstance(hc, cls)), message, overflow)

    def call_every(self, interval: float, callback: Callable[[], object]) -> PeriodicTimer:
        """Call ``callback()`` every ``interval`` seconds in the reader thread while open."""
        return self._ws.call_every(interval, callback)


class Server:
    """A listening socket and a thread per connection; create it with :func:`serve`.

    Use it as a context manager: leaving the block shuts it down.

    Past ``max_connections`` open connections (handshaking ones included), a
    new connection is answered ``503 Service Unavailable`` with ``Retry-After``
    from the accepting thread, without a thread of its own (and counted in a
    log line, one a second at most). When ``accept()``
    fails (out of file descriptors, mostly) or a thread cannot start, the server
    stops accepting for a moment, 50 ms at first and up to a second while it
    keeps failing, and logs one line a second at most.
    """

    __slots__ = (
        "_accepted",
        "_app",
        "_close_timeout",
        "_connection_options",
        "_connections",
        "_gone",
        "_handshaking",
        "_listener",
        "_lock",
        "_max_connections",
        "_open_timeout",
        "_port",
        "_process_request",
        "_protocol_options",
        "_refused",
        "_serving",
        "_shutting_down",
        "_ssl",
        "_started",
        "_stopped",
        "_threads",
        "_traffic",
        "_wake",
    )

    def __init__(
        self,
        listener: socket.socket,
        app: Router | Callable[[Connection], object],
        *,
        ssl: ssl_module.SSLContext | None,
        open_timeout: float,
        close_timeout: float,
        connection_options: dict[str, Any],
        protocol_options: dict[str, Any],
        max_connections: int | None = None,
        process_request: Callable[[Request], Response | None] | None = None,
    ) -> None:
        self._process_request = process_request
        self._listener = listener
        self._max_connections = max_connections
        self._refused = Refusals(logger, max_connections)
        self._port: int = listener.getsockname()[1]
        self._app = app
        self._ssl = ssl
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._connection_options = connection_options
        self._protocol_options = protocol_options
        self._lock = threading.Lock()
        self._connections: set[Connection] = set()
        self._handshaking: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._wake = socket.socketpair()
        self._serving = False
        self._shutting_down = False
        self._stopped = threading.Event()
        self._started = time.monotonic()
        self._accepted = 0
        # Each stream's counters while it lasts; the sum of the streams gone.
        self._traffic: set[Traffic] = set()
        self._gone = Traffic()

    @property
    def port(self) -> int:
        """The port the server listens on (useful after binding port 0)."""
        return self._port

    @property
    def connections(self) -> frozenset[Connection]:
        """The open connections."""
        with self._lock:
            return frozenset(self._connections)

    def stats(self) -> ServerStats:
        """What the server holds now: connections, traffic, memory. Safe from any thread.

        Connections are counted from accept to close; see
        :class:`~wsproto_core.stats.ServerStats` for each field.
        """
        with self._lock:
            traffic = self._gone.copy()
            for counts in self._traffic:
                traffic.add(
                    counts.messages_in, counts.messages_out, counts.bytes_in, counts.bytes_out
                )
            connections = len(self._connections)
            streams = len(self._threads)
            accepted = self._accepted
        return ServerStats.now(
            started=self._started,
            connections=connections,
            handshaking=streams - connections,
            accepted=accepted,
            refused=self._refused.total,
            traffic=traffic,
        )

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` is called (from another thread).

        Raises:
            RuntimeError: The server is already serving or was shut down.
        """
        with self._lock:
            if self._serving or self._shutting_down:
                raise RuntimeError("the server is already serving or was shut down")
            self._serving = True
        accepting = _Accepting(self._listener, self._wake[0])
        try:
            while accepting.wait():
                accepted = accepting.accept()
                if accepted is not None:
                    self._admit(accepting, *accepted)
        finally:
            accepting.close()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting, close every connection with 1001 and wait for them.

        Connections still open after the close timeout are cut. Safe from any
        thread; calling it again does nothing.
        """
        with self._lock:
            if self._shutting_down:
                return
            self._shutting_down = True
            serving = self._serving
        if serving:
            self._wake[1].send(b"\0")
            self._stopped.wait()
        else:
            self._listener.close()
        for end in self._wake:
            end.close()
        with self._lock:
            connections = list(self._connections)
            handshaking = list(self._handshaking)
            threads = [t for t in self._threads if t is not threading.current_thread()]
        for sock in handshaking:
            _cut(sock)
        for ws in connections:
            ws.close(1001, "server shutting down", wait=False)
        deadline = time.monotonic() + self._close_timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for ws in connections:
            ws.abort()
        for thread in threads:
            thread.join()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- one connection ------------------------------------------------------------

    def _admit(self, accepting: _Accepting, sock: socket.socket, address: Any) -> None:
        """Serve an accepted socket in a thread of its own, or answer it 503."""
        with self._lock:
            full = self._max_connections is not None and len(self._threads) >= self._max_connections
        if full:
            self._refused.refused()
        else:
            try:
                self._start_thread(sock, address)
            except RuntimeError as exc:  # no more threads: a full server too
                accepting.pause(exc, "cannot start a connection's thread")
            else:
                return
        if self._ssl is None:
            accepting.refuse(sock)
        else:
            self._refuse_tls(sock)

    def _start_thread(self, sock: socket.socket, address: Any) -> None:
        thread = threading.Thread(
            target=self._handle, args=(sock, address), name=f"wsproto-conn-{address}", daemon=True
        )
        with self._lock:
            self._threads.add(thread)
            self._handshaking.add(sock)
            self._accepted += 1
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._threads.discard(thread)
                self._handshaking.discard(sock)
                self._accepted -= 1
            raise

    def _refuse_tls(self, sock: socket.socket) -> None:
        """Answer 503 over TLS in a short-lived thread (the TLS handshake blocks)."""

        def refuse() -> None:
            assert self._ssl is not None
            deadline = time.monotonic() + REFUSAL_LINGER
            try:
                tls = self._ssl.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except OSError:
                sock.close()
                return
            with tls, contextlib.suppress(OSError):  # the client left, or it speaks no TLS
                tls.settimeout(REFUSAL_LINGER)
                tls.do_handshake()
                tls.sendall(UNAVAILABLE)
                with contextlib.suppress(OSError):  # the request came after close_notify
                    tls.unwrap()  # close_notify: the client's EOF
                # Below TLS, what the client still sends is read and dropped until its
                # EOF: closing with the request unread would reset the stream.
                socket.socket.shutdown(tls, socket.SHUT_WR)
                while (remaining := deadline - time.monotonic()) > 0:
                    tls.settimeout(remaining)
                    if not socket.socket.recv(tls, 65536):
                        break

        try:
            threading.Thread(target=refuse, name="wsproto-refuse", daemon=True).start()
        except RuntimeError:
            sock.close()

    def _handle(self, sock: socket.socket, address: Any) -> None:
        traffic = Traffic()
        with self._lock:
            self._traffic.add(traffic)
        try:
            self._serve(sock, address, traffic)
        except Exception:
            logger.exception("connection handler crashed")
        finally:
            sock.close()
            with self._lock:
                self._handshaking.discard(sock)
                self._threads.discard(threading.current_thread())
                self._traffic.discard(traffic)
                self._gone.add(
                    traffic.messages_in, traffic.messages_out, traffic.bytes_in, traffic.bytes_out
                )

    def _serve(self, sock: socket.socket, address: Any, traffic: Traffic) -> None:
        deadline = time.monotonic() + self._open_timeout
        protocol = ServerConnection(**self._protocol_options)
        try:
            if self._ssl is not None:
                tls = self._ssl.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                with self._lock:
                    self._handshaking.discard(sock)
                    self._handshaking.add(tls)
                sock = tls
                tls.settimeout(self._open_timeout)
                tls.do_handshake()
            request = handshake(sock, protocol, deadline, traffic)
            sock.settimeout(None)
        except OSError:  # timeouts, resets, TLS failures: nobody to answer
            sock.close()
            return
        finally:
            with self._lock:
                self._handshaking.discard(sock)
        if not isinstance(request, (Request, HTTPRequest)):
            _end_stream(sock, protocol, self._close_timeout)  # the refusal was written
            return
        app = self._app
        options = {**self._connection_options, "traffic": traffic}
        if isinstance(app, Router):
            self._serve_route(sock, protocol, app, request, address, options)
        elif isinstance(request, Request) and not self._answered(
            sock, protocol, request, address, traffic
        ):
            self._serve_function(sock, protocol, app, address, options)

    def _serve_route(
        self,
        sock: socket.socket,
        protocol: ServerConnection,
        router: Router,
        request: Request | HTTPRequest,
        address: Any,
        options: dict[str, Any],
    ) -> None:
        decision = router.resolve(request)
        if isinstance(decision, Response):
            _refuse(sock, protocol, decision, self._close_timeout, options["traffic"])
            log_connection(logger, address, request, decision.status, None, None, "")
            return
        assert isinstance(request, Request)
        handler: Handler = decision.handler
        conn: HandlerConnection

        def on_message(message: str | bytes) -> None:
            handler.on_message(conn, message)

        def on_close(code: int, reason: str) -> None:
            handler.on_disconnect(conn, code, reason)

        ws = Connection(
            sock,
            protocol,
            remote_address=address,
            on_message=on_message,
            on_close=on_close,
            **options,
        )
        conn = HandlerConnection(request, decision, ws)
        try:
            handler.on_connect(conn)
        except Exception as exc:
            if not isinstance(exc, Refuse):
                logger.exception("on_connect failed")
            response = error_response(exc)
        else:
            conn.accept_on(protocol)
            self._register(ws)
            try:
                ws.run()
            finally:
                self._unregister(ws)
            log_connection(
                logger, address, request, 101, ws.subprotocol, ws.close_code, ws.close_reason or ""
            )
            return
        _refuse(sock, protocol, response, self._close_timeout, ws.traffic)
        log_connection(logger, address, request, response.status, None, None, "")

    def _answered(
        self,
        sock: socket.socket,
        protocol: ServerConnection,
        request: Request,
        address: Any,
        traffic: Traffic,
    ) -> bool:
        """Run ``process_request``; True if it answered the request (a refusal was sent)."""
        check = self._process_request
        if check is None:
            return False
        try:
            outcome, error = check(request), None
        except Exception as exc:
            outcome, error = None, exc
            if not isinstance(exc, Refuse):
                logger.exception("process_request failed")
        response = request_answer(outcome, error)
        if response is None:
            return False
        _refuse(sock, protocol, response, self._close_timeout, traffic)
        log_connection(logger, address, request, response.status, None, None, "")
        return True

    def _serve_function(
        self,
        sock: socket.socket,
        protocol: ServerConnection,
        function: Callable[[Connection], object],
        address: Any,
        options: dict[str, Any],
    ) -> None:
        protocol.accept()  # the first of the server's subprotocols the client offered
        ws = Connection(sock, protocol, remote_address=address, **options)
        self._register(ws)
        try:
            ws.start()
            try:
                function(ws)
            except ConnectionClosed:
                pass
            except Exception:
                logger.exception("connection handler failed")
                ws.close(1011, "internal error")
            ws.close()
        finally:
            self._unregister(ws)
        request = protocol.request
        if request is not None:
            log_connection(
                logger, address, request, 101, ws.subprotocol, ws.close_code, ws.close_reason or ""
            )

    def _register(self, ws: Connection) -> None:
        with self._lock:
            self._connections.add(ws)
            late = self._shutting_down
        if late:
            ws.close(1001, "server shutting down", wait=False)

    def _unregister(self, ws: Connection) -> None:
        with self._lock:
            self._connections.discard(ws)


class _Accepting:
    """The accept loop's state: the listener, paused after a failure, and the refused
    connections, drained after their 503 until EOF (for a while at most).

    One thread uses it: the one in :meth:`Server.serve_forever`.
    """

    __slots__ = (
        "_failures",
        "_listener",
        "_listening",
        "_paused_until",
        "_refused",
        "_selector",
        "_wake",
    )

    def __init__(self, listener: socket.socket, wake: socket.socket) -> None:
        listener.setblocking(False)
        self._listener = listener
        self._wake = wake
        self._selector = _Selector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(wake, selectors.EVENT_READ)
        self._listening = True
        self._paused_until = 0.0
        self._failures = AcceptFailures(logger)
        # Refused sockets by deadline: the first one ends first.
        self._refused: OrderedDict[socket.socket, float] = OrderedDict()

    def wait(self) -> bool:
        """Wait until a client may be accepted; ``False`` once the server is shutting down."""
        while True:
            ready = False
            for key, _ in self._selector.select(self._timeout()):
                if key.fileobj is self._wake:
                    return False
                if key.fileobj is self._listener:
                    ready = True
                else:
                    self._drain(key.fileobj)  # type: ignore[arg-type]
            self._expire()
            if ready:
                return True

    def accept(self) -> tuple[socket.socket, Any] | None:
        """Accept a client, or ``None``: nobody to accept, or accepting failed (then paused)."""
        try:
            sock, address = self._listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return None  # another process won the race, or the client left
        except OSError as exc:
            self.pause(exc)
            return None
        if self._failures.failing:
            self._failures.succeeded()
        return sock, address

    def pause(self, exc: Exception, what: str = "accept failed") -> None:
        """Stop accepting for a while after ``exc``, and log it (a line a second at most)."""
        self._paused_until = time.monotonic() + self._failures.failed(exc, what)
        if self._listening:
            self._selector.unregister(self._listener)
            self._listening = False

    def refuse(self, sock: socket.socket) -> None:
        """Answer 503, send EOF, and drain the socket from the loop until its EOF."""
        try:
            sock.setblocking(False)
            sock.send(UNAVAILABLE)  # a new socket's buffer takes it whole
            sock.shutdown(socket.SHUT_WR)
            self._selector.register(sock, selectors.EVENT_READ)
        except OSError:  # the client is gone
            sock.close()
            return
        self._refused[sock] = time.monotonic() + REFUSAL_LINGER

    def close(self) -> None:
        """Close the refused sockets, the selector and the listener."""
        for sock in list(self._refused):
            self._drop(sock)
        self._selector.close()
        self._listener.close()

    def _timeout(self) -> float | None:
        deadline = next(iter(self._refused.values()), None)
        if not self._listening and (deadline is None or self._paused_until < deadline):
            deadline = self._paused_until
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def _expire(self) -> None:
        now = time.monotonic()
        refused = self._refused
        while refused and next(iter(refused.values())) <= now:
            self._drop(next(iter(refused)))
        if not self._listening and now >= self._paused_until:
            self._selector.register(self._listener, selectors.EVENT_READ)
            self._listening = True

    def _drain(self, sock: socket.socket) -> None:
        try:
            if sock.recv(65536):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        del self._refused[sock]
        self._selector.unregister(sock)
        sock.close()


def _refuse(
    sock: socket.socket,
    protocol: ServerConnection,
    response: Response,
    timeout: float,
    traffic: Traffic,
) -> None:
    """Answer the handshake with an HTTP response and end the stream."""
    protocol.reject(response.status, response.headers, response.body)
    out = protocol.data_to_send()
    traffic.bytes_out += len(out)
    with contextlib.suppress(OSError):  # the client is gone, or reads nothing for the timeout
        sock.settimeout(timeout)
        sock.sendall(out)
    _end_stream(sock, protocol, timeout)


def _end_stream(sock: socket.socket, protocol: ServerConnection, timeout: float) -> None:
    """End the stream of a refused handshake as the connection's transport action says.

    ``HALF_CLOSE``: send EOF, then read and discard what the client still sends
    (a request body, frames pipelined behind the request) until its EOF, for at
    most ``timeout`` seconds. Closing with its bytes unread would reset the
    stream, and the reset can destroy the response before the client reads it.
    """
    if protocol.transport_action is TransportAction.HALF_CLOSE and not isinstance(
        sock,
        ssl_module.SSLSocket,  # TLS has no half-close: close_notify ends the stream
    ):
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            while (remaining := deadline - time.monotonic()) > 0:
                sock.settimeout(remaining)
                if not sock.recv(65536):
                    break
    sock.close()


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def serve(
    handler: Handler | Router | Callable[[Connection], object],
    host: str | None = "127.0.0.1",
    port: int = 8765,
    *,
    ssl: ssl_module.SSLContext | None = None,
    open_timeout: float = 10,
    close_timeout: float = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    max_queue: int | None = 16,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    subprotocols: Sequence[str] = (),
    allow_draft76: bool = True,
    allow_draft75: bool = False,
    reuse_port: bool = False,
    sock: socket.socket | None = None,
    backlog: int = 128,
    max_connections: int | None = None,
    process_request: Callable[[Request], Response | None] | None = None,
    compression: ServerCompression = "deflate",
) -> Server:
    """Listen on ``host``:``port`` and return the :class:`Server`; call ``serve_forever()`` next.

    Args:
        handler: A :class:`~wsproto_core.handlers.Handler` (served on every
            path), a :class:`~wsproto_core.handlers.Router`, or a function
            called with each :class:`~wsproto_core.sync.connection.Connection`
            in its own thread (the connection is closed when it returns).
        host: The address to bind (``None`` or ``""``: every interface).
        port: The port (0: any free port; read :attr:`Server.port`).
        ssl: A server-side TLS context, to serve ``wss://``.
        open_timeout: Seconds for the TLS and WebSocket handshakes.
        close_timeout: Seconds for the closing handshake (and for shutdown).
        ping_interval: Seconds between keepalive pings (``None``: none).
        ping_timeout: Seconds to wait for a keepalive pong before failing with 1011.
        max_queue: Received messages waiting for ``recv()`` (function API; ``None``: no limit).
        max_message_size: Largest message accepted (``None``: no limit); 1009 beyond.
            For a router, each route sets its own.
        subprotocols: Subprotocols spoken, in preference order (for a router, per route;
            for a handler, its own ``subprotocols`` when this is empty).
        allow_draft76: Serve draft-hixie-76 clients (for a router, per route).
        allow_draft75: Serve draft-hixie-75 clients (for a router, per route).
        reuse_port: Set ``SO_REUSEPORT`` so several processes share the port.
        sock: An already bound socket to serve on, instead of ``host``/``port``
            (one inherited from the process that forked this one, say).
        backlog: The listen backlog.
        process_request: Function mode: called with each handshake
            :class:`~wsproto_core.events.Request` before the function, to
            accept it (``None``) or answer it with a
            :class:`~wsproto_core.handlers.Response` (or by raising
            :class:`~wsproto_core.handlers.Refuse`), e.g. 401 with
            ``WWW-Authenticate``. (A ``Handler`` does this in ``on_connect``.)
        max_connections: The most connections open at once, from accept to close
            (handshaking ones included); a connection beyond is answered
            ``503 Service Unavailable`` with ``Retry-After`` and closed. ``None``
            (the default): no limit; running out of file descriptors or threads
            then pauses accepting until connections end.
        compression: ``"deflate"`` (the default): agree permessage-deflate
            (RFC 7692) with clients that offer it; ``None``: never compress; a
            :class:`~wsproto_core.extensions.ServerPerMessageDeflateFactory` to
            tune it (level, memory level, window bits, threshold). Version 13
            connections only.

    Raises:
        ValueError: ``max_connections`` is not positive, or ``compression`` is not
            one of its documented values.
    """
    if max_connections is not None and max_connections < 1:
        raise ValueError(f"max_connections must be positive or None, not {max_connections}")
    secure = ssl is not None
    extensions = server_extensions(compression)
    if not isinstance(handler, (Handler, Router)) and not callable(handler):
        raise TypeError(f"cannot serve {handler!r}: give a Handler, a Router or a function")
    if process_request is not None and isinstance(handler, (Handler, Router)):
        raise TypeError("process_request is for a function handler; a Handler uses on_connect")
    app: Router | Callable[[Connection], object]
    if isinstance(handler, Handler):
        app = Router.for_handler(
            handler,
            max_message_size=max_message_size,
            subprotocols=tuple(subprotocols) or None,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
        )
    else:
        app = handler
    if isinstance(app, Router):
        protocol_options: dict[str, Any] = {
            **app.connection_options(),
            "secure": secure,
            "extensions": extensions,
        }
    else:
        protocol_options = {
            "max_message_size": max_message_size,
            "subprotocols": tuple(subprotocols),
            "allow_draft76": allow_draft76,
            "allow_draft75": allow_draft75,
            "secure": secure,
            "extensions": extensions,
        }
    if sock is None:
        listener = socket.create_server((host or "", port), backlog=backlog, reuse_port=reuse_port)
    else:
        listener = sock
        listener.listen(backlog)
    return Server(
        listener,
        app,
        ssl=ssl,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        connection_options={
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "close_timeout": close_timeout,
            "max_queue": max_queue,
        },
        protocol_options=protocol_options,
        process_request=process_request,
        max_connections=max_connections,
    )
