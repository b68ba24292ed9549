"""HTTP/1.1 pieces the opening handshake shares, on top of h11.

Reading a request head with h11's parser (:class:`RequestHeadReader`), header
lookup and comma-separated token lists (RFC 7230 §3.2.2, §7), the latin-1
decoding of header bytes, building response events, and the error an
application gets when it hands the handshake something HTTP cannot carry.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING

import h11

# h11's request-head reader and its buffer: private to h11, but the same in every h11
# this project supports (0.14-0.16). new_head_reader() checks them once and falls back
# to H11ConnectionHeadReader if they are gone or behave otherwise.
try:
    from h11._readers import maybe_read_from_IDLE_client as _read_request_head
    from h11._receivebuffer import ReceiveBuffer as _ReceiveBuffer
except ImportError:  # pragma: no cover - another h11
    _read_request_head = _ReceiveBuffer = None  # type: ignore[assignment,misc]

from ..errors import HandshakeArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..events import Headers

__all__ = [
    "H11ConnectionHeadReader",
    "RequestHeadReader",
    "comma_tokens",
    "decode_headers",
    "encode_headers",
    "has_token",
    "header_index",
    "header_values",
    "is_token",
    "new_head_reader",
    "reason_phrase",
    "response_event",
    "serialize_response_head",
    "split_tokens",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 7230 §3.2.6: ``token = 1*tchar``."""

_FIELD_VALUE = re.compile(
    r"(?:[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?)?"
)
"""RFC 9110 §5.5: a field value is visible characters with inner spaces and tabs, no CR/LF/NUL."""


class RequestHeadReader:
    """Read one HTTP/1.1 request head with h11's parser, without h11's connection.

    :class:`h11.Connection` puts every event through a state machine made for
    keep-alive HTTP (body framing, keep-alive, protocol switches); the opening
    handshake reads one request head and then leaves HTTP, so that machinery
    was most of the cost of a handshake. This runs the same h11 reader that
    ``Connection.next_event`` runs first, on the same buffer, and applies the
    two checks ``next_event`` adds while the head is incomplete: the size limit
    (``max_incomplete_event_size``, 431) and, inside the reader, the early
    refusal of a first byte no request line starts with. The request line,
    the header grammar and h11's validation of the request (RFC 9112 §3,
    §5; ``Host``, ``Content-Length``, ``Transfer-Encoding``) are h11's own.

    Args:
        max_size: The most bytes an incomplete head may take before it is refused.
    """

    __slots__ = ("_buffer", "_max_size")

    def __init__(self, max_size: int) -> None:
        """Start with an empty buffer."""
        self._buffer = _ReceiveBuffer()
        self._max_size = max_size

    def feed(self, data: bytes) -> h11.Request | None:
        """Add ``data`` (not empty) and return the request once its head is complete.

        Raises:
            h11.ProtocolError: The head is malformed (``error_status_hint`` 400,
                or 501 for an unknown transfer coding), or incomplete and over the
                size limit (431). The messages are h11's.
        """
        buffer = self._buffer
        buffer += data
        request = _read_request_head(buffer)
        if request is None and len(buffer) > self._max_size:
            raise h11.RemoteProtocolError("Receive buffer too long", error_status_hint=431)
        return request

    @property
    def unread(self) -> bytes:
        """The bytes after the request head: what h11 calls its trailing data."""
        return bytes(self._buffer)


class H11ConnectionHeadReader:
    """:class:`RequestHeadReader`'s interface over a plain :class:`h11.Connection`.

    The fallback when this h11 lacks the internals :class:`RequestHeadReader`
    uses (they are private to h11): slower, the same outcome.

    Args:
        max_size: The most bytes an incomplete head may take before it is refused.
    """

    __slots__ = ("_connection",)

    def __init__(self, max_size: int) -> None:
        """Start a server-side h11 connection."""
        self._connection = h11.Connection(h11.SERVER, max_incomplete_event_size=max_size)

    def feed(self, data: bytes) -> h11.Request | None:
        """As :meth:`RequestHeadReader.feed`."""
        connection = self._connection
        connection.receive_data(data)
        event = connection.next_event()
        return event if isinstance(event, h11.Request) else None

    @property
    def unread(self) -> bytes:
        """As :attr:`RequestHeadReader.unread`."""
        return bytes(self._connection.trailing_data[0])


def _fast_reader_works() -> bool:
    """Whether h11's private reader and buffer are here and behave as h11 0.14-0.16's do."""
    try:
        reader = RequestHeadReader(64)
        request = reader.feed(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nrest")
    except Exception:  # an h11 whose internals changed: use the public API instead
        return False
    return (
        isinstance(request, h11.Request)
        and request.target == b"/a"
        and request.headers.raw_items() == [(b"Host", b"h")]
        and reader.unread == b"rest"
    )


_FAST_READER = _fast_reader_works()


def new_head_reader(max_size: int) -> RequestHeadReader | H11ConnectionHeadReader:
    """A reader of one request head: :class:`RequestHeadReader` when this h11 allows."""
    if _FAST_READER:
        return RequestHeadReader(max_size)
    return H11ConnectionHeadReader(max_size)


def is_token(text: str) -> bool:
    """Return whether ``text`` is an HTTP token (RFC 7230 §3.2.6)."""
    return _TOKEN.fullmatch(text) is not None


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Decode header byte pairs as latin-1, keeping the names' case and the order."""
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Encode header pairs as latin-1 bytes for h11.

    Raises:
        HandshakeArgumentError: A name or value is not latin-1 text.
    """
    try:
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    except UnicodeEncodeError as exc:
        raise HandshakeArgumentError(f"header not representable in latin-1: {exc}") from exc


def header_values(headers: Headers, name: str) -> list[str]:
    """Return the value of every header called ``name`` (case-insensitive), in order."""
    lname = name.lower()
    return [value for key, value in headers if key.lower() == lname]


def header_index(headers: Headers) -> dict[str, list[str]]:
    """Map every lower-cased header name to its values, in order (one pass, then lookups)."""
    index: dict[str, list[str]] = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def split_tokens(values: Iterable[str]) -> list[str]:
    """Return the lower-cased items of the lines of a comma-separated list header.

    Empty items are skipped, as RFC 7230 §7 asks of recipients.
    """
    items = (item.strip(" \t") for value in values for item in value.split(","))
    return [item.lower() for item in items if item]


def has_token(values: Sequence[str], token: str) -> bool:
    """Return whether the lines of a comma-separated list header include ``token``.

    ``token`` is lower-case; the items are compared case-insensitively, as
    :func:`split_tokens` gives them. A line that is the token alone, as most
    are (``Upgrade: websocket``), is recognized without splitting.
    """
    for value in values:
        if value.lower() == token:
            return True
    return token in split_tokens(values)


def comma_tokens(headers: Headers, name: str) -> list[str]:
    """Return the lower-cased items of a comma-separated list header, across all its lines."""
    return split_tokens(header_values(headers, name))


def reason_phrase(status: int) -> bytes:
    """Return the standard reason phrase for ``status``, or ``b""`` for an unknown code."""
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def response_event(
    status: int,
    headers: Sequence[tuple[str, str]],
    extra: Sequence[tuple[str, str]] = (),
    reason: bytes | None = None,
) -> h11.Response | h11.InformationalResponse:
    """Build the h11 event for a response.

    Args:
        status: The status code.
        headers: Our headers.
        extra: The application's headers, written after ours.
        reason: The reason phrase; the standard one when ``None``.

    Raises:
        HandshakeArgumentError: A header name or value that HTTP cannot carry.
    """
    cls = h11.InformationalResponse if status < 200 else h11.Response
    try:
        return cls(
            status_code=status,
            headers=encode_headers([*headers, *extra]),
            reason=reason_phrase(status) if reason is None else reason,
        )
    except h11.LocalProtocolError as exc:
        raise HandshakeArgumentError(f"invalid response header: {exc}") from exc


def serialize_response_head(
    start: bytes, headers: Sequence[tuple[str, str]], extra: Sequence[tuple[str, str]]
) -> bytes:
    """Write a response head (RFC 9112 §4, §5) without h11: ``start``, the headers, a blank line.

    The opening handshake's 101 is written here, directly: it is on every
    connection's path and h11's general machinery costs more than the bytes.

    Args:
        start: The status line and the header lines that never change, written
            once as constants (each line ending in CRLF).
        headers: Our other headers, trusted (built from validated request values).
        extra: The application's headers, checked here, written after ours.

    Raises:
        HandshakeArgumentError: A name that is not a token, or a value HTTP cannot carry.
    """
    if extra:
        for name, value in extra:
            if not is_token(name) or _FIELD_VALUE.fullmatch(value) is None:
                raise HandshakeArgumentError(f"invalid response header: {name!r}: {value!r}")
        headers = [*headers, *extra]
    try:
        fields = "".join([f"{name}: {value}\r\n" for name, value in headers]).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HandshakeArgumentError(f"header not representable in latin-1: {exc}") from exc
    return b"%s%s\r\n" % (start, fields)
