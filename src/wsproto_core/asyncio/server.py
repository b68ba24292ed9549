"""The asyncio server: :func:`serve` a :class:`~wsproto_core.handlers.Handler`, a
:class:`~wsproto_core.handlers.Router`, or a websockets-style ``async def handler(ws)``.

Handler and Router connections follow :mod:`wsproto_core.handlers`: the router
decides, ``on_connect`` accepts or refuses, ``on_message`` calls are serialized
per connection (an ``async def`` callback is awaited before the next message is
handed over), ``on_disconnect`` comes once. A coroutine handler gets the
:class:`~wsproto_core.asyncio.connection.WebSocket` itself and reads it with
``recv()`` or ``async for``; when it returns the connection is closed with 1000.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .._accept import REFUSAL_LINGER, UNAVAILABLE, AcceptFailures, Refusals
from ..connection import ServerConnection
from ..errors import ConnectionClosed
from ..events import HandshakeFailed, HTTPRequest, Request
from ..extensions.compression import ServerCompression, server_extensions
from ..handlers import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Handler,
    Refuse,
    Response,
    Router,
    error_response,
    log_connection,
    request_answer,
)
from ..session import Hold
from ..state import ConnectionState
from ..stats import ServerStats, Traffic
from .connection import WebSocket, logger
from .handler_connection import HandlerConnection, Timer
from .options import Options

if TYPE_CHECKING:
    import ssl as ssl_module
    from collections.abc import Awaitable, Callable, Generator, Sequence
    from types import TracebackType

    from ..events import Event
    from ..handlers import ProcessRequest

    CoroutineHandler = Callable[[WebSocket], Awaitable[None]]

__all__ = ["HandlerConnection", "Server", "ServerWebSocket", "serve"]


class ServerWebSocket(WebSocket):
    """The server side of one connection.

    Attributes:
        request: The handshake :class:`~wsproto_core.events.Request`, once it arrived.
    """

    __slots__ = (
        "_accepted",
        "_backlog",
        "_close_after_accept",
        "_close_when_idle",
        "_hc",
        "_open_handle",
        "_runner",
        "_server",
        "_status",
        "_timers",
        "request",
    )

    _conn: ServerConnection

    def __init__(self, server: Server) -> None:
        super().__init__(ServerConnection(**server._connection_options), server._options)
        self._server = server
        self.request: Request | None = None
        self._hc: HandlerConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._backlog: deque[tuple[Any, tuple[Any, ...]]] | None = None
        self._timers: list[Timer] | None = None
        self._open_handle: asyncio.TimerHandle | None = None
        self._accepted = False
        self._status: int | None = None
        self._close_after_accept: tuple[int, str] | None = None
        self._close_when_idle: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register with the server; the opening handshake must end within the open timeout."""
        super().connection_made(transport)
        self._server._connections.add(self)
        timeout = self._options.open_timeout
        if timeout is not None:
            self._open_handle = self._loop.call_later(timeout, self._open_expired)

    def _open_expired(self) -> None:
        self._open_handle = None
        if self._transport is not None:
            logger.info("%s: opening handshake timed out", self.remote_address)
            self._transport.abort()

    def _handshake_done(self, status: int | None = None) -> None:
        if status is not None:
            self._status = status
            self._accepted = status == 101
        if self._open_handle is not None:
            self._open_handle.cancel()
            self._open_handle = None

    def _on_handshake_event(self, event: Event) -> None:
        server = self._server
        if isinstance(event, Request):
            self.request = event
            if server._router is None:
                self._accept_coroutine(event)
            else:
                self._route(server._router, event)
        elif isinstance(event, HTTPRequest):
            assert server._router is not None
            response = server._router.resolve(event)
            self._respond(response)
            log_connection(logger, self.remote_address, event, response.status, None, None, "")
        elif isinstance(event, HandshakeFailed):
            self._handshake_done(event.status)
            logger.info("%s: handshake failed: %s", self.remote_address, event.reason)

    def _respond(self, response: Response) -> None:
        self._handshake_done(response.status)
        self._conn.reject(response.status, response.headers, response.body)

    # -- coroutine handlers ------------------------------------------------------------

    def _accept_coroutine(self, request: Request) -> None:
        check = self._server._process_request
        if check is None:
            self._open_coroutine()
            return
        try:
            outcome = check(request)
        except Exception as exc:
            self._answer_request(None, exc)
            return
        if inspect.isawaitable(outcome):
            self._hold_reading(Hold.APP)
            self._runner = self._loop.create_task(self._await_request_check(outcome))
        else:
            self._answer_request(outcome, None)

    async def _await_request_check(self, outcome: Awaitable[Response | None]) -> None:
        try:
            result, error = await outcome, None
        except Exception as exc:
            result, error = None, exc
        self._runner = None
        self._release_reading(Hold.APP)
        if self._transport is not None:
            self._answer_request(result, error)
            self._process()

    def _answer_request(self, outcome: object, error: Exception | None) -> None:
        """Accept, or answer with the response ``process_request`` gave."""
        if error is not None and not isinstance(error, Refuse):
            logger.error("%s: process_request failed", self.remote_address, exc_info=error)
        response = request_answer(outcome, error)
        if response is None:
            self._open_coroutine()
            return
        self._respond(response)
        self._flush()
        assert self.request is not None
        log_connection(logger, self.remote_address, self.request, response.status, None, None, "")

    def _open_coroutine(self) -> None:
        self._conn.accept()  # the first of the server's subprotocols the client offered
        self._handshake_done(101)
        self._opened()
        self._runner = self._loop.create_task(self._run_coroutine())

    async def _run_coroutine(self) -> None:
        assert self._server._handler_fn is not None
        try:
            await self._server._handler_fn(self)
        except ConnectionClosed:
            pass  # the connection ended under the handler: nothing went wrong here
        except Exception:
            logger.exception("%s: connection handler failed", self.remote_address)
            self.start_close(1011, "internal error")
        else:
            self.start_close(1000, "")
        finally:
            self._runner = None

    # -- Handler callbacks ------------------------------------------------------------

    def _route(self, router: Router, request: Request) -> None:
        decision = router.resolve(request)
        if isinstance(decision, Response):
            self._respond(decision)
            return
        self._hc = hc = HandlerConnection(request, decision, self)
        try:
            result = decision.handler.on_connect(hc)
        except Exception as exc:
            self._refused(exc)
            return
        if result is None:
            self._accept_handler()
        else:
            self._hold_reading(Hold.APP)
            self._runner = self._loop.create_task(self._finish_connect(result))

    async def _finish_connect(self, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception as exc:
            self._runner = None
            self._refused(exc)
            return
        self._runner = None
        self._release_reading(Hold.APP)
        if self._transport is not None:
            self._accept_handler()
            self._process()

    def _refused(self, exc: Exception) -> None:
        if not isinstance(exc, Refuse):
            logger.error("%s: on_connect failed", self.remote_address, exc_info=exc)
        self._respond(error_response(exc))
        self._hc = None
        self._flush()

    def _accept_handler(self) -> None:
        hc = self._hc
        assert hc is not None
        hc.accept_on(self._conn)
        self._handshake_done(101)
        self._opened()
        for timer in self._timers or ():
            timer.start()
        if self._close_after_accept is not None:
            self.start_close(*self._close_after_accept)  # close() called in on_connect

    def start_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; during ``on_connect``, right after accepting."""
        if self._hc is not None and self._conn.state is ConnectionState.CONNECTING:
            if self._close_after_accept is None:
                self._close_after_accept = (code, reason)
            return
        super().start_close(code, reason)

    def shutdown_close(self, code: int, reason: str) -> None:
        """The server shuts down: close once the handler has handled what it was handed.

        Messages read already and waiting behind a running ``async`` callback are
        still handled, and their replies go out before the close frame.
        """
        if self._runner is not None and self._hc is not None and self._accepted:
            self._close_when_idle = (code, reason)
        else:
            self.start_close(code, reason)

    def _add_timer(self, timer: Timer) -> None:
        if self._transport is None:
            return
        if self._timers is None:
            self._timers = []
        self._timers.append(timer)
        if self._conn.state is not self._conn.state.CONNECTING:
            timer.start()

    def _on_message(self, message: str | bytes) -> None:
        hc = self._hc
        if hc is None:
            super()._on_message(message)
        else:
            self._call(hc.route.handler.on_message, (message,))

    def _call(self, callback: Any, args: tuple[Any, ...]) -> None:
        """Call a handler callback now, or after the running one, keeping the order."""
        if self._runner is not None:
            backlog = self._backlog
            if backlog is None:
                backlog = self._backlog = deque()
            backlog.append((callback, args))
            if len(backlog) >= self._max_queue:
                self._hold_reading(Hold.APP)
            return
        result = self._invoke(callback, args)
        if result is not None:
            self._runner = self._loop.create_task(self._drain_backlog(result))

    def _unanswered(self) -> bool:
        if self._hc is None:
            return super()._unanswered()
        return self._runner is not None  # an async callback is running; more may wait

    def _invoke(self, callback: Any, args: tuple[Any, ...]) -> Awaitable[None] | None:
        try:
            result = callback(self._hc, *args)
            return result if inspect.isawaitable(result) else None
        except Exception:
            self._callback_failed()
            return None

    async def _drain_backlog(self, result: Awaitable[None] | None) -> None:
        while True:
            if result is not None:
                try:
                    await result
                except Exception:
                    self._callback_failed()
            backlog = self._backlog
            if not backlog:
                break
            callback, args = backlog.popleft()
            if len(backlog) < self._max_queue // 2 and Hold.APP in self._session.holds:
                self._release_reading(Hold.APP)
                if not self._session.holds and self._transport is not None:
                    self._process()  # the events left when the backlog filled
            result = self._invoke(callback, args)
        self._runner = None
        if self._close_when_idle is not None:
            self.start_close(*self._close_when_idle)
        if self._conn.pending_close is not None:
            self._process()  # every callback done: on to what was held behind them

    def _callback_failed(self) -> None:
        logger.exception("%s: handler callback failed", self.remote_address)
        if self._conn.state is self._conn.state.OPEN:
            self.start_close(1011, "internal error")

    # -- the end -----------------------------------------------------------------------

    def _on_connection_lost(self) -> None:
        self._handshake_done()
        for timer in list(self._timers or ()):
            timer.cancel()
        server = self._server
        server._connections.discard(self)
        server._gone.add(self._received, self._sent, self._read, self._written)
        request = self.request
        if request is not None:
            log_connection(
                logger,
                self.remote_address,
                request,
                self._status,
                self.subprotocol,
                self.close_code if self._accepted else None,
                self.close_reason if self._accepted else "",
            )
        if self._accepted and self._hc is not None:
            self._call(self._hc.route.handler.on_disconnect, (self.close_code, self.close_reason))


class _Unavailable(asyncio.Protocol):
    """A connection over ``max_connections``: a 503, then the stream ends.

    EOF follows the response at once (over TLS, close_notify); what the client
    sends is dropped until its EOF, for ``REFUSAL_LINGER`` seconds at most.
    """

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Write the 503 and end the stream."""
        assert isinstance(transport, asyncio.Transport)
        transport.write(UNAVAILABLE)
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()  # TLS: close_notify; the client's bytes are dropped meanwhile
        self._timer = self.done.get_loop().call_later(REFUSAL_LINGER, transport.abort)

    def data_received(self, data: bytes) -> None:
        """Drop what the client sends: its request, nobody answers it."""

    def eof_received(self) -> bool:
        """The client is done too: close."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is over."""
        if self._timer is not None:
            self._timer.cancel()
        if not self.done.done():
            self.done.set_result(None)


class Server:
    """A listening WebSocket server; an async context manager.

    Get one from :func:`serve`: ``server = await serve(...)`` or
    ``async with serve(...) as server:``. Leaving the context manager shuts
    down gracefully, like :meth:`close` then :meth:`wait_closed`.

    Past ``max_connections`` open connections (handshaking ones included), a
    new connection is answered ``503 Service Unavailable`` with ``Retry-After``
    (and counted in a log line, one a second at most). When ``accept()`` fails
    (out of file descriptors, mostly), the server stops accepting for a moment,
    50 ms at first and up to a second while it keeps failing, and logs one line
    a second at most.
    """

    __slots__ = (
        "_accepted",
        "_acceptors",
        "_closing",
        "_connection_options",
        "_connections",
        "_failures",
        "_gone",
        "_handler_fn",
        "_listen",
        "_listeners",
        "_max_connections",
        "_opening",
        "_options",
        "_process_request",
        "_refusals",
        "_refused",
        "_router",
        "_ssl",
        "_started",
        "_subprotocols",
    )

    def __init__(
        self,
        router: Router | None,
        handler_fn: CoroutineHandler | None,
        subprotocols: Sequence[str],
        connection_options: dict[str, Any],
        options: Options,
        listen: Callable[[], Awaitable[list[socket.socket]]],
        *,
        ssl: ssl_module.SSLContext | None = None,
        max_connections: int | None = None,
        process_request: ProcessRequest | None = None,
    ) -> None:
        self._router = router
        self._handler_fn = handler_fn
        self._process_request = process_request
        self._subprotocols = tuple(subprotocols)
        self._connection_options = connection_options
        self._options = options
        self._listen = listen
        self._ssl = ssl
        self._max_connections = max_connections
        self._listeners: list[socket.socket] | None = None
        self._acceptors: list[asyncio.Task[None]] = []
        self._closing: tuple[int, str] | None = None
        self._failures = AcceptFailures(logger)
        self._connections: set[ServerWebSocket] = set()
        # Accepted, their transport (and TLS handshake) in the making: they count too.
        self._opening: dict[ServerWebSocket, asyncio.Task[None]] = {}
        self._refusals: set[asyncio.Task[None]] = set()
        self._refused = Refusals(logger, max_connections)
        self._started = time.monotonic()
        self._accepted = 0
        self._gone = Traffic()  # what the connections already closed exchanged

    async def start(self) -> Server:
        """Start listening (done by ``await`` or ``async with``); return the server."""
        if self._listeners is None:
            listeners = await self._listen()
            loop = asyncio.get_running_loop()
            self._listeners = listeners
            self._acceptors = [loop.create_task(self._accept(sock)) for sock in listeners]
        return self

    def __await__(self) -> Generator[Any, None, Server]:
        return self.start().__await__()

    async def __aenter__(self) -> Server:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (none once closed)."""
        if self._listeners is None or self._closing is not None:
            return ()
        return tuple(self._listeners)

    @property
    def port(self) -> int:
        """The port of the first listening socket (the real one when started with port 0)."""
        return int(self.sockets[0].getsockname()[1])

    @property
    def connections(self) -> frozenset[ServerWebSocket]:
        """The open connections."""
        return frozenset(self._connections)

    def stats(self) -> ServerStats:
        """What the server holds now: connections, traffic, memory (call it on the loop).

        Connections are counted from accept to close; see
        :class:`~wsproto_core.stats.ServerStats` for each field.
        """
        traffic = self._gone.copy()
        handshaking = sum(ws not in self._connections for ws in self._opening)
        connections = 0
        for ws in self._connections:
            traffic.add(ws._received, ws._sent, ws._read, ws._written)
            if ws._accepted:
                connections += 1
            elif ws._transport is not None:
                handshaking += 1
        return ServerStats.now(
            started=self._started,
            connections=connections,
            handshaking=handshaking,
            accepted=self._accepted,
            refused=self._refused.total,
            traffic=traffic,
        )

    async def serve_forever(self) -> None:
        """Serve until cancelled; then shut down gracefully."""
        await self.start()
        try:
            await asyncio.gather(*self._acceptors)
        except asyncio.CancelledError:
            self.close()
            await self.wait_closed()
            raise

    def close(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop accepting and start the closing handshake of every connection (1001 by default).

        Connections still in their opening handshake are cut. :meth:`wait_closed`
        waits for them all, bounded by the close timeout.
        """
        if self._listeners is not None and self._closing is None:
            self._closing = (code, reason)
            for acceptor in self._acceptors:
                acceptor.cancel()  # it closes its listening socket
        for ws in list(self._connections):
            ws.shutdown_close(code, reason)

    async def wait_closed(self) -> None:
        """Wait until every connection is closed and the listening sockets too."""
        tasks = [*self._acceptors, *self._opening.values()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        waiters: list[Awaitable[None]] = [ws.wait_closed() for ws in self._connections]
        waiters += self._refusals
        if waiters:
            await asyncio.gather(*waiters)

    # -- accepting ---------------------------------------------------------------------

    async def _accept(self, listener: socket.socket) -> None:
        """Accept on ``listener`` until cancelled; pause after a failure."""
        loop = asyncio.get_running_loop()
        failures = self._failures
        accepted = 0
        try:
            while True:
                try:
                    sock, address = await loop.sock_accept(listener)
                except ConnectionAbortedError:
                    continue  # the client left before it was accepted
                except OSError as exc:
                    await asyncio.sleep(failures.failed(exc))
                    continue
                if failures.failing:
                    failures.succeeded()
                self._admit(sock, address)
                accepted += 1
                if accepted % 64 == 0:
                    await asyncio.sleep(0)  # a long queue of clients: let the others run
        finally:
            listener.close()

    def _admit(self, sock: socket.socket, address: Any) -> None:
        """Serve an accepted socket, or answer it 503 when the server is full."""
        loop = asyncio.get_running_loop()
        if self._full():
            self._refused.refused()
            refusal = loop.create_task(self._refuse(sock, address))
            self._refusals.add(refusal)
            refusal.add_done_callback(self._refusals.discard)
        else:
            self._accepted += 1
            ws = ServerWebSocket(self)
            self._opening[ws] = loop.create_task(self._open(ws, sock, address))

    def _full(self) -> bool:
        cap = self._max_connections
        if cap is None:
            return False
        connections, opening = self._connections, self._opening
        if len(connections) + len(opening) < cap:
            return False
        # For a moment as it opens, a connection is in both: count it once.
        return len(connections) + sum(ws not in connections for ws in opening) >= cap

    async def _open(self, ws: ServerWebSocket, sock: socket.socket, address: Any) -> None:
        """Make the connection's transport: the TLS handshake, then ``connection_made``."""
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(lambda: ws, sock, ssl=self._ssl)
        except OSError as exc:  # a reset, a failed TLS handshake: nobody to answer
            logger.debug("%s: connection failed: %s", address, exc)
        except Exception:
            logger.exception("%s: connection failed", address)
        else:
            if self._closing is not None:
                ws.start_close(*self._closing)  # opened after close(): cut
        finally:
            del self._opening[ws]

    async def _refuse(self, sock: socket.socket, address: Any) -> None:
        """Answer 503 without a WebSocket connection and end the stream."""
        loop = asyncio.get_running_loop()
        timeout = None if self._ssl is None else REFUSAL_LINGER
        try:
            _, refusal = await loop.connect_accepted_socket(
                _Unavailable, sock, ssl=self._ssl, ssl_handshake_timeout=timeout
            )
            await refusal.done
        except OSError as exc:
            logger.debug("%s: refusal failed: %s", address, exc)


def serve(
    handler: Handler | Router | CoroutineHandler,
    host: str | None = "127.0.0.1",
    port: int = 8765,
    *,
    ssl: ssl_module.SSLContext | None = None,
    open_timeout: float | None = 10,
    close_timeout: float = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    max_queue: int = 16,
    write_limit: int = 64 * 1024,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    subprotocols: Sequence[str] = (),
    allow_draft76: bool = True,
    allow_draft75: bool = False,
    reuse_port: bool = False,
    sock: socket.socket | None = None,
    backlog: int = 1024,
    process_request: ProcessRequest | None = None,
    max_connections: int | None = None,
    compression: ServerCompression = "deflate",
) -> Server:
    """Serve WebSocket connections on ``host:port``.

    ``await serve(...)`` starts the server and returns it; ``async with
    serve(...) as server:`` also shuts it down gracefully at the end.

    Args:
        handler: A :class:`~wsproto_core.handlers.Handler` (served on every path),
            a :class:`~wsproto_core.handlers.Router`, or ``async def handler(ws)``.
        host: The address to listen on.
        port: The port (0 picks a free one; see :attr:`Server.port`).
        ssl: A server TLS context, for ``wss://``.
        open_timeout: Seconds a client has to complete the opening handshake.
        close_timeout: Seconds the closing handshake may take before the
            transport is cut.
        ping_interval: Seconds between keepalive pings (``None`` to disable).
        ping_timeout: Seconds to wait for their pong before closing with 1011.
        max_queue: Received messages waiting for ``recv`` (or handler
            callbacks waiting to run) before reading pauses.
        write_limit: The transport buffer's high-water mark, in bytes: above it
            ``await ws.send()`` waits.
        max_message_size: Largest message accepted (``Handler`` and coroutine
            modes; a ``Router`` sets it per route).
        subprotocols: Subprotocols spoken, in preference order (for a ``Handler``,
            its own ``subprotocols`` when this is empty; a ``Router`` sets them per route).
        allow_draft76: Handler and coroutine modes: serve draft-hixie-76 clients.
        allow_draft75: Handler and coroutine modes: serve draft-hixie-75 clients.
        reuse_port: Set ``SO_REUSEPORT`` so several processes share the port.
        sock: An already bound socket to serve on, instead of ``host``/``port``.
        backlog: The listen backlog.
        process_request: Coroutine mode: called with each handshake
            :class:`~wsproto_core.events.Request` before the handler, to
            accept it (``None``) or answer it with a
            :class:`~wsproto_core.handlers.Response` (or by raising
            :class:`~wsproto_core.handlers.Refuse`), e.g. 401 with
            ``WWW-Authenticate``; it may be a coroutine function. (A
            ``Handler`` does this in ``on_connect``.)
        max_connections: The most connections open at once, from accept to close
            (handshaking ones included); a connection beyond is answered
            ``503 Service Unavailable`` with ``Retry-After`` and closed. ``None``
            (the default): no limit, as in ``websockets``; running out of file
            descriptors then pauses accepting until connections end.
        compression: ``"deflate"`` (the default): agree permessage-deflate
            (RFC 7692) with clients that offer it; ``None``: never compress; a
            :class:`~wsproto_core.extensions.ServerPerMessageDeflateFactory` to
            tune it (level, memory level, window bits, threshold). Version 13
            connections only.

    Returns:
        The :class:`Server`, not yet listening until awaited or entered.

    Raises:
        ValueError: ``max_connections`` is not positive, or ``compression`` is not
            one of its documented values.
    """
    if max_connections is not None and max_connections < 1:
        raise ValueError(f"max_connections must be positive or None, not {max_connections}")
    options = Options(
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_queue=max_queue,
        write_limit=write_limit,
    )
    router: Router | None = None
    handler_fn: CoroutineHandler | None = None
    conn_options: dict[str, Any] = {
        "secure": ssl is not None,
        "extensions": server_extensions(compression),
    }
    if isinstance(handler, Router):
        router = handler
    elif isinstance(handler, Handler):
        router = Router.for_handler(
            handler,
            max_message_size=max_message_size,
            subprotocols=tuple(subprotocols) or None,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
        )
    elif callable(handler):
        handler_fn = handler
        conn_options.update(
            subprotocols=tuple(subprotocols),
            max_message_size=max_message_size,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
        )
    else:
        raise TypeError(
            f"cannot serve {handler!r}: give a Handler, a Router or a coroutine function"
        )
    if router is not None:
        conn_options.update(router.connection_options())

    async def listen() -> list[socket.socket]:
        if sock is None:
            return await _bind(host, port, backlog=backlog, reuse_port=reuse_port)
        sock.listen(backlog)
        sock.setblocking(False)
        return [sock]

    if process_request is not None and handler_fn is None:
        raise TypeError("process_request is for a coroutine handler; a Handler uses on_connect")
    return Server(
        router,
        handler_fn,
        subprotocols,
        conn_options,
        options,
        listen,
        ssl=ssl,
        max_connections=max_connections,
        process_request=process_request,
    )


async def _bind(
    host: str | None, port: int, *, backlog: int, reuse_port: bool
) -> list[socket.socket]:
    """Listening sockets for ``host:port``, one per address, as ``loop.create_server`` makes."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family this system lacks, such as IPv6 turned off
            listeners.append(sock)
            if os.name == "posix" and sys.platform != "cygwin":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:  # worded as loop.create_server words it
                reason = (exc.strerror or str(exc)).lower()
                raise OSError(
                    exc.errno, f"error while attempting to bind on address {address!r}: {reason}"
                ) from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners
