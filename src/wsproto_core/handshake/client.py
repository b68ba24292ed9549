"""The client side of the opening handshake, every version, over h11.

:class:`ClientHandshake` writes the request at construction (RFC 6455 §4.1;
draft-hixie-76 §4.1 with its keys and key3; draft-hixie-75) and reads the
server's answer: a valid 101 becomes :class:`~wsproto_core.events.Accept`,
any other final status a :class:`~wsproto_core.events.Reject` with its body.
Every byte after the 101 (after the 16-byte answer for hixie-76) is kept in
:attr:`ClientHandshake.trailing`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import h11

from ..errors import HandshakeArgumentError, HandshakeError
from ..events import Accept, Reject
from ..versions import SUPPORTED_VERSIONS, profile
from . import hixie
from .http import (
    comma_tokens,
    decode_headers,
    encode_headers,
    header_values,
    is_token,
)
from .negotiation import (
    HeaderSyntaxError,
    accept_extensions,
    parse_extensions,
    serialize_extension,
    serialize_extensions,
)
from .rfc6455 import accept_key, generate_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..events import Headers
    from ..extensions.base import ClientExtensionFactory, Extension
    from ..versions import ProtocolVersion
    from .uri import WebSocketURI

__all__ = ["ClientHandshake"]

_EOF_REASON = "connection closed during the handshake"


class ClientHandshake:
    """One client-side opening handshake.

    Send :attr:`request`, then feed the server's bytes to :meth:`receive_data`
    until it returns :class:`~wsproto_core.events.Accept` or
    :class:`~wsproto_core.events.Reject`.

    Attributes:
        request: The request bytes to send (with key3 for hixie-76).
        trailing: The bytes that followed the 101 response (after the
            16-byte answer for hixie-76): frames the server sent at once.
        extensions: The negotiated extensions, once accepted.
        subprotocol: The subprotocol the server chose, once accepted.
        version: The protocol version requested.
    """

    __slots__ = (
        "_accept",
        "_answer",
        "_body",
        "_buffer",
        "_done",
        "_error",
        "_expected_accept",
        "_factories",
        "_h11",
        "_max_size",
        "_offered",
        "_response",
        "extensions",
        "request",
        "subprotocol",
        "trailing",
        "version",
    )

    def __init__(
        self,
        uri: WebSocketURI,
        *,
        subprotocols: Sequence[str] = (),
        origin: str | None = None,
        version: ProtocolVersion = 13,
        extra_headers: Sequence[tuple[str, str]] = (),
        extensions: Sequence[ClientExtensionFactory] = (),
        max_size: int = 16384,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """Build the request.

        Args:
            uri: Where to connect (see :func:`~wsproto_core.handshake.uri.parse_uri`).
            subprotocols: The subprotocols to offer, in order of preference (at
                most one for the hixie drafts, which send a single value).
            origin: The ``Origin`` to send (``Sec-WebSocket-Origin`` for versions 7 and 8).
            version: The protocol to speak: 13, 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
            extra_headers: More request headers, written after ours.
            extensions: The extensions to offer; each is offered only in a handshake
                of a version its factory lists in ``versions`` (never hixie's).
            max_size: The most bytes the response headers, and a refusal's body, may take.
            random_bytes: The source of randomness for the keys (tests make it deterministic).

        Raises:
            HandshakeArgumentError: An unsupported version, a subprotocol that is
                not a token, several subprotocols or any extension for a hixie
                draft, or a header HTTP cannot carry.
        """
        if version not in SUPPORTED_VERSIONS:
            raise HandshakeArgumentError(f"unsupported protocol version {version!r}")
        self._offered = tuple(subprotocols)
        # Only the extensions defined for this version are offered (RFC 7692: 13 only; the
        # hixie drafts have none).
        self._factories = tuple(f for f in extensions if version in f.versions)
        self._max_size = max_size
        self._expected_accept = ""
        self._answer = b""
        self._buffer = b""
        self._body = b""
        self._response: tuple[int, Headers] | None = None
        self._accept: Accept | None = None
        self._done: Accept | Reject | None = None
        self._error: HandshakeError | None = None
        self.trailing = b""
        self.extensions: list[Extension] = []
        self.subprotocol: str | None = None
        self.version: ProtocolVersion = version
        key3 = b""
        headers = [("Host", uri.netloc)]
        known = profile(version)
        if known.hixie:
            if len(self._offered) > 1:
                raise HandshakeArgumentError("the hixie drafts offer a single subprotocol")
            headers += [("Upgrade", "WebSocket"), ("Connection", "Upgrade")]
            if origin is not None:
                headers.append(("Origin", origin))
            if self._offered:
                headers.append((known.protocol_header, self._offered[0]))
            if known.key_challenge:
                # draft-hixie-76 §4.1: two keys in the headers, key3 after them.
                key1 = hixie.generate_key(random_bytes)
                key2 = hixie.generate_key(random_bytes)
                key3 = random_bytes(hixie.KEY3_SIZE)
                headers += [("Sec-WebSocket-Key1", key1.value), ("Sec-WebSocket-Key2", key2.value)]
                self._answer = hixie.challenge_answer(key1.part, key2.part, key3)
        else:
            bad = [p for p in self._offered if not is_token(p)]
            if bad:
                raise HandshakeArgumentError(f"subprotocol {bad[0]!r} is not a token")
            key = generate_key(random_bytes)
            self._expected_accept = accept_key(key)
            headers += [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", str(version)),
            ]
            if origin is not None:
                headers.append((known.origin_header, origin))
            if self._offered:
                headers.append(("Sec-WebSocket-Protocol", ", ".join(self._offered)))
            if self._factories:
                offers = [(factory.name, factory.offer()) for factory in self._factories]
                headers.append(("Sec-WebSocket-Extensions", serialize_extensions(offers)))
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_size)
        try:
            event = h11.Request(
                method="GET",
                target=uri.resource_name,
                headers=encode_headers([*headers, *extra_headers]),
            )
        except h11.LocalProtocolError as exc:
            raise HandshakeArgumentError(f"invalid request header: {exc}") from exc
        start = self._h11.send(event) or b""
        self.request = start + (self._h11.send(h11.EndOfMessage()) or b"") + key3

    def receive_data(self, data: bytes) -> Accept | Reject | None:
        """Feed bytes from the server; ``b""`` means the stream ended.

        Bytes that arrive after the response is complete are appended to :attr:`trailing`.

        Returns:
            :class:`~wsproto_core.events.Accept` for a valid 101,
            :class:`~wsproto_core.events.Reject` for any other final status once
            its body is read (to its end, or to ``max_size`` bytes: truncated
            beyond), or ``None`` while more bytes are needed.

        Raises:
            HandshakeError: An invalid 101 (``status`` 101) or a response that
                cannot be parsed (``status`` ``None``); raised again on every later call.
        """
        if self._error is not None:
            raise self._error
        if self._done is not None:
            self.trailing += data
            return None
        try:
            if self._accept is not None:
                return self._receive_answer(data, eof=not data)
            return self._receive_http(data)
        except HandshakeError as exc:
            self._error = exc
            raise

    def _receive_http(self, data: bytes) -> Accept | Reject | None:
        """Run h11 over ``data`` until a final response is read."""
        self._h11.receive_data(data)
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._response is not None:
                    # The body was cut short: the refusal is still worth reporting.
                    return self._reject()
                if not data:
                    raise HandshakeError(_EOF_REASON, None) from exc
                raise HandshakeError(f"invalid HTTP response: {exc}", None) from exc
            if event is h11.NEED_DATA:
                return None
            if event is h11.PAUSED:
                # h11 stops after the 101; what follows is ours.
                return self._receive_answer(*self._h11.trailing_data)
            if isinstance(event, (h11.InformationalResponse, h11.Response)):
                headers = decode_headers(event.headers.raw_items())
                size = len(event.reason) + 15 + sum(len(k) + len(v) + 4 for k, v in headers)
                if size > self._max_size:
                    raise HandshakeError(
                        f"response headers larger than {self._max_size} bytes", None
                    )
                if isinstance(event, h11.Response):
                    self._response = (event.status_code, headers)
                elif event.status_code == 101:
                    self._accept = self._validate(headers)
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) >= self._max_size:
                    return self._reject()
            else:
                # EndOfMessage: before the end of a final response, h11 has no
                # other event for a client (a premature EOF raises instead).
                return self._reject()

    def _reject(self) -> Reject:
        """Finish a refusal, its body truncated to ``max_size``."""
        assert self._response is not None
        status, headers = self._response
        self._done = Reject(status, headers, bytes(self._body[: self._max_size]))
        return self._done

    def _receive_answer(self, data: bytes, eof: bool) -> Accept | None:
        """Complete a valid 101: wait for the hixie-76 answer if there is one."""
        assert self._accept is not None
        self._buffer += data
        if profile(self.version).key_challenge:
            if len(self._buffer) < hixie.ANSWER_SIZE:
                if eof:
                    raise HandshakeError(_EOF_REASON, 101)
                return None
            # draft-hixie-76 §4.1: the 16 bytes after the headers must be the expected answer.
            if self._buffer[: hixie.ANSWER_SIZE] != self._answer:
                raise HandshakeError("the server's challenge answer is wrong", 101)
            self._buffer = self._buffer[hixie.ANSWER_SIZE :]
        self.trailing = self._buffer
        self._done = self._accept
        return self._accept

    def _validate(self, headers: Headers) -> Accept:
        """Check a 101 response (RFC 6455 §4.1, the client's items 1-6)."""
        if "websocket" not in comma_tokens(headers, "Upgrade"):
            raise HandshakeError("the 101 response has no Upgrade: websocket", 101)
        if "upgrade" not in comma_tokens(headers, "Connection"):
            raise HandshakeError("the 101 response's Connection header lacks upgrade", 101)
        known = profile(self.version)
        if known.hixie:
            name = known.protocol_header
            self.subprotocol = self._chosen_subprotocol(header_values(headers, name))
            return Accept(self.subprotocol, (), headers)
        if header_values(headers, "Sec-WebSocket-Accept") != [self._expected_accept]:
            raise HandshakeError("wrong or missing Sec-WebSocket-Accept", 101)
        self.subprotocol = self._chosen_subprotocol(
            header_values(headers, "Sec-WebSocket-Protocol")
        )
        try:
            items = parse_extensions(header_values(headers, "Sec-WebSocket-Extensions"))
            self.extensions = accept_extensions(items, self._factories)
        except HeaderSyntaxError as exc:
            raise HandshakeError(str(exc), 101) from exc
        except HandshakeError as exc:
            raise HandshakeError(exc.reason, 101) from exc
        return Accept(self.subprotocol, tuple(serialize_extension(i) for i in items), headers)

    def _chosen_subprotocol(self, values: list[str]) -> str | None:
        """The subprotocol the server chose: none, or one value the client offered."""
        if not values:
            return None
        if len(values) > 1:
            raise HandshakeError("the server chose more than one subprotocol", 101)
        chosen = values[0].strip()
        if chosen not in self._offered:
            raise HandshakeError(
                f"the server chose subprotocol {chosen!r}, which was not offered", 101
            )
        return chosen
