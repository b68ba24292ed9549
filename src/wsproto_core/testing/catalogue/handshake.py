"""The ``handshake`` group: opening handshakes sent as raw bytes to a testee server.

Each case writes one request and judges the status line of the answer alone.
RFC 6455 §4.2.1 lists what a server reads in a client's handshake (an HTTP/1.1
or higher GET request with ``Host``, ``Upgrade: websocket``, ``Connection:
Upgrade``, a ``Sec-WebSocket-Key`` of 16 base64-encoded bytes and
``Sec-WebSocket-Version: 13``) and says a server that finds the handshake does
not match MUST "stop processing the client's handshake and return an HTTP
response with an appropriate error code (such as 400 Bad Request)"; for an
unsupported version §4.2.2 suggests 426 Upgrade Required with the versions the
server speaks, and §4.4's example answers 400 with them. So a broken request's
acceptable statuses are often a set: 400, or the
more precise 426 (upgrade needed, RFC 9110 §15.5.22) or 405 (not a GET, RFC
9110 §15.5.6).

The valid requests written unusually, but as HTTP allows (header names in any
case, spaces around values, ``Connection`` as a list or over two lines, an
unknown extension offered), must be accepted with 101. Then more broken ones:
other versions, other methods.

``{resource}`` and ``{host}`` in the requests are the testee's (see
:attr:`~..cases.Case.request`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import Case

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ..cases import Role
    from . import CatalogueOptions

__all__ = ["KEY", "cases", "request"]

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
"""RFC 6455 §1.3's sample key: 16 bytes, base64-encoded."""

_SERVER: frozenset[Role] = frozenset(("server",))

_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"Host", b"{host}"),
    (b"Upgrade", b"websocket"),
    (b"Connection", b"Upgrade"),
    (b"Sec-WebSocket-Key", KEY),
    (b"Sec-WebSocket-Version", b"13"),
)


