"""The server side of the opening handshake, every version, over h11.

:class:`ServerHandshake` reads one HTTP/1.1 request, decides which protocol
the client speaks (RFC 6455 versions 13, 8, 7; draft-hixie-76; draft-hixie-75)
and validates it (RFC 6455 §4.2.1), then writes the answer: the 101 response
(§4.2.2), a refusal for an invalid request, or any response the application
chooses. Every byte after the request is kept in :attr:`ServerHandshake.trailing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h11

from ..errors import HandshakeArgumentError, HandshakeError, InvalidState
from ..events import HTTPRequest, Request
from ..state import ConnectionState
from ..versions import HIXIE_75, HIXIE_76, PROFILES
from . import hixie
from .http import (
    decode_headers,
    has_token,
    header_index,
    new_head_reader,
    response_event,
    serialize_response_head,
)
from .negotiation import (
    HeaderSyntaxError,
    choose_subprotocol,
    negotiate_extensions,
    parse_extensions,
    parse_subprotocols,
    serialize_extension,
    serialize_extensions,
)
from .rfc6455 import accept_key, is_valid_key

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..events import Headers
    from ..extensions.base import Extension, ServerExtensionFactory
    from ..versions import ProtocolVersion
    from .negotiation import ExtensionItem

__all__ = ["SUPPORTED_VERSIONS_HEADER", "ServerHandshake"]

SUPPORTED_VERSIONS_HEADER = ("Sec-WebSocket-Version", "13, 8, 7")
"""Sent with 426 Upgrade Required: the versions we speak (RFC 6455 §4.4)."""

_UPGRADE_REQUIRED = (("Upgrade", "websocket"), SUPPORTED_VERSIONS_HEADER)
"""The headers of a 426: RFC 9110 §15.5.22 requires ``Upgrade``; RFC 6455 §4.4 the versions."""

_EOF_REASON = "connection closed during the handshake"

_RFC6455_VERSIONS: dict[str, ProtocolVersion] = {"13": 13, "8": 8, "7": 7}

_SWITCHING_PROTOCOLS = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
)
"""How every RFC 6455 101 response starts (§4.2.2 step 5, items 1-3), written once."""

_HIXIE_101: dict[ProtocolVersion, bytes] = {
    HIXIE_76: b"HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n",
    HIXIE_75: b"HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n",
}
"""How the 101 of each hixie draft starts: its own reason phrase (draft-hixie-76 §5.2)."""

HeaderIndex = dict[str, list[str]]
"""A request's header values by lower-cased name (:func:`~.http.header_index`)."""

_NONE: list[str] = []
"""The values of an absent header (never modified)."""


