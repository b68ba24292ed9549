"""Subprotocols and the Sec-WebSocket-Extensions grammar (RFC 6455 §9.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.errors import HandshakeError
from wsproto_core.extensions.base import (
    ClientExtensionFactory,
    Extension,
    ExtensionParams,
    ServerExtensionFactory,
)
from wsproto_core.handshake.negotiation import (
    ExtensionItem,
    HeaderSyntaxError,
    accept_extensions,
    negotiate_extensions,
    parse_extensions,
    parse_subprotocols,
    serialize_extension,
    serialize_extensions,
)


class Dummy(Extension):
    """An extension that records its parameters and changes nothing."""

    def __init__(self, name: str, params: ExtensionParams) -> None:
        self.name = name
        self.params = params

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        return payload

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0, payload


class ServerFactory(ServerExtensionFactory):
    """Accepts offers whose parameters do not include ``refuse``; answers with ``ok``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        if ("refuse", None) in offer:
            return None
        return (("ok", None),), Dummy(self.name, offer)


class ClientFactory(ClientExtensionFactory):
    """Offers ``x=1``; refuses a response containing ``bad``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def offer(self) -> ExtensionParams:
        return (("x", "1"),)

    def accept(self, response: ExtensionParams) -> Extension:
        if ("bad", None) in response:
            raise HandshakeError("bad parameter")
        return Dummy(self.name, response)


def test_parse_extension_with_parameters() -> None:
    assert parse_extensions(
        ["permessage-deflate; client_max_window_bits; server_max_window_bits=10"]
    ) == [
        ("permessage-deflate", (("client_max_window_bits", None), ("server_max_window_bits", "10")))
    ]


def test_parse_extension_list_in_order() -> None:
    assert parse_extensions(["a, b;x=1", "c"]) == [("a", ()), ("b", (("x", "1"),)), ("c", ())]


def test_parse_extension_quoted_value_is_unescaped() -> None:
    assert parse_extensions(['a; x="1\\0"']) == [("a", (("x", "10"),))]


def test_parse_extension_allows_whitespace_around_separators() -> None:
    assert parse_extensions([" a ;\tx = 1 , b "]) == [("a", (("x", "1"),)), ("b", ())]


def test_parse_extension_skips_empty_list_items() -> None:
    assert parse_extensions([", a,, ,b,"]) == [("a", ()), ("b", ())]


def test_parse_empty_extension_header_is_empty() -> None:
    assert parse_extensions([""]) == []


@pytest.mark.parametrize(
    "value",
    [
        "a b",  # two tokens without a separator
        ";x",  # a parameter without an extension
        "a;",  # ";" without a parameter
        "a;=1",  # a value without a parameter name
        "a;x=",  # "=" without a value
        "a;x=1=2",
        'a;x="1 2"',  # a quoted value that is not a token
        'a;x="1',  # an unterminated quoted string
        'a;"x"=1',  # a quoted parameter name
        "a;x=@",  # a separator that is not a token character
        "a\n",
        "a;x=1 b",
    ],
)
def test_parse_invalid_extension_header_raises(value: str) -> None:
    with pytest.raises(HeaderSyntaxError):
        parse_extensions([value])


def test_serialize_extension_writes_bare_and_valued_parameters() -> None:
    assert serialize_extension(("e", (("a", None), ("b", "2")))) == "e; a; b=2"


def test_serialize_extensions_joins_with_commas() -> None:
    assert serialize_extensions([("a", ()), ("b", (("x", "1"),))]) == "a, b; x=1"


def test_parse_subprotocols_across_headers() -> None:
    assert parse_subprotocols(["chat, superchat", " v2.json ,"]) == ("chat", "superchat", "v2.json")


def test_parse_invalid_subprotocol_raises() -> None:
    with pytest.raises(HeaderSyntaxError):
        parse_subprotocols(["chat, a b"])


def test_server_accepts_offers_its_factories_accept() -> None:
    items, extensions = negotiate_extensions([("a", (("p", "1"),))], [ServerFactory("a")])
    assert items == [("a", (("ok", None),))]
    assert [(e.name, e.params) for e in extensions] == [("a", (("p", "1"),))]  # type: ignore[attr-defined]


def test_server_ignores_offers_without_a_factory() -> None:
    assert negotiate_extensions([("unknown", ())], [ServerFactory("a")]) == ([], [])


def test_server_takes_the_first_acceptable_offer_of_an_extension() -> None:
    offers: list[ExtensionItem] = [
        ("a", (("refuse", None),)),
        ("a", (("p", "2"),)),
        ("a", (("p", "3"),)),
    ]
    items, extensions = negotiate_extensions(offers, [ServerFactory("a")])
    assert items == [("a", (("ok", None),))]
    assert extensions[0].params == (("p", "2"),)  # type: ignore[attr-defined]


def test_server_keeps_the_clients_order() -> None:
    items, _ = negotiate_extensions(
        [("b", ()), ("a", ())], [ServerFactory("a"), ServerFactory("b")]
    )
    assert [name for name, _ in items] == ["b", "a"]


def test_client_builds_the_extensions_the_server_accepted() -> None:
    extensions = accept_extensions([("a", (("y", "2"),))], [ClientFactory("a"), ClientFactory("b")])
    assert [(e.name, e.params) for e in extensions] == [("a", (("y", "2"),))]  # type: ignore[attr-defined]


def test_client_refuses_an_extension_it_did_not_offer() -> None:
    with pytest.raises(HeaderSyntaxError, match="not offered"):
        accept_extensions([("c", ())], [ClientFactory("a")])


def test_client_refuses_an_extension_accepted_twice() -> None:
    with pytest.raises(HeaderSyntaxError, match="already accepted"):
        accept_extensions([("a", ()), ("a", ())], [ClientFactory("a")])


def test_client_factory_refusal_propagates() -> None:
    with pytest.raises(HandshakeError, match="bad parameter"):
        accept_extensions([("a", (("bad", None),))], [ClientFactory("a")])


_tokens = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", fullmatch=True)
_items = st.lists(
    st.tuples(
        _tokens,
        st.lists(st.tuples(_tokens, st.none() | _tokens), max_size=4).map(tuple),
    ),
    max_size=5,
)


@given(_items)
def test_extension_parser_round_trips_the_serializer(items: list[ExtensionItem]) -> None:
    assert parse_extensions([serialize_extensions(items)]) == items


@given(st.text())
def test_extension_parser_raises_only_header_syntax_error(value: str) -> None:
    try:
        items = parse_extensions([value])
    except HeaderSyntaxError:
        return
    assert parse_extensions([serialize_extensions(items)]) == items
