"""ws:// and wss:// URIs (RFC 6455 §3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.errors import InvalidURI
from wsproto_core.handshake.uri import WebSocketURI, parse_uri


def test_ws_uri_defaults_to_port_80_and_root_resource() -> None:
    assert parse_uri("ws://example.com") == WebSocketURI(False, "example.com", 80, "/")


def test_wss_uri_defaults_to_port_443() -> None:
    assert parse_uri("wss://example.com/chat") == WebSocketURI(True, "example.com", 443, "/chat")


def test_resource_name_keeps_the_query() -> None:
    assert parse_uri("ws://h/a/b?x=1&y=2").resource_name == "/a/b?x=1&y=2"


def test_empty_path_with_query_gets_a_slash() -> None:
    assert parse_uri("ws://h?x=1").resource_name == "/?x=1"


def test_scheme_and_host_are_case_insensitive() -> None:
    uri = parse_uri("WSS://Example.COM:8443/")
    assert (uri.secure, uri.host, uri.port) == (True, "example.com", 8443)


def test_explicit_port_is_kept() -> None:
    assert parse_uri("ws://h:8080/").port == 8080


def test_netloc_omits_the_default_port() -> None:
    assert parse_uri("ws://h:80/").netloc == "h"
    assert parse_uri("wss://h:443/").netloc == "h"


def test_netloc_keeps_a_non_default_port() -> None:
    assert parse_uri("wss://h:80/").netloc == "h:80"


def test_ipv6_host_is_bracketed_in_netloc() -> None:
    uri = parse_uri("ws://[::1]:9000/")
    assert uri.host == "::1"
    assert uri.netloc == "[::1]:9000"


def test_origin_is_scheme_and_netloc() -> None:
    assert parse_uri("wss://h:8443/x?y").origin == "wss://h:8443"
    assert parse_uri("ws://h/x").origin == "ws://h"


def test_str_is_the_normalized_url() -> None:
    assert str(parse_uri("WS://H:80/x?y=1")) == "ws://h/x?y=1"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://h/", "scheme"),
        ("h/", "scheme"),
        ("ws://h/#frag", "fragment"),
        ("ws://h/x#", "fragment"),
        ("ws:///path", "no host"),
        ("ws://user:pw@h/", "user information"),
        ("ws://h:0/", "port 0"),
        ("ws://h:65536/", "out of range"),
        ("ws://h:port/", "[Pp]ort"),
        ("ws://h/a b", "whitespace"),
        ("ws://h/\r\nX: y", "whitespace"),
        ("ws://h/é", "non-ASCII"),
    ],
)
def test_invalid_uri_is_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidURI, match=why) as info:
        parse_uri(url)
    assert info.value.uri == url


@given(
    st.one_of(
        st.text(),
        st.sampled_from(["ws://", "wss://", "WS://"]).flatmap(
            lambda scheme: st.text().map(lambda rest: scheme + rest)
        ),
    )
)
def test_parse_uri_raises_only_invalid_uri(url: str) -> None:
    try:
        uri = parse_uri(url)
    except InvalidURI:
        return
    assert uri.resource_name.startswith("/")
    assert parse_uri(str(uri)) == uri