class ServerHandshake:
    """One server-side opening handshake.

    Feed it the client's bytes with :meth:`receive_data` (or hand it a request
    another server parsed with :meth:`from_request`) until it returns the
    request, then answer with :meth:`accept`, :meth:`reject` (or its streamed
    form: :meth:`start_reject`, :meth:`send_reject_body`, :meth:`end_reject`) or,
    after a :class:`~wsproto_core.errors.HandshakeError`, :meth:`refuse`.

    Attributes:
        event: The validated request once it is complete (``None`` before, and
            while a hixie-76 key3 is still incomplete).
        trailing: The bytes that followed the request (after key3 for
            hixie-76): frames the client pipelined, never dropped.
        version: The protocol the client speaks, once the request headers are validated.
    """

    __slots__ = (
        "_accept_plain_http",
        "_allow_draft75",
        "_allow_draft76",
        "_body_left",
        "_chunks",
        "_error",
        "_factories",
        "_key",
        "_key3",
        "_max_size",
        "_method",
        "_offers",
        "_parts",
        "_pending",
        "_reader",
        "_received",
        "_responded",
        "_secure",
        "_subprotocols",
        "_writer",
        "event",
        "trailing",
        "version",
    )

    def __init__(
        self,
        *,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ServerExtensionFactory] = (),
        allow_draft76: bool = True,
        allow_draft75: bool = False,
        accept_plain_http: bool = False,
        secure: bool = False,
        max_size: int = 16384,
    ) -> None:
        """Prepare to read one request.

        Args:
            subprotocols: The subprotocols this server speaks, in its order of preference.
            extensions: The extensions this server can negotiate (RFC 6455 versions only).
            allow_draft76: Accept draft-hixie-76 clients.
            allow_draft75: Accept draft-hixie-75 clients (off by default, as in mod_websocket).
            accept_plain_http: Hand plain GET and HEAD requests to the application
                as :class:`~wsproto_core.events.HTTPRequest` instead of refusing them.
            secure: The connection runs over TLS (the hixie ``Location`` says ``wss``).
            max_size: The most bytes the request line and headers may take (else 431).
        """
        self._subprotocols = tuple(subprotocols)
        self._factories = tuple(extensions)
        self._allow_draft76 = allow_draft76
        self._allow_draft75 = allow_draft75
        self._accept_plain_http = accept_plain_http
        self._secure = secure
        self._max_size = max_size
        self._reader = new_head_reader(max_size)
        # Every chunk given to h11's reader, the last one completing the head: for the
        # h11 connection that writes any response but the 101 (see _http_writer).
        self._chunks: list[bytes] = []
        self._method = ""
        self._key = ""
        self._parts = (0, 0)
        self._key3 = b""
        self._offers: list[ExtensionItem] = []
        self._pending: Request | None = None
        self._received = 0  # bytes given to h11, to measure the request head exactly
        self._error: HandshakeError | None = None
        self._responded = False
        # A streamed refusal: the h11 connection writing it, and how many body bytes its
        # Content-Length still expects (None: chunked, or delimited by the close).
        self._writer: h11.Connection | None = None
        self._body_left: int | None = None
        self.event: Request | HTTPRequest | None = None
        self.trailing = b""
        self.version: ProtocolVersion | None = None

    @classmethod
    def from_request(
        cls,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
        data: bytes = b"",
        *,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ServerExtensionFactory] = (),
        allow_draft76: bool = True,
        allow_draft75: bool = False,
        accept_plain_http: bool = False,
        secure: bool = False,
        max_size: int = 16384,
    ) -> ServerHandshake:
        """Take over a request another server already parsed (embedding).

        The request is validated at once, as HTTP/1.1, and the result is in
        :attr:`event` (``None`` only while a hixie-76 key3 is incomplete: pass
        further bytes to :meth:`receive_data`). To answer a request this
        refuses, create a handshake and call :meth:`receive_request` instead,
        then :meth:`refuse`.

        Args:
            method: The request method.
            target: The request target (path and query).
            headers: The request headers, as text or bytes pairs.
            data: The bytes that followed the request (hixie-76 key3, pipelined frames).
            subprotocols: As for the constructor.
            extensions: As for the constructor.
            allow_draft76: As for the constructor.
            allow_draft75: As for the constructor.
            accept_plain_http: As for the constructor.
            secure: As for the constructor.
            max_size: As for the constructor.

        Raises:
            HandshakeError: The request is invalid.
        """
        handshake = cls(
            subprotocols=subprotocols,
            extensions=extensions,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
            accept_plain_http=accept_plain_http,
            secure=secure,
            max_size=max_size,
        )
        handshake.receive_request(method, target, headers, data)
        return handshake

    def receive_request(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
        data: bytes = b"",
    ) -> Request | HTTPRequest | None:
        """Feed a request another server parsed, instead of its bytes.

        The request is written out through h11 and read back, so it meets
        exactly the checks of :meth:`receive_data`.

        Args:
            method: The request method.
            target: The request target (path and query).
            headers: The request headers, as text or bytes pairs.
            data: The bytes that followed the request.

        Returns:
            As :meth:`receive_data`.

        Raises:
            HandshakeError: The request is invalid.
        """
        try:
            request = h11.Request(
                method=method,
                target=target,
                headers=[
                    (
                        name if isinstance(name, bytes) else name.encode("latin-1"),
                        value if isinstance(value, bytes) else value.encode("latin-1"),
                    )
                    for name, value in headers
                ],
            )
        except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
            self._error = HandshakeError(f"malformed HTTP request: {exc}", 400)
            raise self._error from exc
        raw = h11.Connection(h11.CLIENT).send(request) or b""
        return self.receive_data(raw + data)

    def receive_data(self, data: bytes) -> Request | HTTPRequest | None:
        """Feed bytes from the client; ``b""`` means the stream ended.

        Bytes that arrive after the request is complete are appended to :attr:`trailing`.

        Returns:
            The request once it is complete and valid, else ``None`` (more bytes
            needed, including a hixie-76 key3 not yet complete).

        Raises:
            HandshakeError: The request is invalid (raised again on every later call).
                Answer it with :meth:`refuse`.
        """
        if self._error is not None:
            raise self._error
        if self.event is not None:
            self.trailing += data
            return None
        try:
            if self._pending is not None:
                return self._receive_key3(data, eof=not data)
            return self._receive_http(data)
        except HandshakeError as exc:
            self._error = exc
            raise

    def _receive_http(self, data: bytes) -> Request | HTTPRequest | None:
        """Run h11's reader over ``data`` until the request head is read."""
        if not data:
            # EOF before the request is complete: answered as an invalid request.
            raise HandshakeError(_EOF_REASON, 400)
        self._received += len(data)
        self._chunks.append(data)
        try:
            request = self._reader.feed(data)
        except h11.ProtocolError as exc:
            if exc.error_status_hint == 431:
                raise HandshakeError(
                    f"request headers larger than {self._max_size} bytes", 431
                ) from exc
            raise HandshakeError(f"malformed HTTP request: {exc}", exc.error_status_hint) from exc
        if request is None:
            return None
        rest = self._reader.unread
        # The head's bytes as they came: all that h11 was given less what it has not read.
        result = self._validate(request, self._received - len(rest))
        if isinstance(result, HTTPRequest):
            self.event = result
            return result
        # A validated WebSocket request has no body: every byte after its
        # head is ours (key3, frames).
        self._pending = result
        return self._receive_key3(rest, eof=False)

    def _receive_key3(self, data: bytes, eof: bool) -> Request | None:
        """Complete a validated request: wait for the hixie-76 key3 if there is one."""
        assert self._pending is not None
        assert self.version is not None
        if not PROFILES[self.version].key_challenge:
            self.trailing = data
        else:
            self._key3 += data
            if len(self._key3) < hixie.KEY3_SIZE:
                if eof:
                    raise HandshakeError(_EOF_REASON, 400)
                return None
            self.trailing = self._key3[hixie.KEY3_SIZE :]
            self._key3 = self._key3[: hixie.KEY3_SIZE]
        self.event = self._pending
        return self._pending

    def _validate(self, request: h11.Request, size: int) -> Request | HTTPRequest:
        """Check the request and detect its protocol version (RFC 6455 §4.2.1).

        ``size`` is the length of the request head, in bytes as they came.
        """
        method = request.method.decode("ascii")
        target = request.target.decode("latin-1")
        headers = decode_headers(request.headers.raw_items())
        index = header_index(headers)
        self._method = method
        # h11's reader refuses a head still incomplete past max_size; this refuses one
        # that came whole, so the limit is the same however the bytes were cut.
        if size > self._max_size:
            raise HandshakeError(f"request headers larger than {self._max_size} bytes", 431)
        if not has_token(index.get("upgrade", _NONE), "websocket"):
            return self._plain_request(method, target, headers)
        # RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
        if method != "GET":
            raise HandshakeError(
                f"method {method} not allowed for a WebSocket handshake", 405, (("Allow", "GET"),)
            )
        # RFC 9110 §2.5: a higher minor version (HTTP/1.2) is read as HTTP/1.1.
        if request.http_version[:2] != b"1." or request.http_version < b"1.1":
            raise HandshakeError("a WebSocket handshake needs HTTP/1.1", 400)
        # Item 4: "A |Connection| header field that includes the token 'Upgrade'".
        if not has_token(index.get("connection", _NONE), "upgrade"):
            raise HandshakeError("the Connection header does not include upgrade", 400)
        lengths = index.get("content-length")
        if "transfer-encoding" in index or (
            lengths and any(value.strip() != "0" for value in lengths)
        ):
            raise HandshakeError("a WebSocket handshake request has no body", 400)
        host = index.get("host", _NONE)[0]
        if index.get("sec-websocket-key1") or index.get("sec-websocket-key2"):
            return self._validate_hixie76(target, host, headers, index)
        versions = index.get("sec-websocket-version", _NONE)
        if versions:
            # RFC 6455 §4.4: answer an unsupported version with the ones we speak.
            version = _RFC6455_VERSIONS.get(versions[0].strip())
            if len(versions) != 1 or version is None:
                raise HandshakeError(
                    f"unsupported Sec-WebSocket-Version {', '.join(versions)!r}",
                    426,
                    _UPGRADE_REQUIRED,
                )
            return self._validate_rfc6455(version, target, host, headers, index)
        if index.get("sec-websocket-key", _NONE):
            raise HandshakeError("Sec-WebSocket-Version is missing", 426, _UPGRADE_REQUIRED)
        return self._validate_hixie75(target, host, headers, index)

    def _plain_request(self, method: str, target: str, headers: Headers) -> HTTPRequest:
        """A request without ``Upgrade: websocket``: serve it or refuse it."""
        if self._accept_plain_http:
            if method in ("GET", "HEAD"):
                return HTTPRequest(method, target, headers)
            raise HandshakeError(f"method {method} not allowed", 405, (("Allow", "GET, HEAD"),))
        if method != "GET":
            raise HandshakeError(f"method {method} not allowed", 405, (("Allow", "GET"),))
        raise HandshakeError(
            "this resource speaks only WebSocket: send Upgrade: websocket",
            426,
            (("Upgrade", "websocket"), SUPPORTED_VERSIONS_HEADER),
        )

    def _validate_rfc6455(
        self,
        version: ProtocolVersion,
        target: str,
        host: str,
        headers: Headers,
        index: HeaderIndex,
    ) -> Request:
        """Versions 13, 8 and 7 (RFC 6455 §4.2.1 items 5-10)."""
        keys = index.get("sec-websocket-key", _NONE)
        if len(keys) != 1:
            raise HandshakeError("exactly one Sec-WebSocket-Key is required", 400)
        key = keys[0].strip()
        if not is_valid_key(key):
            raise HandshakeError("Sec-WebSocket-Key is not base64 of 16 bytes", 400)
        protocols = index.get("sec-websocket-protocol")
        offered = index.get("sec-websocket-extensions")
        try:
            subprotocols = parse_subprotocols(protocols) if protocols else ()
            offers = parse_extensions(offered) if offered else []
        except HeaderSyntaxError as exc:
            raise HandshakeError(str(exc), 400) from exc
        # Drafts 7 and 8 named the origin Sec-WebSocket-Origin; some version 8 clients send Origin.
        origins = index.get("origin", _NONE)
        origin_header = PROFILES[version].origin_header
        if origin_header != "Origin":
            origins = index.get(origin_header.lower(), _NONE) + origins
        self._key = key
        self._offers = offers
        self.version = version
        return Request(
            target,
            host,
            headers,
            version,
            origins[0] if origins else None,
            subprotocols,
            tuple([serialize_extension(offer) for offer in offers]),
        )

    def _validate_hixie76(
        self, target: str, host: str, headers: Headers, index: HeaderIndex
    ) -> Request:
        """draft-hixie-76 (§5.2): both keys must hide a valid number."""
        if not self._allow_draft76:
            raise HandshakeError("draft-hixie-76 handshakes are disabled on this server", 400)
        parts = []
        for name in ("Sec-WebSocket-Key1", "Sec-WebSocket-Key2"):
            values = index.get(name.lower(), _NONE)
            if len(values) != 1:
                raise HandshakeError(f"exactly one {name} is required", 400)
            try:
                parts.append(hixie.key_part(values[0]))
            except hixie.HixieKeyError as exc:
                raise HandshakeError(f"invalid {name}: {exc}", 400) from exc
        self._parts = (parts[0], parts[1])
        self.version = HIXIE_76
        return self._hixie_request(target, host, headers, index)

    def _validate_hixie75(
        self, target: str, host: str, headers: Headers, index: HeaderIndex
    ) -> Request:
        """draft-hixie-75: no key at all, and only when enabled."""
        if not self._allow_draft75:
            raise HandshakeError(
                "no Sec-WebSocket-Key or Sec-WebSocket-Version: a draft-hixie-75 handshake, "
                "which is disabled on this server",
                400,
            )
        self.version = HIXIE_75
        return self._hixie_request(target, host, headers, index)

    def _hixie_request(
        self, target: str, host: str, headers: Headers, index: HeaderIndex
    ) -> Request:
        """The request event of either hixie draft: one subprotocol value, taken whole."""
        assert self.version is not None
        origins = index.get("origin", _NONE)
        protocol_header = PROFILES[self.version].protocol_header
        protocols = [value.strip() for value in index.get(protocol_header.lower(), _NONE)]
        return Request(
            target,
            host,
            headers,
            self.version,
            origins[0] if origins else None,
            (protocols[0],) if protocols and protocols[0] else (),
        )

    def accept(
        self, subprotocol: str | None = None, extra_headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[bytes, list[Extension], str | None]:
        """Accept the request: write the 101 response (RFC 6455 §4.2.2; draft-hixie-76 §5.2).

        Args:
            subprotocol: The subprotocol to speak; it must be one the client
                offered. ``None`` picks the first of this server's
                ``subprotocols`` that the client offered, if any.
            extra_headers: More response headers, written after ours.

        Returns:
            The response bytes (with the 16-byte answer for hixie-76), the
            negotiated extensions, and the subprotocol chosen.

        Raises:
            InvalidState: There is no WebSocket request to accept, or it was answered already.
            HandshakeArgumentError: The client did not offer ``subprotocol``, or a
                header cannot be sent.
        """
        request = self.event
        if not isinstance(request, Request) or self._responded:
            raise InvalidState(
                "there is no WebSocket request to accept", ConnectionState.CONNECTING
            )
        offered = request.subprotocols
        if subprotocol is None:
            if offered and self._subprotocols:
                subprotocol = choose_subprotocol(self._subprotocols, offered)
        elif subprotocol not in offered:
            raise HandshakeArgumentError(f"the client did not offer subprotocol {subprotocol!r}")
        extensions: list[Extension] = []
        answer = b""
        known = PROFILES[request.version]
        if known.hixie:
            prefix = known.header_prefix
            scheme = "wss" if self._secure else "ws"
            start = _HIXIE_101[request.version]
            headers = []
            if request.origin is not None:
                headers.append((f"{prefix}Origin", request.origin))
            headers.append((f"{prefix}Location", f"{scheme}://{request.host}{request.target}"))
            if subprotocol is not None:
                headers.append((f"{prefix}Protocol", subprotocol))
            if known.key_challenge:
                answer = hixie.challenge_answer(*self._parts, self._key3)
        else:
            start = _SWITCHING_PROTOCOLS
            headers = [("Sec-WebSocket-Accept", accept_key(self._key))]
            if subprotocol is not None:
                headers.append(("Sec-WebSocket-Protocol", subprotocol))
            factories = [f for f in self._factories if request.version in f.versions]
            if self._offers and factories:
                items, extensions = negotiate_extensions(self._offers, factories)
                if items:
                    headers.append(("Sec-WebSocket-Extensions", serialize_extensions(items)))
        # h11 is left behind here: what follows the 101 is WebSocket, not HTTP.
        data = serialize_response_head(start, headers, extra_headers)
        self._responded = True
        return data + answer, extensions, subprotocol

    def reject(
        self, status: int, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
    ) -> bytes:
        """Answer with an ordinary HTTP response, then the connection closes.

        Usable at any time before a response was sent: to refuse a WebSocket
        request, to answer an :class:`~wsproto_core.events.HTTPRequest`, or to
        turn a client away before its request is complete.

        Args:
            status: The status code, 200 to 599.
            headers: Response headers. ``Content-Length`` and ``Connection: close``
                are always ours: the application's are replaced.
            body: The body (not sent in answer to HEAD).

        Returns:
            The response bytes.

        Raises:
            InvalidState: A response was already sent.
            HandshakeArgumentError: ``status`` is not a final status, or a header cannot be sent.
        """
        if self._responded:
            raise InvalidState("a response was already sent", ConnectionState.CLOSED)
        if not 200 <= status <= 599 or (status in (204, 304) and body):
            raise HandshakeArgumentError(f"cannot send status {status} with this body")
        ours = {"content-length", "connection", "transfer-encoding"}
        kept = [(name, value) for name, value in headers if name.lower() not in ours]
        # RFC 9110 §7.8: a sender of Upgrade lists "upgrade" in Connection too.
        upgrade = any(name.lower() == "upgrade" for name, _ in kept)
        connection = "Upgrade, close" if upgrade else "close"
        framing = [("Connection", connection)]
        if status != 204:  # RFC 9110 §8.6: no Content-Length in a 204 response
            framing.insert(0, ("Content-Length", str(len(body))))
        event = response_event(status, kept, framing)
        writer = self._http_writer()
        data = writer.send(event) or b""
        if body and self._method != "HEAD":
            data += writer.send(h11.Data(data=body)) or b""
        data += writer.send(h11.EndOfMessage()) or b""
        self._responded = True
        return data

    def start_reject(self, status: int, headers: Sequence[tuple[str, str]] = ()) -> bytes:
        """Begin an HTTP response whose body follows in pieces; the connection closes after it.

        The streamed form of :meth:`reject`, for a body that is not all known
        yet (an ASGI application's ``websocket.http.response.*`` messages, a
        proxied response). Send the body with :meth:`send_reject_body`, then
        call :meth:`end_reject`.

        The body is framed by the application's ``Content-Length`` if it gives
        one (exactly that many bytes must follow); otherwise h11 frames it:
        chunked to an HTTP/1.1 client, delimited by the end of the stream to an
        HTTP/1.0 one. ``Connection: close`` is always ours.

        Args:
            status: The status code, 200 to 599.
            headers: Response headers. ``Connection`` and ``Transfer-Encoding``
                are ours: the application's are replaced.

        Returns:
            The response head.

        Raises:
            InvalidState: A response was already sent or begun.
            HandshakeArgumentError: ``status`` is not a final status, or a header
                cannot be sent (an invalid ``Content-Length`` among them).
        """
        if self._responded:
            raise InvalidState("a response was already sent", ConnectionState.CLOSED)
        if not 200 <= status <= 599:
            raise HandshakeArgumentError(f"cannot send status {status} as a refusal")
        ours = {"connection", "transfer-encoding"}
        kept = [(name, value) for name, value in headers if name.lower() not in ours]
        upgrade = any(name.lower() == "upgrade" for name, _ in kept)
        connection = "Upgrade, close" if upgrade else "close"
        event = response_event(status, kept, [("Connection", connection)])
        writer = self._http_writer()
        data = writer.send(event) or b""
        self._responded = True
        self._writer = writer
        self._body_left = _declared_length(status, event)
        return data

    def send_reject_body(self, data: bytes) -> bytes:
        """Send the next piece of a refusal's body (nothing is sent in answer to HEAD).

        Args:
            data: The piece; an empty one sends nothing.

        Returns:
            The bytes that carry it (a chunk, when h11 frames the body so).

        Raises:
            InvalidState: No streamed refusal was begun, or it ended.
            HandshakeArgumentError: ``data`` goes beyond the ``Content-Length``
                the response announced (nothing is sent).
        """
        writer = self._streaming_writer()
        if not data or self._method == "HEAD":
            return b""
        left = self._body_left
        if left is not None:
            if len(data) > left:
                raise HandshakeArgumentError(
                    f"{len(data)} bytes exceed the {left} left of the announced Content-Length"
                )
            self._body_left = left - len(data)
        return writer.send(h11.Data(data=data)) or b""

    def end_reject(self) -> bytes:
        """End a streamed refusal's body.

        Returns:
            The bytes that end it (the last chunk, when the body is chunked).

        Raises:
            InvalidState: No streamed refusal was begun, or it ended.
            HandshakeArgumentError: Fewer bytes were sent than the announced
                ``Content-Length`` (the response is not ended: send the rest).
        """
        writer = self._streaming_writer()
        if self._body_left and self._method != "HEAD":
            raise HandshakeArgumentError(
                f"{self._body_left} bytes of the announced Content-Length are missing"
            )
        self._writer = None
        return writer.send(h11.EndOfMessage()) or b""

    def _streaming_writer(self) -> h11.Connection:
        writer = self._writer
        if writer is None:
            if self._responded:
                raise InvalidState("the response was already sent", ConnectionState.CLOSED)
            raise InvalidState("no streamed response was begun", ConnectionState.CONNECTING)
        return writer

    def _http_writer(self) -> h11.Connection:
        """An h11 connection ready to write the response to what was read.

        The head was parsed without :class:`h11.Connection` (see
        :class:`~.http.RequestHeadReader`); the connection that writes an
        ordinary response is made here, off the path of the 101, and reads
        the same head again so that it knows what h11 needs to frame its
        answer (a HEAD request, a client that asked to close). Before a head
        was read, or when it was malformed, it starts fresh, ready as h11 is
        after refusing a request to write the response that refuses it.
        """
        writer = h11.Connection(h11.SERVER)
        if self._method:
            # The head, and whatever followed it in the same read (left in h11's buffer).
            writer.receive_data(b"".join(self._chunks))
            writer.next_event()
        return writer

    def refuse(self, error: HandshakeError) -> bytes:
        """Answer an invalid request: ``error.status`` and headers, ``error.reason`` as the body.

        Args:
            error: The error :meth:`receive_data` raised.

        Returns:
            The response bytes.
        """
        headers = [*error.headers, ("Content-Type", "text/plain; charset=utf-8")]
        return self.reject(error.status or 400, headers, error.reason.encode("utf-8"))


def _declared_length(status: int, event: h11.Response | h11.InformationalResponse) -> int | None:
    """How many body bytes a response announces, or ``None`` if its body is not counted."""
    if status in (204, 304):
        return 0  # RFC 9110 §6.4.1: these responses have no body
    for name, value in event.headers:
        if name == b"content-length":
            return int(value)  # h11 checked it is digits, and that repeats agree
    return None
