"""The asyncio protocol uvicorn runs a WebSocket connection with: ``Config(app, ws=...)``.

uvicorn's HTTP protocol reads the upgrade request, creates this protocol with
``(config, server_state, app_state)``, calls :meth:`~WsprotoCoreProtocol.connection_made`
with its transport and :meth:`~WsprotoCoreProtocol.data_received` with the request
head, then hands the transport over. From there this is glue between three
parties: the transport (bytes, flow control), the sans-IO
:class:`~wsproto_core.connection.ServerConnection` (every protocol rule) and its
:class:`~wsproto_core.session.Session` (keepalive and the closing handshake's
deadlines), and the ASGI application (``receive`` and ``send``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

from ..connection import ServerConnection
from ..errors import InvalidState
from ..events import BytesMessage, Close, HandshakeFailed, Pong, Request, TextMessage
from ..extensions import ServerPerMessageDeflateFactory
from ..session import Due, Session
from ..state import ConnectionState, TransportAction
from .denial import DenialResponse, decode_headers
from .scope import websocket_scope

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

__all__ = ["WsprotoCoreProtocol"]

Message = dict[str, Any]
"""An ASGI message."""

_OPEN = ConnectionState.OPEN
_CONNECTING = ConnectionState.CONNECTING
_INTERNAL_ERROR = b"Internal Server Error"


def _positive(value: float | None) -> float | None:
    """uvicorn's keepalive options: 0 or ``None`` turns the feature off."""
    return value if value is not None and value > 0 else None


