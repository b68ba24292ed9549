"""What the application sees: the events a connection produces.

Every event is a frozen dataclass with ``__slots__``. A connection yields them
from :meth:`wsproto_core.connection.Connection.events` in the order the peer's
bytes produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from collections.abc import Callable

    from .versions import ProtocolVersion

Headers = tuple[tuple[str, str], ...]
"""HTTP headers as (name, value) pairs, in the order they arrived; names keep their case."""

__all__ = [
    "Accept",
    "BytesMessage",
    "Close",
    "Event",
    "HTTPRequest",
    "HandshakeFailed",
    "Headers",
    "Message",
    "Ping",
    "Pong",
    "Reject",
    "Request",
    "TextMessage",
]


class Event:
    """Base class of every event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Request(Event):
    """Server side: a valid opening handshake arrived (RFC 6455 §4.2.1).

    Answer it with :meth:`~wsproto_core.ServerConnection.accept` or
    :meth:`~wsproto_core.ServerConnection.reject`.

    Attributes:
        target: The request target as sent, path and query (``/chat?room=1``).
        host: The ``Host`` header.
        headers: Every request header, in order.
        version: The protocol the client speaks: 13, 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
        origin: ``Origin`` (or ``Sec-WebSocket-Origin`` for versions 7 and 8), if sent.
        subprotocols: The subprotocols the client offered, in its order of preference.
        extensions: The raw extension offers (``Sec-WebSocket-Extensions`` items).
    """

    target: str
    host: str
    headers: Headers
    version: ProtocolVersion
    origin: str | None = None
    subprotocols: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The path part of :attr:`target`, without the query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The query part of :attr:`target` (after ``?``), or ``""``."""
        return self.target.partition("?")[2]

    def header(self, name: str, default: str | None = None) -> str | None:
        """Return the first header called ``name`` (case-insensitive), or ``default``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default


@dataclass(frozen=True, slots=True)
class HTTPRequest(Event):
    """Server side: a plain HTTP request that is not a WebSocket upgrade.

    Produced only when the connection was made with ``accept_plain_http=True``
    (to serve pages beside the WebSocket endpoints); answer it with
    :meth:`~wsproto_core.ServerConnection.reject`, giving the status, headers and body.

    Attributes:
        method: The request method (``GET``, ``HEAD``, ...).
        target: The request target, path and query.
        headers: Every request header, in order.
    """

    method: str
    target: str
    headers: Headers

    @property
    def path(self) -> str:
        """The path part of :attr:`target`, without the query."""
        return self.target.partition("?")[0]


@dataclass(frozen=True, slots=True)
class Accept(Event):
    """Client side: the server accepted the opening handshake (RFC 6455 §4.1).

    Attributes:
        subprotocol: The subprotocol the server chose, or ``None``.
        extensions: The extensions in use, as the server named them.
        headers: Every response header, in order.
    """

    subprotocol: str | None = None
    extensions: tuple[str, ...] = ()
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Reject(Event):
    """Client side: the server answered the handshake with a status other than 101.

    The connection is closed afterwards; nothing more will arrive.

    Attributes:
        status: The HTTP status code.
        headers: The response headers.
        body: The whole response body (bounded by the connection's handshake limit).
    """

    status: int
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HandshakeFailed(Event):
    """The opening handshake failed; the connection is closed.

    Server side: the request was invalid and the connection refused it itself;
    the HTTP response (``status`` and a plain-text body giving ``reason``) is
    already queued in ``data_to_send()``. Client side: the server's response
    was not a valid WebSocket handshake (``status`` is the status it sent, or
    ``None`` if the response could not be parsed).

    Attributes:
        reason: Why, in words fit for a log line.
        status: The HTTP status involved, if any.
    """

    reason: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class TextMessage(Event):
    """A text message (or, when streaming, a chunk of one).

    Attributes:
        data: The text.
        final: ``False`` on every chunk but the last when messages are streamed;
            always ``True`` when messages are delivered whole.
    """

    data: str
    final: bool = True


@dataclass(frozen=True, slots=True)
class BytesMessage(Event):
    """A binary message (or, when streaming, a chunk of one).

    Attributes:
        data: The bytes.
        final: ``False`` on every chunk but the last when messages are streamed.
    """

    data: bytes
    final: bool = True


# -- building the message events fast, for the codecs ----------------------------------
#
# A frozen dataclass's generated __init__ stores each field through object.__setattr__:
# about 390 ns a message event on CPython 3.11, for a 16-byte frame over half the cost of
# parsing it. The codecs' fast paths build the two message events without it, inline, in
# about 215 ns:
#
#     event = _new_event(TextMessage)
#     _set_text_data(event, text)
#     _set_text_final(event, True)
#
# setting every field (a slot left unset raises AttributeError when read). A plain slotted
# class with its own __init__ (read-only through __setattr__) takes about 250 ns, and this
# trick wrapped in a private constructor function about 240 ns: both a Python call per
# event, 5-8 % and 3-4 % slower on benchmarks/compare.py's 1000 x 16 B rows (3.10 to 3.13
# rank them alike). A tuple subclass builds faster (about 160 ns, tuple.__new__ with the
# fields) but its events would be sequences (len, iteration, sequence patterns), twice as
# slow to read a field from, and no longer the dataclasses this module promises. So the
# trick stays, but here, next to the classes, and checked: a field added, renamed or
# reordered fails at import instead of leaving a slot unset.


def _field_setters(
    cls: type[TextMessage] | type[BytesMessage], *names: str
) -> tuple[Callable[[Any, Any], None], ...]:
    """The ``__set__`` of the slot of each field of ``cls``, which must be ``names`` in order.

    Raises:
        TypeError: ``names`` are not all the fields of ``cls``, in order.
    """
    declared = tuple(item.name for item in fields(cls))
    if names != declared:
        raise TypeError(f"{cls.__name__} has the fields {declared}, not {names}")
    return tuple(vars(cls)[name].__set__ for name in names)


_new_event = object.__new__
"""An event of the class given, no field set: set them all with the setters below."""
_set_text_data, _set_text_final = _field_setters(TextMessage, "data", "final")
_set_bytes_data, _set_bytes_final = _field_setters(BytesMessage, "data", "final")


Message = Union[TextMessage, BytesMessage]  # noqa: UP007 (a runtime alias, kept readable in docs)
"""Either kind of data message."""


@dataclass(frozen=True, slots=True)
class Ping(Event):
    """The peer sent a ping. The pong reply is already queued.

    Attributes:
        payload: The ping's application data (at most 125 bytes).
    """

    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Pong(Event):
    """The peer sent a pong (solicited or not).

    Attributes:
        payload: The pong's application data.
    """

    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Close(Event):
    """The connection is closing or closed; this is the last event but none.

    Attributes:
        code: The close code. A code the peer sent; 1005 if its close frame had
            none (or it speaks a hixie draft); 1006 if the stream ended with no
            closing handshake; or the code *we* sent when we failed the
            connection because of the peer's bytes (1002, 1007, 1009, ...).
        reason: The close reason, possibly empty.
        by_peer: ``True`` when the code and reason came from the peer, ``False``
            when this side failed the connection or the stream was cut (1006).
    """

    code: int
    reason: str = ""
    by_peer: bool = field(default=True)
