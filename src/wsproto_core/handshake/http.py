"""HTTP/1.1 pieces the opening handshake shares, on top of h11.

Header lookup and comma-separated token lists (RFC 7230 §3.2.2, §7), the
latin-1 decoding of header bytes, building response events, and the error an
application gets when it hands the handshake something HTTP cannot carry.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING

import h11

from ..errors import HandshakeArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..events import Headers

__all__ = [
    "comma_tokens",
    "decode_headers",
    "encode_headers",
    "header_index",
    "header_values",
    "is_token",
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
    status: int, reason: bytes, headers: Sequence[tuple[str, str]], extra: Sequence[tuple[str, str]]
) -> bytes:
    """Write a response's status line and headers (RFC 9112 §4, §5), without h11.

    The opening handshake's 101 is written here, directly: it is on every
    connection's path and h11's general machinery costs more than the bytes.

    Args:
        status: The status code.
        reason: The reason phrase.
        headers: Our headers, trusted (built from validated request values).
        extra: The application's headers, checked here, written after ours.

    Raises:
        HandshakeArgumentError: A name that is not a token, or a value HTTP cannot carry.
    """
    for name, value in extra:
        if not is_token(name) or _FIELD_VALUE.fullmatch(value) is None:
            raise HandshakeArgumentError(f"invalid response header: {name!r}: {value!r}")
    lines = [f"{name}: {value}\r\n" for name, value in (*headers, *extra)]
    try:
        fields = "".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HandshakeArgumentError(f"header not representable in latin-1: {exc}") from exc
    return b"HTTP/1.1 %d %s\r\n%s\r\n" % (status, reason, fields)