def request(
    start: bytes = b"GET {resource} HTTP/1.1",
    *,
    without: Sequence[bytes] = (),
    replace: Sequence[tuple[bytes, bytes]] = (),
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """A v13 handshake request: the valid one, with headers left out, replaced or added.

    Args:
        start: The request line.
        without: Header names to leave out.
        replace: (name, value): the header's value changed, in its place.
        extra: (name, value): headers added at the end (a name already present
            is then repeated).
    """
    values = dict(replace)
    lines = [start]
    for name, value in _HEADERS:
        if name not in without:
            lines.append(name + b": " + values.get(name, value))
    lines += [name + b": " + value for name, value in extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _case(
    number: int, description: str, expectation: str, data: bytes, statuses: tuple[int, ...]
) -> Case:
    return Case(
        id=f"handshake.{number}",
        description=description,
        expectation=expectation,
        ok=None,
        roles=_SERVER,
        request=data,
        statuses=statuses,
    )


_REFUSED = "Refused with HTTP {} (RFC 6455 §4.2.1: the server stops processing the handshake)."

_BROKEN: tuple[tuple[str, bytes, tuple[int, ...], str], ...] = (
    (
        "A request without an Upgrade header.",
        request(without=(b"Upgrade",)),
        (400, 426),
        "",
    ),
    (
        "A request without a Connection header.",
        request(without=(b"Connection",)),
        (400, 426),
        "",
    ),
    (
        "A request whose Connection header has no Upgrade token: Connection: keep-alive.",
        request(replace=((b"Connection", b"keep-alive"),)),
        (400, 426),
        "",
    ),
    (
        "A request to upgrade to another protocol: Upgrade: h2c.",
        request(replace=((b"Upgrade", b"h2c"),)),
        (400, 426),
        "",
    ),
    (
        "A Sec-WebSocket-Key that is base64 but of 10 bytes, not 16.",
        request(replace=((b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZQ=="),)),
        (400,),
        "",
    ),
    (
        "A Sec-WebSocket-Key that is not base64.",
        request(replace=((b"Sec-WebSocket-Key", b"not a base64 key!!"),)),
        (400,),
        "",
    ),
    (
        "A request without Sec-WebSocket-Key.",
        request(without=(b"Sec-WebSocket-Key",)),
        (400,),
        "",
    ),
    (
        "Sec-WebSocket-Key twice.",
        request(extra=((b"Sec-WebSocket-Key", b"AQIDBAUGBwgJCgsMDQ4PEA=="),)),
        (400,),
        " RFC 6455 §11.3.1: the header MUST NOT appear more than once.",
    ),
    (
        "Sec-WebSocket-Version: 99, a version nobody speaks.",
        request(replace=((b"Sec-WebSocket-Version", b"99"),)),
        (400, 426),
        ' RFC 6455 §4.2.2: "an appropriate HTTP error code (such as 426 Upgrade Required)"'
        " with Sec-WebSocket-Version listing the versions the testee speaks; §4.4's own "
        "example answers 400 Bad Request (the status is judged here).",
    ),
    (
        "A request without Sec-WebSocket-Version.",
        request(without=(b"Sec-WebSocket-Version",)),
        (400, 426),
        "",
    ),
    (
        "A POST request with the WebSocket headers.",
        request(b"POST {resource} HTTP/1.1"),
        (400, 405),
        " RFC 6455 §4.2.1 item 1: the handshake is a GET; 405 Method Not Allowed names it.",
    ),
    (
        "An HTTP/1.0 request with the WebSocket headers.",
        request(b"GET {resource} HTTP/1.0"),
        (400, 426, 505),
        " RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher; RFC 9110 §7.8: Upgrade is "
        "ignored in an HTTP/1.0 request.",
    ),
    (
        "A request without a Host header.",
        request(without=(b"Host",)),
        (400,),
        " RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.",
    ),
)
"""Broken requests: (description, request, acceptable statuses, why beyond §4.2.1)."""

_UNUSUAL: tuple[tuple[str, bytes], ...] = (
    (
        "Header names and the Upgrade and Connection values in unusual case.",
        b"GET {resource} HTTP/1.1\r\nhOsT: {host}\r\nuPgRaDe: WebSocket\r\nCONNECTION: UPGRADE\r\n"
        b"sec-websocket-key: " + KEY + b"\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n",
    ),
    (
        "Spaces and tabs around every header value.",
        b"GET {resource} HTTP/1.1\r\nHost:   {host}  \r\nUpgrade:\t websocket \t\r\n"
        b"Connection:    Upgrade   \r\nSec-WebSocket-Key:  " + KEY + b"  \r\n"
        b"Sec-WebSocket-Version:   13 \r\n\r\n",
    ),
    (
        "Connection: keep-alive, Upgrade (as Firefox sends it).",
        request(replace=((b"Connection", b"keep-alive, Upgrade"),)),
    ),
    (
        "Connection over two header lines: keep-alive, then Upgrade.",
        request(replace=((b"Connection", b"keep-alive"),), extra=((b"Connection", b"Upgrade"),)),
    ),
    (
        "An extension the testee does not know is offered; Origin, a cookie and "
        "an unrelated header come along.",
        request(
            extra=(
                (b"Sec-WebSocket-Extensions", b"x-unknown-extension; level=3"),
                (b"Origin", b"http://example.com"),
                (b"Cookie", b"session=abc"),
                (b"X-Anything", b"1"),
            )
        ),
    ),
    (
        "An HTTP/1.2 request, a version above 1.1.",
        request(b"GET {resource} HTTP/1.2"),
    ),
)
"""Valid requests written unusually; the last relies on RFC 6455 §4.2.1's "HTTP/1.1 or
higher" and RFC 9110 §2.5 (a higher minor version is read as the highest one known)."""


_VERSIONS: tuple[tuple[bytes, str, tuple[int, ...]], ...] = (
    (b"12", "hybi-12, the last draft before RFC 6455", (400, 426)),
    (b"14", "a version after 13", (400, 426)),
    (b"0", "hybi-00's number", (400, 426)),
    (b"6", "hybi-06", (400, 426)),
    (b"9", "hybi-09, which hybi-08 to 12 never sent (they say 8)", (400, 426)),
    (b"13, 8", "a list: the header names one version (RFC 6455 §11.3.5)", (400, 426)),
    (b"abc", "not a number", (400, 426)),
)
"""More versions a v13 server refuses: (value, what it is, acceptable statuses)."""

_METHODS = (b"PUT", b"DELETE", b"HEAD", b"OPTIONS")
"""More methods than POST that are not a handshake's GET."""


def _more_broken() -> Iterator[tuple[str, str, bytes, tuple[int, ...]]]:
    """(description, expectation, request, statuses) of handshake.21 onwards."""
    for value, what, statuses in _VERSIONS:
        shown = " or ".join(str(status) for status in statuses)
        yield (
            f"Sec-WebSocket-Version: {value.decode()}, {what}.",
            _REFUSED.format(shown) + " RFC 6455 §4.2.2 suggests 426 Upgrade Required for a "
            "version the server does not speak, with the versions it does; §4.4's own "
            "example answers 400 (as handshake.10).",
            request(replace=((b"Sec-WebSocket-Version", value),)),
            statuses,
        )
    for method in _METHODS:
        yield (
            f"A {method.decode()} request with the WebSocket headers.",
            _REFUSED.format("400 or 405") + " RFC 6455 §4.2.1 item 1: the handshake is a "
            "GET; 405 Method Not Allowed names it.",
            request(method + b" {resource} HTTP/1.1"),
            (400, 405),
        )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """handshake.1 (the valid request), the broken ones, the unusual valid ones, more broken."""
    yield _case(
        1,
        "A valid RFC 6455 opening handshake request.",
        "Accepted with HTTP 101 Switching Protocols (RFC 6455 §4.2.2).",
        request(),
        (101,),
    )
    number = 1
    for description, data, statuses, why in _BROKEN:
        number += 1
        shown = " or ".join(str(status) for status in statuses)
        yield _case(number, description, _REFUSED.format(shown) + why, data, statuses)
    for description, data in _UNUSUAL:
        number += 1
        expectation = "Accepted with HTTP 101: the request is valid (RFC 6455 §4.2.1)."
        yield _case(number, description, expectation, data, (101,))
    for description, expectation, data, statuses in _more_broken():
        number += 1
        yield _case(number, description, expectation, data, statuses)
