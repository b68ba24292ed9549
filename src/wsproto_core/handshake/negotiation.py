"""Negotiating subprotocols and extensions (RFC 6455 §4.2.2, §9.1).

The ``Sec-WebSocket-Extensions`` grammar of RFC 6455 §9.1, with the list
rule of RFC 7230 §7 (optional whitespace around separators, empty items
skipped)::

    extension-list = 1#extension
    extension      = extension-token *( ";" extension-param )
    extension-param = token [ "=" (token | quoted-string) ]

A quoted value must unescape to a token, so the serializer never quotes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .http import is_token

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..extensions.base import (
        ClientExtensionFactory,
        Extension,
        ExtensionParams,
        ServerExtensionFactory,
    )

__all__ = [
    "ExtensionItem",
    "HeaderSyntaxError",
    "accept_extensions",
    "choose_subprotocol",
    "negotiate_extensions",
    "parse_extensions",
    "parse_subprotocols",
    "serialize_extension",
    "serialize_extensions",
]

ExtensionItem = tuple[str, "ExtensionParams"]
"""One extension of a ``Sec-WebSocket-Extensions`` list: its name and parameters."""

_SCANNER = re.compile(
    r"""
    [ \t]*
    (?:
        (?P<token>[!#$%&'*+\-.^_`|~0-9A-Za-z]+)
      | "(?P<quoted>(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)"
      | (?P<sep>[,;=])
      | (?P<end>\Z)
    )
    """,
    re.VERBOSE,
)
_UNESCAPE = re.compile(r"\\(.)")


class HeaderSyntaxError(ValueError):
    """A handshake header does not follow its grammar."""


def _lex(value: str) -> list[tuple[str, str]]:
    """Split a header value into (kind, text) lexemes: token, quoted, or a separator."""
    lexemes: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _SCANNER.match(value, pos)
        if match is None:
            raise HeaderSyntaxError(f"unexpected character at offset {pos} in {value!r}")
        kind = match.lastgroup
        if kind == "end":
            return lexemes
        text = match.group(kind or "")
        if kind == "quoted":
            text = _UNESCAPE.sub(r"\1", text)
        lexemes.append((kind or "", text))
        pos = match.end()


def _parse_extension_value(value: str) -> list[ExtensionItem]:
    """Parse one ``Sec-WebSocket-Extensions`` header line."""
    lexemes = _lex(value)
    items: list[ExtensionItem] = []
    i = 0
    while i < len(lexemes):
        kind, text = lexemes[i]
        if kind == "sep" and text == ",":
            i += 1
            continue
        if kind != "token":
            raise HeaderSyntaxError(f"expected an extension name in {value!r}")
        name = text
        params: list[tuple[str, str | None]] = []
        i += 1
        while i < len(lexemes) and lexemes[i] == ("sep", ";"):
            if i + 1 >= len(lexemes) or lexemes[i + 1][0] != "token":
                raise HeaderSyntaxError(f"expected a parameter name in {value!r}")
            param = lexemes[i + 1][1]
            i += 2
            param_value: str | None = None
            if i < len(lexemes) and lexemes[i] == ("sep", "="):
                if i + 1 >= len(lexemes) or lexemes[i + 1][0] not in ("token", "quoted"):
                    raise HeaderSyntaxError(f"expected a parameter value in {value!r}")
                param_value = lexemes[i + 1][1]
                # RFC 6455 §9.1: a quoted value, once unescaped, MUST be a token.
                if not is_token(param_value):
                    raise HeaderSyntaxError(f"parameter value {param_value!r} is not a token")
                i += 2
            params.append((param, param_value))
        if i < len(lexemes) and lexemes[i] != ("sep", ","):
            raise HeaderSyntaxError(f"expected ',' or ';' in {value!r}")
        items.append((name, tuple(params)))
    return items


def parse_extensions(values: Iterable[str]) -> list[ExtensionItem]:
    """Parse every ``Sec-WebSocket-Extensions`` header line, in order.

    Args:
        values: The header's values, one per line it was sent on.

    Returns:
        The extensions, each as ``(name, params)``.

    Raises:
        HeaderSyntaxError: A value does not follow the grammar.
    """
    return [item for value in values for item in _parse_extension_value(value)]


def serialize_extension(item: ExtensionItem) -> str:
    """Serialize one extension as ``name; param=value; flag``."""
    name, params = item
    parts = [name]
    parts.extend(param if value is None else f"{param}={value}" for param, value in params)
    return "; ".join(parts)


def serialize_extensions(items: Iterable[ExtensionItem]) -> str:
    """Serialize extensions as one ``Sec-WebSocket-Extensions`` value."""
    return ", ".join(serialize_extension(item) for item in items)


def parse_subprotocols(values: Iterable[str]) -> tuple[str, ...]:
    """Parse every ``Sec-WebSocket-Protocol`` line into the offered tokens (RFC 6455 §4.1 item 10).

    Raises:
        HeaderSyntaxError: An item is not a token.
    """
    protocols: list[str] = []
    for value in values:
        for item in value.split(","):
            protocol = item.strip(" \t")
            if not protocol:
                continue
            if not is_token(protocol):
                raise HeaderSyntaxError(f"subprotocol {protocol!r} is not a token")
            protocols.append(protocol)
    return tuple(protocols)


def choose_subprotocol(supported: Iterable[str], offered: Sequence[str]) -> str | None:
    """The first of the server's subprotocols (its order of preference) the client offered.

    RFC 6455 §4.2.2 leaves the choice to the server; preferring its own order
    lets a server move its clients to a newer subprotocol. ``None`` if none.
    """
    return next((name for name in supported if name in offered), None)


def negotiate_extensions(
    offers: Sequence[ExtensionItem], factories: Sequence[ServerExtensionFactory]
) -> tuple[list[ExtensionItem], list[Extension]]:
    """Server side: answer the client's offers (RFC 6455 §9.1).

    Offers are taken in the client's order; each extension name is accepted at
    most once, by the first offer its factory accepts.

    Returns:
        The response items for ``Sec-WebSocket-Extensions`` and the extensions, in the same order.
    """
    by_name = {factory.name: factory for factory in factories}
    response: list[ExtensionItem] = []
    extensions: list[Extension] = []
    for name, params in offers:
        factory = by_name.get(name)
        if factory is None:
            continue
        accepted = factory.accept(params)
        if accepted is None:
            continue
        response_params, extension = accepted
        response.append((name, response_params))
        extensions.append(extension)
        del by_name[name]
    return response, extensions


def accept_extensions(
    response: Sequence[ExtensionItem], factories: Sequence[ClientExtensionFactory]
) -> list[Extension]:
    """Client side: build the extensions the server accepted (RFC 6455 §4.1, §9.1).

    Raises:
        HeaderSyntaxError: The server named an extension that was not offered, or one twice.
        HandshakeError: A factory refused the server's parameters.
    """
    by_name = {factory.name: factory for factory in factories}
    extensions: list[Extension] = []
    for name, params in response:
        factory = by_name.pop(name, None)
        if factory is None:
            raise HeaderSyntaxError(
                f"the server accepted extension {name!r}, which was not offered or already accepted"
            )
        extensions.append(factory.accept(params))
    return extensions