class WsprotoCoreProtocol(asyncio.Protocol):
    """A WebSocket connection in uvicorn, run by wsproto_core: pass the class as ``ws=``.

    Implements the ASGI WebSocket spec 2.4 (``websocket.connect``, ``accept``
    with a subprotocol and headers, ``send``, ``receive``, ``close`` with a
    code and reason, ``disconnect`` with the close code) and its
    ``websocket.http.response`` extension (a denial response, streamed), with
    uvicorn's options: ``ws_max_size`` (a larger message closes with 1009),
    ``ws_max_queue``, ``ws_ping_interval``, ``ws_ping_timeout`` (no pong in
    time closes with 1011) and ``ws_per_message_deflate`` (permessage-deflate,
    on by default).

    Flow control both ways: reading pauses while a received message waits for
    the application (at most ``ws_max_queue`` are parsed ahead; the rest of a
    read waits in the connection), and ``send`` waits while the transport's
    write buffer is above its high-water mark. On server shutdown an open
    connection is closed with 1012 (service restart), as uvicorn's own
    implementations do; a handshake still undecided is answered with 500.

    Args:
        config: uvicorn's configuration.
        server_state: uvicorn's shared state (connections, tasks, default headers).
        app_state: The lifespan state, copied into each scope.
        _loop: The event loop (the running one by default).

    Attributes:
        conn: The sans-IO connection.
        session: Its keepalive and closing-handshake deadlines.
        transport: The transport, once :meth:`connection_made` was called.
        scope: The ASGI scope, once the request arrived.
        ping_sent_at: When the last keepalive ping was sent (``loop.time()``; 0.0 before).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_running_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers
        extensions = [ServerPerMessageDeflateFactory()] if config.ws_per_message_deflate else []
        self.conn = ServerConnection(
            max_message_size=config.ws_max_size, extensions=extensions, allow_draft76=False
        )
        self.session: Session[None] = Session(
            self.conn,
            ping_interval=_positive(config.ws_ping_interval),
            ping_timeout=_positive(config.ws_ping_timeout),
        )
        self.max_queue = max(1, config.ws_max_queue)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.scope: dict[str, Any] = {}
        self.ping_sent_at = 0.0
        self._client: tuple[str, int] | None = None
        # Messages for the application, and its receive() waiting for one.
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[Message] | None = None
        self._disconnect: Message | None = None  # the one disconnect message, once made
        self._read_paused = False
        self._events_held = False  # events left in the connection: the queue is full
        self._writable = asyncio.Event()
        self._writable.set()
        self._lost = False
        self._close_sent = False  # the application sent websocket.close
        self._denial: DenialResponse | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    # -- what uvicorn's tests and tools look at ----------------------------------------

    @property
    def close_timeout(self) -> float:
        """Seconds the closing handshake may take before the stream is cut (10)."""
        return self.session.close_timeout

    @close_timeout.setter
    def close_timeout(self, value: float) -> None:
        self.session.close_timeout = value

    @property
    def close_timer(self) -> asyncio.TimerHandle | None:
        """The timer of the closing handshake, while we wait for the peer's close."""
        waiting = self.conn.transport_action is not TransportAction.NONE
        return self._timer if waiting else None

    @property
    def ping_timer(self) -> asyncio.TimerHandle | None:
        """The timer of the next keepalive ping or pong deadline, if keepalive is on."""
        keepalive = self.session.ping_interval is not None and self.conn.state is _OPEN
        return self._timer if keepalive else None

    # -- the transport --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the transport uvicorn's HTTP protocol hands over."""
        self.connections.add(self)  # type: ignore[arg-type]  # uvicorn lists its own classes
        self.transport = transport = cast("asyncio.Transport", transport)
        self._client = get_remote_addr(transport)
        self._trace("WebSocket connection made")

    def connection_lost(self, exc: Exception | None) -> None:
        """The stream is gone: the application gets its disconnect (1006 if none came before)."""
        self._lost = True
        self.connections.discard(self)
        self._cancel_timer()
        self._writable.set()  # a send waiting on back pressure fails now
        self._trace("WebSocket connection lost")
        self._deliver_disconnect(1006)
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        """The client ended its side: asyncio closes the transport; see :meth:`connection_lost`."""

    def data_received(self, data: bytes) -> None:
        """Feed the connection and act on what it reports."""
        self.conn.receive_data(data)
        self._handle_events()
        self._flush()

    def pause_writing(self) -> None:
        """The transport's write buffer is above its high-water mark: ``send`` waits."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """The write buffer drained: ``send`` goes on."""
        self._writable.set()

    def shutdown(self) -> None:
        """The server stops: close with 1012, or answer an undecided handshake with 500."""
        conn = self.conn
        if conn.state is _OPEN and not self._close_sent:
            self._deliver_disconnect(1012)
            conn.close(1012)
        elif conn.state is _CONNECTING:
            self._send_500()
        self._flush()
        self._close_transport()

    # -- events from the connection ---------------------------------------------------------

    def _handle_events(self) -> None:
        queue = self._queue
        for event in self.conn.events():
            kind = type(event)
            if kind is TextMessage:
                if not self._close_sent:  # once the application closed, it reads no more
                    self._deliver({"type": "websocket.receive", "text": event.data})  # type: ignore[attr-defined]
            elif kind is BytesMessage:
                if not self._close_sent:
                    self._deliver({"type": "websocket.receive", "bytes": event.data})  # type: ignore[attr-defined]
            elif kind is Close:
                self._on_close(event)  # type: ignore[arg-type]
            elif kind is Pong:
                self.session.pong(event.payload, self.loop.time())  # type: ignore[attr-defined]
            elif kind is Request:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is HandshakeFailed:
                self._trace(f"WebSocket handshake failed: {event.reason}")  # type: ignore[attr-defined]
            if len(queue) >= self.max_queue:
                self._events_held = True  # the rest waits in the connection until receive()
                return
        self._events_held = False

    def _on_request(self, request: Request) -> None:
        transport = self.transport
        self.scope = websocket_scope(
            request,
            scheme="wss" if is_ssl(transport) else "ws",
            server=get_local_addr(transport),
            client=self._client,
            root_path=self.config.root_path,
            asgi_version=self.config.asgi_version,
            state=self.app_state.copy(),
        )
        self._deliver({"type": "websocket.connect"})
        task = self.loop.create_task(self._run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _on_close(self, event: Close) -> None:
        # 1006 (the stream ended without a close frame) comes with no reason, as from uvicorn.
        self._deliver_disconnect(event.code, None if event.code == 1006 else event.reason)

    # -- to the application -------------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(message)
            return
        self._queue.append(message)
        if not self._read_paused and not self._lost:
            # Flow control: the peer's bytes wait in the socket while a message waits here.
            self._read_paused = True
            self.transport.pause_reading()

    def _deliver_disconnect(self, code: int, reason: str | None = None) -> None:
        if self._disconnect is not None:
            return
        message: Message = {"type": "websocket.disconnect", "code": code}
        if reason is not None:
            message["reason"] = reason
        self._disconnect = message
        self._deliver(message)

    async def receive(self) -> Message:
        """The ASGI ``receive`` callable."""
        queue = self._queue
        if queue:
            message = queue.popleft()
            if not queue:
                self._resume_reading()
            return message
        if self._disconnect is not None:
            return self._disconnect  # asked again after the end: the same answer
        waiter: asyncio.Future[Message] = self.loop.create_future()
        self._waiter = waiter
        return await waiter

    def _resume_reading(self) -> None:
        if self._events_held:
            self._handle_events()
            self._flush()
            if self._queue:
                return
        if self._read_paused:
            self._read_paused = False
            if not self._lost:
                self.transport.resume_reading()

    # -- from the application -------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """The ASGI ``send`` callable."""
        if not self._writable.is_set():
            await self._writable.wait()
        if self._lost:
            raise ClientDisconnected()
        kind = message["type"]
        conn = self.conn
        if self._denial is not None:
            self._send_denial(kind, message)
        elif conn.state is _CONNECTING:
            self._send_decision(kind, message)
        elif self._close_sent:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            )
        elif kind == "websocket.send":
            self._send_message(message)
        elif kind == "websocket.close":
            self._send_close(message)
        else:
            raise RuntimeError(
                f"Expected ASGI message 'websocket.send' or 'websocket.close', but got '{kind}'."
            )
        self._flush()

    def _send_decision(self, kind: str, message: Message) -> None:
        if kind == "websocket.accept":
            self._log_request("[accepted]")
            headers = decode_headers([*self.default_headers, *message.get("headers", ())])
            self.conn.accept(message.get("subprotocol"), headers)
            self.session.start(self.loop.time())
            self._arm()
            self._handle_events()  # frames that came with the request, parsed on accept
        elif kind == "websocket.close":
            self._log_request("403")
            self._deliver_disconnect(1006)
            self.conn.reject(403)
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not 100 <= status < 600:
                raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
            self._log_request(str(status))
            headers = decode_headers([*self.default_headers, *message.get("headers", ())])
            self._denial = DenialResponse(self.conn, status, headers)
        else:
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' "
                f"or 'websocket.http.response.start' but got '{kind}'."
            )

    def _send_denial(self, kind: str, message: Message) -> None:
        denial = self._denial
        assert denial is not None
        if denial.ended:
            raise RuntimeError(f"Unexpected ASGI message '{kind}', after the denial response.")
        if kind != "websocket.http.response.body":
            raise RuntimeError(
                f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
            )
        if denial.body(message.get("body", b""), message.get("more_body", False)):
            self._deliver_disconnect(1006)

    def _send_message(self, message: Message) -> None:
        data = message.get("bytes")
        try:
            if data is not None:
                self.conn.send_binary(data)
            else:
                self.conn.send_text(message.get("text") or "")
        except InvalidState as error:
            raise ClientDisconnected() from error  # the peer closed meanwhile

    def _send_close(self, message: Message) -> None:
        code = message.get("code") or 1000
        reason = message.get("reason") or ""
        if self.conn.state is not _OPEN:
            raise ClientDisconnected()
        self.conn.close(code, reason)
        self._close_sent = True
        self._deliver_disconnect(code, reason)
        # The peer's close must be read, whatever waits unread: what comes before it is dropped.
        if self._events_held:
            self._handle_events()
        if self._read_paused:
            self._read_paused = False
            self.transport.resume_reading()

    def _send_500(self) -> None:
        conn = self.conn
        if conn.state is _CONNECTING and conn.request is not None and self._denial is None:
            headers = [("Content-Type", "text/plain; charset=utf-8")]
            conn.reject(500, headers, _INTERNAL_ERROR)

    async def _run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
        else:
            if self._denial is None and self.conn.state is _CONNECTING:
                self.logger.error("ASGI callable returned without completing handshake.")
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        self._end_denial()
        self._send_500()  # if the handshake is still undecided
        if self._lost:
            return
        self._flush()
        if self.conn.transport_action is not TransportAction.WAIT:
            # The application is done and no closing handshake is under way: end the stream
            # (with no close frame, as uvicorn's own implementations do).
            self._close_transport()

    def _end_denial(self) -> None:
        if self._denial is not None:
            self._denial.finish()
            if self._denial.ended:
                self._deliver_disconnect(1006)
            else:
                self._denial = None  # its head never went out: the 500 replaces it

    # -- bytes out, the stream's end, and the clock ------------------------------------------

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        transport = self.transport
        if data and not transport.is_closing():
            transport.write(data)
        if self.conn.transport_action is TransportAction.NONE:
            return
        if self.conn.should_close_transport:
            # RFC 6455 §7.1.1: the server closes the stream once the closing handshake is done.
            self._close_transport()
            return
        self.session.update(self.loop.time())
        self._arm()

    def _close_transport(self) -> None:
        self._cancel_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm(self) -> None:
        deadline = self.session.next_deadline()
        if deadline == self._timer_at:
            return
        self._cancel_timer()
        if deadline is not None and not self._lost:
            self._timer_at = deadline
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.loop.time()
        while (due := self.session.due(now)) is not None:
            if due is Due.PING:
                self.ping_sent_at = now
            elif due is Due.KEEPALIVE_FAILED:
                self._trace("WebSocket keepalive ping timeout")
                self._deliver_disconnect(1011, "keepalive ping timeout")
                self._flush()
                self._close_transport()
                return
            elif due is Due.CLOSE_TIMEOUT:
                self._close_transport()
                return
        self._flush()
        self._arm()

    # -- logging, as uvicorn's own implementations do -------------------------------------------

    def _trace(self, what: str) -> None:
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = f"{self._client[0]}:{self._client[1]} - " if self._client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%s%s", prefix, what)

    def _log_request(self, outcome: str) -> None:
        self.logger.info(
            '%s - "WebSocket %s" %s',
            get_client_addr(self.scope),  # type: ignore[arg-type]
            get_path_with_query_string(self.scope),  # type: ignore[arg-type]
            outcome,
        )
