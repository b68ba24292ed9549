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
from collections import deque
from typing import TYPE_CHECKING, Any

from ..connection import ServerConnection
from ..errors import ConnectionClosed
from ..events import HandshakeFailed, HTTPRequest, Request
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
from .connection import WebSocket, logger
from .handler_connection import HandlerConnection, Timer
from .options import Options

if TYPE_CHECKING:
    import socket
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
            if len(backlog) < self._max_queue // 2:
                self._release_reading(Hold.APP)
            result = self._invoke(callback, args)
        self._runner = None
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
        self._server._connections.discard(self)
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


class Server:
    """A listening WebSocket server; an async context manager.

    Get one from :func:`serve`: ``server = await serve(...)`` or
    ``async with serve(...) as server:``. Leaving the context manager shuts
    down gracefully, like :meth:`close` then :meth:`wait_closed`.
    """

    __slots__ = (
        "_connection_options",
        "_connections",
        "_create_server",
        "_handler_fn",
        "_options",
        "_process_request",
        "_router",
        "_server",
        "_subprotocols",
    )

    def __init__(
        self,
        router: Router | None,
        handler_fn: CoroutineHandler | None,
        subprotocols: Sequence[str],
        connection_options: dict[str, Any],
        options: Options,
        create_server: Callable[[Callable[[], ServerWebSocket]], Awaitable[asyncio.Server]],
        process_request: ProcessRequest | None = None,
    ) -> None:
        self._router = router
        self._handler_fn = handler_fn
        self._process_request = process_request
        self._subprotocols = tuple(subprotocols)
        self._connection_options = connection_options
        self._options = options
        self._create_server = create_server
        self._server: asyncio.Server | None = None
        self._connections: set[ServerWebSocket] = set()

    async def start(self) -> Server:
        """Start listening (done by ``await`` or ``async with``); return the server."""
        if self._server is None:
            self._server = await self._create_server(lambda: ServerWebSocket(self))
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
        """The listening sockets."""
        return () if self._server is None else tuple(self._server.sockets)

    @property
    def port(self) -> int:
        """The port of the first listening socket (the real one when started with port 0)."""
        return int(self.sockets[0].getsockname()[1])

    @property
    def connections(self) -> frozenset[ServerWebSocket]:
        """The open connections."""
        return frozenset(self._connections)

    async def serve_forever(self) -> None:
        """Serve until cancelled; then shut down gracefully."""
        await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            self.close()
            await self.wait_closed()
            raise

    def close(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop accepting and start the closing handshake of every connection (1001 by default).

        Connections still in their opening handshake are cut. :meth:`wait_closed`
        waits for them all, bounded by the close timeout.
        """
        if self._server is not None:
            self._server.close()
        for ws in list(self._connections):
            ws.start_close(code, reason)

    async def wait_closed(self) -> None:
        """Wait until every connection is closed and the listening sockets too."""
        waiters = [ws.wait_closed() for ws in self._connections]
        if waiters:
            await asyncio.gather(*waiters)
        if self._server is not None:
            await self._server.wait_closed()


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

    Returns:
        The :class:`Server`, not yet listening until awaited or entered.
    """
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
    conn_options: dict[str, Any] = {"secure": ssl is not None}
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

    async def create_server(factory: Callable[[], ServerWebSocket]) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        if sock is not None:
            return await loop.create_server(factory, sock=sock, ssl=ssl, backlog=backlog)
        return await loop.create_server(
            factory, host, port, ssl=ssl, reuse_port=reuse_port or None, backlog=backlog
        )

    if process_request is not None and handler_fn is None:
        raise TypeError("process_request is for a coroutine handler; a Handler uses on_connect")
    return Server(
        router, handler_fn, subprotocols, conn_options, options, create_server, process_request
    )
