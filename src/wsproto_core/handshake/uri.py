"""``ws://`` and ``wss://`` URIs (RFC 6455 §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InvalidURI

__all__ = ["WebSocketURI", "parse_uri"]

_DEFAULT_PORTS = {False: 80, True: 443}
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")
"""Whitespace, control and non-ASCII characters: they cannot go in a request line or Host header."""


@dataclass(frozen=True, slots=True)
class WebSocketURI:
    """A parsed WebSocket URI.

    Attributes:
        secure: ``True`` for ``wss://`` (TLS).
        host: The host, lower-cased; an IPv6 address without brackets.
        port: The port, explicit or the scheme's default (80 or 443).
        resource_name: The path and query sent in the request line (``/`` at least).
    """

    secure: bool
    host: str
    port: int
    resource_name: str

    @property
    def scheme(self) -> str:
        """``"wss"`` or ``"ws"``."""
        return "wss" if self.secure else "ws"

    @property
    def netloc(self) -> str:
        """The ``Host`` header value: IPv6 in brackets, the port only when not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.secure]:
            return host
        return f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        """The URI's origin serialized as RFC 6454 §6.2 does: ``ws://host[:port]``."""
        return f"{self.scheme}://{self.netloc}"

    def __str__(self) -> str:
        return f"{self.origin}{self.resource_name}"


def parse_uri(url: str) -> WebSocketURI:
    """Parse a ``ws://`` or ``wss://`` URL (RFC 6455 §3).

    Args:
        url: The URL, for example ``wss://example.com:8443/chat?room=1``.

    Returns:
        The parsed URI.

    Raises:
        InvalidURI: The scheme is not ``ws``/``wss``, there is a fragment, no host,
            user information, an invalid port, or a character that cannot be sent
            as is (whitespace, control or non-ASCII: percent-encode it).
    """
    if _FORBIDDEN.search(url):
        raise InvalidURI(url, "whitespace, control or non-ASCII character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # urllib's words: "Port out of range 0-65535", "Invalid IPv6 URL"
        message = str(exc)
        raise InvalidURI(url, message[:1].lower() + message[1:]) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise InvalidURI(url, "the scheme must be ws or wss")
    # RFC 6455 §3: "Fragment identifiers are meaningless in the context of
    # WebSocket URIs and MUST NOT be used on these URIs."
    if "#" in url:
        raise InvalidURI(url, "a WebSocket URI has no fragment")
    if not parts.hostname:
        raise InvalidURI(url, "no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidURI(url, "user information is not supported")
    secure = scheme == "wss"
    if port is None:
        port = _DEFAULT_PORTS[secure]
    elif port == 0:
        raise InvalidURI(url, "port 0")
    resource_name = parts.path or "/"
    if parts.query:
        resource_name = f"{resource_name}?{parts.query}"
    return WebSocketURI(secure, parts.hostname, port, resource_name)
