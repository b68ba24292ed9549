"""The mod_websocket-style handler API, shared by the asyncio and threading adapters.

An application is a :class:`Handler` (or several, mounted on paths by a
:class:`Router`). A handler is told when a client connects, when a message
arrives and when the connection is gone; it talks back through the
:class:`HandlerConnection` it is given. This follows Apache mod_websocket's
plugins (``on_connect`` / ``on_message`` / ``on_disconnect``, with a
``server`` object to read the request, pick a subprotocol, ``send`` and
``close``).

Everything here is sans-IO: the routing decisions (which handler, which HTTP
refusal) and the per-connection bookkeeping (:class:`HandlerConnectionBase`)
never touch a socket, so both adapters apply the same rules and this module is
tested without one.

How an adapter serves one connection:

1. Create a :class:`~wsproto_core.connection.ServerConnection` with
   ``**router.connection_options()`` (the most permissive draft flags any route
   allows).
2. On a :class:`~wsproto_core.events.Request` or
   :class:`~wsproto_core.events.HTTPRequest`, call :meth:`Router.resolve`. A
   :class:`Response` goes to ``conn.reject(response.status, response.headers,
   response.body)``; a :class:`Route` goes on.
3. Build its :class:`HandlerConnection` (a subclass of
   :class:`HandlerConnectionBase`), call ``handler.on_connect``. On
   :class:`Refuse` reject with :meth:`Refuse.response`; on any other exception
   reject with :data:`SERVER_ERROR`. Otherwise set
   ``conn.max_message_size = route.max_message_size`` and call
   ``conn.accept(subprotocol=hc.subprotocol, extra_headers=hc.response_headers)``.
4. Call ``handler.on_message`` for each message, one at a time, in arrival
   order; when it raises, close with 1011. Call ``handler.on_disconnect`` once
   with the :class:`~wsproto_core.events.Close` code and reason, after
   cancelling the connection's timers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, overload

from .broadcast import BroadcastReport, Overflow, PreparedMessage
from .connection import DEFAULT_MAX_MESSAGE_SIZE
from .events import HTTPRequest
from .handshake.negotiation import choose_subprotocol
from .versions import HIXIE_75, HIXIE_76, RFC6455_VERSIONS

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable

    from .connection import ServerConnection
    from .events import Headers, Request
    from .stats import ServerStats
    from .versions import ProtocolVersion

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "SERVER_ERROR",
    "Handler",
    "HandlerConnection",
    "HandlerConnectionBase",
    "HandlerResult",
    "Page",
    "ProcessRequest",
    "Refuse",
    "Response",
    "Route",
    "Router",
    "Timer",
    "broadcast",
    "error_response",
    "log_connection",
    "request_answer",
]

HandlerResult = Awaitable[None] | None
"""What a handler callback returns: nothing, or (asyncio adapter only) an awaitable."""


class Timer(Protocol):
    """A periodic callback scheduled with :meth:`HandlerConnection.call_every`."""

    def cancel(self) -> None:
        """Stop calling the callback. Calling it again does nothing."""


class HandlerConnection(Protocol):
    """The surface a handler sees for one connection; each adapter implements it.

    Read-only facts about the handshake are plain attributes; ``send``,
    ``close`` and ``call_every`` are safe to call from any thread or task
    (the asyncio adapter hops to its loop with ``call_soon_threadsafe``; the
    threading adapter holds a lock around the connection).

    Attributes:
        request: The handshake :class:`~wsproto_core.events.Request`.
        path: The request path, without the query.
        query: The query string (after ``?``), or ``""``.
        headers: Every request header, in order.
        offered_subprotocols: The subprotocols the client offered, in its order.
        subprotocol: The chosen subprotocol, or ``None``. Before ``on_connect``
            it holds the first of the handler's subprotocols (server preference
            order) that the client offered; :meth:`select_subprotocol` changes it.
        response_headers: Extra headers for the handshake response; append
            ``(name, value)`` pairs to it in ``on_connect``.
        protocol_version: 13, 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
        remote_address: The peer's address as the socket reports it
            (``(host, port)`` for TCP), or ``None`` if unknown.
        context: Per-connection state for the handler; any object, ``None``
            until the handler sets it.
    """

    subprotocol: str | None
    response_headers: list[tuple[str, str]]
    context: Any

    @property
    def request(self) -> Request:
        """The handshake request."""

    @property
    def path(self) -> str:
        """The request path, without the query."""

    @property
    def query(self) -> str:
        """The query string (after ``?``), or ``""``."""

    @property
    def headers(self) -> Headers:
        """Every request header, in order."""

    @property
    def offered_subprotocols(self) -> tuple[str, ...]:
        """The subprotocols the client offered, in its order of preference."""

    @property
    def protocol_version(self) -> ProtocolVersion:
        """The protocol the client speaks."""

    @property
    def remote_address(self) -> Any:
        """The peer's address, or ``None``."""

    def header(self, name: str, default: str | None = None) -> str | None:
        """Return the first request header called ``name`` (case-insensitive), or ``default``."""

    def select_subprotocol(self, name: str | None) -> None:
        """Choose the subprotocol to accept with (``None`` for none).

        Raises:
            ValueError: ``name`` is not one the client offered.
        """

    def send(self, message: str | bytes) -> HandlerResult:
        """Send a text (``str``) or binary (``bytes``) message. Safe from any thread or task.

        Messages sent after the connection closed are dropped silently: the
        handler learns of the close through ``on_disconnect``.

        Back pressure: no sender gets far ahead of a peer that reads slowly.
        The threading adapter blocks the sending thread while the socket's
        buffer is full (and cuts the connection when nothing moves for the
        close timeout). The asyncio adapter returns an awaitable on the event
        loop, done when the buffer is below ``write_limit``: ``await
        conn.send(...)`` in an ``async`` callback waits for the peer; a sender
        that never waits and gets 16 times ``write_limit`` ahead fails the
        connection with 1013. From another thread it blocks that thread.
        """

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake. Safe from any thread or task; a second call does nothing."""

    def call_every(self, interval: float, callback: Callable[[], object]) -> Timer:
        """Call ``callback()`` every ``interval`` seconds until cancelled or disconnected.

        The first call comes ``interval`` seconds after this one. The timer is
        cancelled automatically before ``on_disconnect``. In the asyncio adapter
        the callback runs on the loop (an ``async def`` callback is awaited, and a
        call is skipped while the previous one is still running); in the
        threading adapter it runs on the connection's reader thread, never at
        the same time as ``on_message``; called from another thread while that
        thread waits for the peer, the first call comes once it next wakes (a
        message, a keepalive ping). In both, an exception closes with 1011.

        Args:
            interval: Seconds between calls; must be positive.
            callback: What to call, without arguments.
        """
        ...


class HandlerConnectionBase:
    """The sans-IO part of a :class:`HandlerConnection`, for adapters to subclass.

    It holds the facts of the handshake and the handler's choices (subprotocol,
    response headers, context). A subclass adds ``send``, ``close`` and
    ``call_every``.

    Args:
        request: The handshake request.
        route: The route :meth:`Router.resolve` chose.
        remote_address: The peer's address, or ``None``.
    """

    __slots__ = ("context", "remote_address", "request", "response_headers", "route", "subprotocol")

    def __init__(self, request: Request, route: Route, remote_address: Any = None) -> None:
        self.request = request
        self.route = route
        self.remote_address = remote_address
        self.response_headers: list[tuple[str, str]] = []
        self.context: Any = None
        self.subprotocol = choose_subprotocol(route.supported_subprotocols, request.subprotocols)

    @property
    def path(self) -> str:
        """The request path, without the query."""
        return self.request.path

    @property
    def query(self) -> str:
        """The query string (after ``?``), or ``""``."""
        return self.request.query

    @property
    def headers(self) -> Headers:
        """Every request header, in order."""
        return self.request.headers

    @property
    def offered_subprotocols(self) -> tuple[str, ...]:
        """The subprotocols the client offered, in its order of preference."""
        return self.request.subprotocols

    @property
    def protocol_version(self) -> ProtocolVersion:
        """The protocol the client speaks."""
        return self.request.version

    @property
    def handler(self) -> Handler:
        """The handler serving this connection."""
        return self.route.handler

    def header(self, name: str, default: str | None = None) -> str | None:
        """Return the first request header called ``name`` (case-insensitive), or ``default``."""
        return self.request.header(name, default)

    def select_subprotocol(self, name: str | None) -> None:
        """Choose the subprotocol to accept with (``None`` for none).

        Raises:
            ValueError: ``name`` is not one the client offered (RFC 6455 §4.2.2
                lets a server only pick from the client's list).
        """
        if name is not None and name not in self.request.subprotocols:
            raise ValueError(f"the client did not offer the subprotocol {name!r}")
        self.subprotocol = name

    @classmethod
    def _deliver(
        cls,
        group: list[HandlerConnectionBase],
        message: PreparedMessage,
        overflow: Overflow,
    ) -> BroadcastReport[HandlerConnectionBase]:
        """Broadcast to ``group``, connections of this adapter (see :func:`broadcast`)."""
        raise NotImplementedError(f"{cls.__name__} cannot broadcast")

    def accept_on(self, conn: ServerConnection) -> None:
        """Step 3's end: accept ``conn`` as ``on_connect`` left things (the route's size limit,
        the chosen subprotocol, the extra response headers)."""
        conn.max_message_size = self.route.max_message_size
        conn.accept(subprotocol=self.subprotocol, extra_headers=self.response_headers)


def broadcast(
    connections: Iterable[HandlerConnection],
    message: str | bytes | PreparedMessage,
    *,
    overflow: Overflow = Overflow.SKIP,
) -> BroadcastReport[HandlerConnection]:
    """Send ``message`` to every open connection of ``connections``, from any thread or task.

    The connections may come from either adapter's server (each group goes
    through its adapter's ``broadcast``): the message is encoded once for
    every group of connections that frame it alike, a connection above its
    write limit is skipped or closed as ``overflow`` says, and errors are
    reported per connection, never raised. See :mod:`wsproto_core.broadcast`.

    Args:
        connections: The handler connections (what ``on_connect`` was given).
        message: ``str`` for text, ``bytes`` for binary, or a prepared message.
        overflow: What to do with a connection above its write limit.

    Returns:
        The :class:`~wsproto_core.broadcast.BroadcastReport`, naming the handler connections.

    Raises:
        TypeError: A connection is not one an adapter's server made.
    """
    prepared = message if isinstance(message, PreparedMessage) else PreparedMessage(message)
    groups: dict[type[HandlerConnectionBase], list[HandlerConnectionBase]] = {}
    for conn in connections:
        if not isinstance(conn, HandlerConnectionBase):
            raise TypeError(f"cannot broadcast to {type(conn).__name__}")
        groups.setdefault(type(conn), []).append(conn)
    report: BroadcastReport[HandlerConnection] = BroadcastReport()
    for kind, group in groups.items():
        report.merge(kind._deliver(group, prepared, overflow))  # type: ignore[arg-type]
    report.encodings = prepared.encodings
    return report


class Handler:
    """A WebSocket application: subclass it and override what you need.

    Every callback may be a plain method or, with the asyncio adapter only, an
    ``async def`` (it is awaited). For one connection, callbacks never run
    concurrently with each other and ``on_message`` calls come in arrival order.

    Attributes:
        subprotocols: The subprotocols this handler speaks, in the server's
            order of preference; the first one the client offered is selected
            before :meth:`on_connect` runs.
    """

    subprotocols: Sequence[str] = ()

    def on_connect(self, conn: HandlerConnection) -> HandlerResult:
        """A client asks to connect: return to accept, raise :class:`Refuse` to refuse.

        Nothing can be sent yet; start timers with ``conn.call_every`` here. Any
        exception other than :class:`Refuse` refuses with 500.
        """
        return None

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> HandlerResult:
        """A whole message arrived: ``str`` for text, ``bytes`` for binary.

        An exception closes the connection with 1011 (internal error).
        """
        return None

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> HandlerResult:
        """The connection is closed (called once, only for accepted connections).

        Args:
            conn: The connection, for its ``context``; sending does nothing now.
            close_code: The close code (1006 if the stream was cut without a
                closing handshake, 1005 if the peer's close had no code).
            reason: The close reason, possibly empty.
        """
        return None


class Refuse(Exception):
    """Raised by :meth:`Handler.on_connect` to refuse the connection with an HTTP status.

    Args:
        status: The HTTP status of the refusal (403 by default).
        reason: Words for the plain-text response body.
        headers: Extra response headers.
    """

    status: int = 403
    reason: str = ""

    def __init__(
        self, status: int = 403, reason: str = "", headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason or "Forbidden"
        self.headers = tuple(headers)

    def response(self) -> Response:
        """The HTTP response to refuse with."""
        return Response.text(self.status, self.reason, self.headers)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response the adapter sends with ``ServerConnection.reject`` (then closes).

    Attributes:
        status: The status code.
        headers: The response headers.
        body: The response body.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def text(cls, status: int, text: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
        """A response with a plain-text body (a line ending is added)."""
        return cls(
            status,
            (("Content-Type", "text/plain; charset=utf-8"), *headers),
            text.encode() + b"\n",
        )


SERVER_ERROR = Response.text(500, "Internal Server Error")
"""The refusal when ``on_connect`` raises something other than :class:`Refuse`."""

ProcessRequest = Callable[["Request"], "Response | Awaitable[Response | None] | None"]
"""A server's ``process_request`` option: look at the handshake request before a
function (or coroutine) handler runs. Return ``None`` to accept, or a
:class:`Response` (or raise :class:`Refuse`) to answer with that HTTP response
instead, e.g. 401 with ``WWW-Authenticate``. The asyncio server also awaits an
awaitable result."""


def error_response(error: BaseException) -> Response:
    """The answer to a handshake callback that raised: a :class:`Refuse`'s own response,
    else :data:`SERVER_ERROR` (the caller logs the error)."""
    return error.response() if isinstance(error, Refuse) else SERVER_ERROR


def request_answer(outcome: object, error: BaseException | None) -> Response | None:
    """What a ``process_request`` call came to: ``None`` (accept) or the response to send.

    Args:
        outcome: What it returned (``None`` or a :class:`Response`).
        error: What it raised, if it raised: a :class:`Refuse` is its response;
            anything else, :data:`SERVER_ERROR` (the caller logs it).

    Raises:
        TypeError: It returned something else.
    """
    if error is not None:
        return error_response(error)
    if outcome is None or isinstance(outcome, Response):
        return outcome
    raise TypeError(f"process_request returned {outcome!r}; return None or a Response")


@dataclass(frozen=True, slots=True)
class Route:
    """A WebSocket endpoint: a path, its handler and its limits.

    Attributes:
        path: The request path it answers (``"*"`` answers any path not routed otherwise).
        handler: The handler.
        max_message_size: The largest message accepted, in bytes (``None``: no
            limit). A bigger one closes the connection with 1009 (1004 for
            versions 7 and 8).
        subprotocols: The subprotocols spoken here; ``None`` means the handler's own.
        allowed_origins: The ``Origin`` values allowed; ``None`` allows any
            (a client that sends no ``Origin`` is then allowed too).
        allow_draft76: Whether draft-hixie-76 clients are served here.
        allow_draft75: Whether draft-hixie-75 clients are served here.
    """

    path: str
    handler: Handler
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE
    subprotocols: Sequence[str] | None = None
    allowed_origins: Sequence[str] | None = None
    allow_draft76: bool = True
    allow_draft75: bool = False

    @property
    def supported_subprotocols(self) -> Sequence[str]:
        """The subprotocols spoken here, in preference order."""
        return self.handler.subprotocols if self.subprotocols is None else self.subprotocols


@dataclass(frozen=True, slots=True)
class Page:
    """A plain HTTP resource served beside the WebSocket endpoints.

    Attributes:
        path: The request path.
        body: The content.
        content_type: The ``Content-Type`` header value.
    """

    path: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"


_WS_ONLY_HEADERS = (
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", ", ".join(str(v) for v in RFC6455_VERSIONS)),
)
_PAGE_METHODS = ("GET", "HEAD")
_JSON_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))


class Router:
    """Maps request paths to handlers (WebSocket) and pages (plain HTTP).

    The decisions are sans-IO: :meth:`resolve` takes the request event and
    returns either the :class:`Route` to serve or the :class:`Response` to
    refuse with; an adapter only applies them.

    Example::

        router = Router()
        router.route("/echo", EchoHandler())
        router.page("/", b"<h1>hello</h1>")
    """

    __slots__ = ("_pages", "_routes", "_stats")

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._pages: dict[str, Page] = {}
        self._stats: dict[str, Callable[[], ServerStats]] = {}

    @classmethod
    def for_handler(cls, handler: Handler, **options: Any) -> Router:
        """A router that serves ``handler`` on every path (what ``serve(handler)`` uses).

        Args:
            handler: The handler.
            **options: Keyword arguments of :meth:`route`.
        """
        router = cls()
        router.route("*", handler, **options)
        return router

    def route(
        self,
        path: str,
        handler: Handler,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        subprotocols: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
        allow_draft76: bool = True,
        allow_draft75: bool = False,
    ) -> None:
        """Serve ``handler`` on ``path`` (exact match; ``"*"`` for any other path).

        Args:
            path: The request path, e.g. ``"/echo"``.
            handler: The handler.
            max_message_size: Largest message accepted on this route (``None``: no limit).
            subprotocols: Subprotocols spoken here (default: ``handler.subprotocols``).
            allowed_origins: ``Origin`` values allowed (default: any).
            allow_draft76: Serve draft-hixie-76 clients here.
            allow_draft75: Serve draft-hixie-75 clients here (mod_websocket's ``SupportDraft75``).

        Raises:
            ValueError: The path is already routed, or ``max_message_size`` is not positive.
        """
        if path in self._routes:
            raise ValueError(f"{path!r} is already routed")
        if max_message_size is not None and max_message_size <= 0:
            raise ValueError("max_message_size must be positive or None")
        self._routes[path] = Route(
            path,
            handler,
            max_message_size,
            None if subprotocols is None else tuple(subprotocols),
            None if allowed_origins is None else tuple(allowed_origins),
            allow_draft76,
            allow_draft75,
        )

    def page(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        """Serve ``body`` to a plain HTTP ``GET`` (or ``HEAD``) of ``path``.

        Raises:
            ValueError: The path already has a page.
        """
        if path in self._pages or path in self._stats:
            raise ValueError(f"{path!r} already has a page")
        self._pages[path] = Page(path, body, content_type)

    def add_stats_endpoint(self, path: str, stats: Callable[[], ServerStats]) -> None:
        """Answer a plain HTTP ``GET`` (or ``HEAD``) of ``path`` with ``stats()`` as JSON.

        For monitoring; there is none unless added. Each request gets a fresh
        snapshot (``Cache-Control: no-store``): the fields of
        :class:`~wsproto_core.stats.ServerStats` as one JSON object. Whoever
        can reach the server can read it: serve it on an address only the
        monitoring can reach, or keep it behind the proxy's access rules.

        Example::

            async with serve(router, "127.0.0.1", 8765) as server:
                router.add_stats_endpoint("/stats", server.stats)

        Args:
            path: The request path, e.g. ``"/stats"``.
            stats: What to answer with: a server's ``stats`` method, most often.

        Raises:
            ValueError: The path already has a page.
        """
        if path in self._pages or path in self._stats:
            raise ValueError(f"{path!r} already has a page")
        self._stats[path] = stats

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every WebSocket route, in the order added."""
        return tuple(self._routes.values())

    @property
    def pages(self) -> tuple[Page, ...]:
        """Every page, in the order added."""
        return tuple(self._pages.values())

    def connection_options(self) -> dict[str, bool]:
        """Keyword arguments for the ``ServerConnection`` of each incoming connection.

        The drafts are allowed if any route allows them (the router refuses per
        route), and plain HTTP is always let through so that pages are served
        and plain requests to WebSocket paths get a proper refusal.
        """
        return {
            "allow_draft76": any(r.allow_draft76 for r in self._routes.values()),
            "allow_draft75": any(r.allow_draft75 for r in self._routes.values()),
            "accept_plain_http": True,
        }

    @overload
    def resolve(self, request: HTTPRequest) -> Response: ...

    @overload
    def resolve(self, request: Request) -> Route | Response: ...

    def resolve(self, request: Request | HTTPRequest) -> Route | Response:
        """Decide what to do with a request.

        For a WebSocket :class:`~wsproto_core.events.Request`: the :class:`Route`,
        or 404 for an unknown path, 403 for an ``Origin`` the route does not
        allow, 400 for a hixie draft the route does not serve.

        For a plain :class:`~wsproto_core.events.HTTPRequest`: 200 with the page,
        405 for a method other than GET/HEAD on a page (with ``Allow``), 426 for
        a WebSocket-only path (RFC 6455 §4.2.2 / RFC 9110 §15.5.22, with
        ``Upgrade``), 204 No Content for ``/favicon.ico`` when no page serves
        it (browsers ask every site for that icon), 404 otherwise. A ``HEAD``
        gets the page's headers (the connection sends them without the body).
        """
        path = request.path
        if isinstance(request, HTTPRequest):
            return self._resolve_http(request.method, path)
        route = self._routes.get(path) or self._routes.get("*")
        if route is None:
            return Response.text(404, f"No WebSocket endpoint at {path}")
        if route.allowed_origins is not None and request.origin not in route.allowed_origins:
            return Response.text(403, "Origin not allowed")
        if (request.version == HIXIE_76 and not route.allow_draft76) or (
            request.version == HIXIE_75 and not route.allow_draft75
        ):
            return Response.text(400, f"This endpoint does not speak draft {request.version}")
        return route

    def _resolve_http(self, method: str, path: str) -> Response:
        page = self._pages.get(path)
        stats = self._stats.get(path)
        if (page is not None or stats is not None) and method not in _PAGE_METHODS:
            return Response.text(405, "Method Not Allowed", (("Allow", ", ".join(_PAGE_METHODS)),))
        if page is not None:
            # For HEAD the connection sends the headers (with the body's Content-Length) only.
            return Response(200, (("Content-Type", page.content_type),), page.body)
        if stats is not None:
            body = json.dumps(stats().as_dict()).encode()
            return Response(200, _JSON_HEADERS, body)
        if path == "/favicon.ico" and method in _PAGE_METHODS:
            # Browsers ask every site for its icon: "none", rather than a 404 per page load.
            return Response(204)
        if path in self._routes or "*" in self._routes:
            return Response.text(426, "This is a WebSocket endpoint", _WS_ONLY_HEADERS)
        return Response.text(404, "Not Found")


def log_connection(
    logger: logging.Logger,
    remote_address: object,
    request: Request | HTTPRequest,
    status: int | None,
    subprotocol: str | None,
    close_code: int | None,
    close_reason: str,
) -> None:
    """Write the one log line per connection both adapters' servers produce.

    ``remote path version=V status=S subprotocol=P close=CODE REASON``; ``close`` is
    ``None`` when the handshake was refused. An empty reason is left out, and one
    that would end the line with a space or break it in two (control characters,
    spaces at either end) is written quoted, as a Python string literal.
    """
    if close_reason and (not close_reason.isprintable() or close_reason.strip() != close_reason):
        close_reason = repr(close_reason)
    logger.info(
        "%s %s version=%s status=%s subprotocol=%s close=%s%s",
        remote_address,
        request.path,
        request.method if isinstance(request, HTTPRequest) else request.version,
        status,
        subprotocol,
        close_code,
        f" {close_reason}" if close_reason else "",
    )
