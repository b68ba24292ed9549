"""The server side of the opening handshake (RFC 6455 §4.2; draft-hixie-76 §5; draft-hixie-75)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core import ConnectionState, ServerConnection
from wsproto_core.errors import HandshakeError, InvalidState
from wsproto_core.events import HandshakeFailed, HTTPRequest, Request
from wsproto_core.extensions.base import Extension, ExtensionParams, ServerExtensionFactory
from wsproto_core.handshake.http import HandshakeArgumentError
from wsproto_core.handshake.server import ServerHandshake

if TYPE_CHECKING:
    from wsproto_core.events import Event
    from wsproto_core.versions import ProtocolVersion

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

RFC_HEADERS = (
    "Host: example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    f"Sec-WebSocket-Key: {KEY}",
    "Sec-WebSocket-Version: 13",
)

HIXIE76_REQUEST = (
    b"GET /demo HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n"
    b"Sec-WebSocket-Protocol: sample\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
    b"Origin: http://example.com\r\n"
    b"\r\n"
)
KEY3 = b"^n:ds[4U"
HIXIE76_RESPONSE = (
    b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Origin: http://example.com\r\n"
    b"Sec-WebSocket-Location: ws://example.com/demo\r\n"
    b"Sec-WebSocket-Protocol: sample\r\n"
    b"\r\n"
    b"8jKS'y:G*Co,Wxa-"
)

HIXIE75_REQUEST = (
    b"GET /demo HTTP/1.1\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Host: example.com\r\n"
    b"Origin: http://example.com\r\n"
    b"WebSocket-Protocol: sample\r\n"
    b"\r\n"
)
HIXIE75_RESPONSE = (
    b"HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n"
    b"WebSocket-Origin: http://example.com\r\n"
    b"WebSocket-Location: ws://example.com/demo\r\n"
    b"WebSocket-Protocol: sample\r\n"
    b"\r\n"
)

# RFC 9110 §15.5.22: a 426 names the protocol to upgrade to; RFC 6455 §4.4: and our versions.
UPGRADE_REQUIRED = (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13, 8, 7"))


def http(*headers: str, method: str = "GET", target: str = "/chat", version: str = "1.1") -> bytes:
    """Build a request from header lines."""
    lines = [f"{method} {target} HTTP/{version}", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def ws(*extra: str, without: tuple[str, ...] = (), version: str = "13", **kwargs: str) -> bytes:
    """An RFC 6455 request: the standard headers minus ``without``, plus ``extra``."""
    base = [h for h in RFC_HEADERS if h.split(":")[0] not in without]
    base = [h.replace("Version: 13", f"Version: {version}") for h in base]
    return http(*base, *extra, **kwargs)


def hixie76(
    *extra: str, key1: str = "4 @1  46546xW%0l 1 5", key2: str = "12998 5 Y3 1  .P00"
) -> bytes:
    """A hixie-76 request with the given keys (no key3)."""
    return http(
        "Host: example.com",
        "Upgrade: WebSocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key1: {key1}",
        f"Sec-WebSocket-Key2: {key2}",
        *extra,
    )


def refused(data: bytes, **options: bool) -> HandshakeError:
    """Feed ``data``; return the HandshakeError it must raise."""
    handshake = ServerHandshake(**options)  # type: ignore[arg-type]
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(data)
    return info.value


def accepted(data: bytes, **options: object) -> tuple[ServerHandshake, Request]:
    """Feed ``data``; return the handshake and the request it must produce."""
    handshake = ServerHandshake(**options)  # type: ignore[arg-type]
    event = handshake.receive_data(data)
    assert isinstance(event, Request)
    return handshake, event


def parse(response: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Split a response into its status line, headers and body."""
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, [tuple(line.split(": ", 1)) for line in lines], body  # type: ignore[misc]


class Dummy(Extension):
    """An extension that changes nothing."""

    name = "x-dummy"

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        return payload

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0, payload


class DummyFactory(ServerExtensionFactory):
    """Accepts every ``x-dummy`` offer, answering with ``ok``."""

    name = "x-dummy"

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        return (("ok", None),), Dummy()


# -- RFC 6455 requests ------------------------------------------------------------------------


def test_rfc6455_request_produces_the_request_event() -> None:
    _, event = accepted(ws("Origin: http://example.com"))
    assert event.target == "/chat"
    assert event.host == "example.com"
    assert event.version == 13
    assert event.origin == "http://example.com"
    assert event.headers[0] == ("Host", "example.com")


def test_request_headers_keep_their_case_and_latin1_text() -> None:
    _, event = accepted(ws("X-Name: caf\xe9"))
    assert ("X-Name", "caf\xe9") in event.headers


@pytest.mark.parametrize("version", ["13", "8", "7"])
def test_each_rfc6455_version_is_detected(version: str) -> None:
    handshake, event = accepted(ws(version=version))
    assert event.version == int(version)
    assert handshake.version == int(version)


def test_version_13_origin_comes_from_origin() -> None:
    _, event = accepted(ws("Sec-WebSocket-Origin: http://b", "Origin: http://a"))
    assert event.origin == "http://a"


@pytest.mark.parametrize("version", ["8", "7"])
def test_versions_7_and_8_origin_comes_from_sec_websocket_origin(version: str) -> None:
    _, event = accepted(ws("Origin: http://a", "Sec-WebSocket-Origin: http://b", version=version))
    assert event.origin == "http://b"


def test_version_8_origin_may_come_from_origin() -> None:
    _, event = accepted(ws("Origin: http://a", version="8"))
    assert event.origin == "http://a"


def test_request_without_origin_has_none() -> None:
    _, event = accepted(ws())
    assert event.origin is None


def test_subprotocols_are_read_from_every_header() -> None:
    _, event = accepted(ws("Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Protocol: v2"))
    assert event.subprotocols == ("chat", "superchat", "v2")


def test_extension_offers_are_listed_normalized() -> None:
    _, event = accepted(ws("Sec-WebSocket-Extensions: a;x=1, b", "Sec-WebSocket-Extensions: c"))
    assert event.extensions == ("a; x=1", "b", "c")


def test_upgrade_token_is_case_insensitive() -> None:
    accepted(ws("Upgrade: WebSocket", without=("Upgrade",)))


def test_upgrade_may_list_several_protocols() -> None:
    accepted(ws("Upgrade: h2c, websocket", without=("Upgrade",)))


def test_connection_may_list_several_tokens() -> None:
    accepted(ws("Connection: keep-alive, Upgrade", without=("Connection",)))


def test_connection_may_come_in_several_headers() -> None:
    accepted(ws("Connection: keep-alive", "Connection: upgrade", without=("Connection",)))


def test_empty_content_length_is_allowed() -> None:
    accepted(ws("Content-Length: 0"))


def test_accept_writes_the_rfc6455_101_response() -> None:
    handshake, _ = accepted(ws())
    response, extensions, subprotocol = handshake.accept()
    assert response == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\n"
        b"\r\n"
    )
    assert extensions == []
    assert subprotocol is None


@pytest.mark.parametrize("version", ["8", "7"])
def test_versions_7_and_8_use_the_same_accept_key(version: str) -> None:
    handshake, _ = accepted(ws(version=version))
    assert ("Sec-WebSocket-Accept", ACCEPT) in parse(handshake.accept()[0])[1]


def test_accept_picks_the_servers_first_preference_the_client_offered() -> None:
    handshake, _ = accepted(ws("Sec-WebSocket-Protocol: a, b, c"), subprotocols=["x", "c", "b"])
    response, _, subprotocol = handshake.accept()
    assert subprotocol == "c"
    assert ("Sec-WebSocket-Protocol", "c") in parse(response)[1]


def test_accept_picks_no_subprotocol_when_none_matches() -> None:
    handshake, _ = accepted(ws("Sec-WebSocket-Protocol: a"), subprotocols=["b"])
    response, _, subprotocol = handshake.accept()
    assert subprotocol is None
    assert "Sec-WebSocket-Protocol" not in dict(parse(response)[1])


def test_accept_takes_an_explicit_offered_subprotocol() -> None:
    handshake, _ = accepted(ws("Sec-WebSocket-Protocol: a, b"), subprotocols=["a"])
    assert handshake.accept("b")[2] == "b"


def test_accept_refuses_a_subprotocol_the_client_did_not_offer() -> None:
    handshake, _ = accepted(ws("Sec-WebSocket-Protocol: a"))
    with pytest.raises(HandshakeArgumentError, match="did not offer"):
        handshake.accept("b")
    assert isinstance(HandshakeArgumentError("x"), ValueError)


def test_accept_negotiates_extensions() -> None:
    handshake, _ = accepted(
        ws("Sec-WebSocket-Extensions: other, x-dummy; p=1"), extensions=[DummyFactory()]
    )
    response, extensions, _ = handshake.accept()
    assert ("Sec-WebSocket-Extensions", "x-dummy; ok") in parse(response)[1]
    assert [type(e) for e in extensions] == [Dummy]


class DecliningFactory(ServerExtensionFactory):
    """Declines every ``x-dummy`` offer."""

    name = "x-dummy"

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        return None


def test_accept_without_an_accepted_offer_sends_no_extensions_header() -> None:
    handshake, _ = accepted(
        ws("Sec-WebSocket-Extensions: x-dummy"), extensions=[DecliningFactory()]
    )
    response, extensions, _ = handshake.accept()
    assert "Sec-WebSocket-Extensions" not in dict(parse(response)[1])
    assert extensions == []


class NonLatin1Factory(ServerExtensionFactory):
    """Answers with a parameter value that HTTP cannot carry."""

    name = "x-dummy"

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        return (("p", "\u20ac"),), Dummy()


def test_accept_refuses_an_extension_answer_http_cannot_carry() -> None:
    handshake, _ = accepted(
        ws("Sec-WebSocket-Extensions: x-dummy"), extensions=[NonLatin1Factory()]
    )
    with pytest.raises(HandshakeArgumentError, match="latin-1"):
        handshake.accept()


def test_accept_appends_extra_headers() -> None:
    handshake, _ = accepted(ws())
    response = handshake.accept(extra_headers=[("X-Server", "test")])[0]
    assert parse(response)[1][-1] == ("X-Server", "test")


def test_accept_refuses_a_header_http_cannot_carry() -> None:
    handshake, _ = accepted(ws())
    with pytest.raises(HandshakeArgumentError):
        handshake.accept(extra_headers=[("X-Bad", "a\r\nb")])


@pytest.mark.parametrize(
    "header",
    [
        ("X-Bad", "a\nb"),
        ("X-Bad", "a\x00b"),
        ("X-Bad", " leading space"),
        ("X-Bad", "trailing tab\t"),
        ("Bad Name", "x"),
        ("", "x"),
        ("X-Snowman", "\u2603"),
    ],
)
def test_accept_checks_every_application_header(header: tuple[str, str]) -> None:
    handshake, _ = accepted(ws())
    with pytest.raises(HandshakeArgumentError):
        handshake.accept(extra_headers=[header])


def test_accept_writes_application_headers_with_inner_spaces_and_obs_text() -> None:
    handshake, _ = accepted(ws())
    response = handshake.accept(extra_headers=[("X-Note", "a  b\tc \u00e9"), ("X-Empty", "")])[0]
    assert response.endswith(b"X-Note: a  b\tc \xe9\r\nX-Empty: \r\n\r\n")


def test_reject_still_works_after_a_refused_accept_header() -> None:
    handshake, _ = accepted(ws())
    with pytest.raises(HandshakeArgumentError):
        handshake.accept(extra_headers=[("Bad Name", "x")])
    assert handshake.reject(403).startswith(b"HTTP/1.1 403 Forbidden\r\n")


def test_accept_twice_is_invalid_state() -> None:
    handshake, _ = accepted(ws())
    handshake.accept()
    with pytest.raises(InvalidState):
        handshake.accept()


def test_accept_before_a_request_is_invalid_state() -> None:
    with pytest.raises(InvalidState):
        ServerHandshake().accept()


def test_accept_of_a_plain_http_request_is_invalid_state() -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    handshake.receive_data(http("Host: h"))
    with pytest.raises(InvalidState):
        handshake.accept()


# -- refusals ---------------------------------------------------------------------------------


def test_malformed_http_is_refused_with_400() -> None:
    error = refused(b"NOT HTTP\r\n\r\n")
    assert error.status == 400
    assert "malformed" in error.reason


def test_headers_over_max_size_arriving_in_pieces_are_refused_with_431() -> None:
    handshake = ServerHandshake(max_size=1024)
    handshake.receive_data(b"GET / HTTP/1.1\r\n")
    for _ in range(9):
        assert handshake.receive_data(b"X-Filler: " + b"a" * 100 + b"\r\n") is None
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(b"X-Filler: " + b"a" * 100 + b"\r\n")
    assert info.value.status == 431


def test_headers_over_max_size_arriving_whole_are_refused_with_431() -> None:
    error = refused(ws("X-Filler: " + "a" * 2000), max_size=1024)  # type: ignore[arg-type]
    assert error.status == 431


def request_of_size(size: int) -> bytes:
    """An RFC 6455 request whose head (request line to blank line) is ``size`` bytes."""
    head = ws("X-Filler: ")
    return head[:-4] + b"a" * (size - len(head)) + b"\r\n\r\n"


def head_outcome(data: bytes, cuts: list[int]) -> int:
    """Feed ``data`` cut after each offset in ``cuts``; 101 if the request is read, else the
    refusal's status."""
    handshake = ServerHandshake(max_size=1024)
    bounds = [0, *sorted(set(cuts)), len(data)]
    try:
        for start, end in itertools.pairwise(bounds):
            if end > start:
                handshake.receive_data(data[start:end])
    except HandshakeError as exc:
        return exc.status or 400
    assert isinstance(handshake.event, Request)
    return 101


@pytest.mark.parametrize("size", [1020, 1023, 1024, 1025, 1026, 1027, 1100])
def test_the_head_size_limit_does_not_depend_on_how_the_bytes_arrive(size: int) -> None:
    # One rule: a head of at most max_size bytes is read, a longer one is refused with 431,
    # whether it comes whole, with its last byte alone, or byte by byte.
    data = request_of_size(size)
    assert len(data) == size
    expected = 431 if size > 1024 else 101
    for cuts in ([], [size - 1], list(range(1, size))):
        assert head_outcome(data, cuts) == expected, (size, cuts[:3])


@given(size=st.integers(900, 1200), cuts=st.lists(st.integers(1, 1199), max_size=8))
def test_any_chunking_of_a_head_meets_the_same_size_limit(size: int, cuts: list[int]) -> None:
    data = request_of_size(size)
    expected = 431 if size > 1024 else 101
    assert head_outcome(data, [cut for cut in cuts if cut < size]) == expected


def test_websocket_request_with_another_method_is_refused_with_405() -> None:
    error = refused(ws(method="POST"))
    assert (error.status, error.headers) == (405, (("Allow", "GET"),))


def test_http_1_0_websocket_request_is_refused_with_400() -> None:
    error = refused(ws().replace(b"HTTP/1.1", b"HTTP/1.0"))
    assert error.status == 400
    assert "HTTP/1.1" in error.reason


def test_request_without_host_is_refused_with_400() -> None:
    error = refused(ws(without=("Host",)))
    assert error.status == 400
    assert "Host" in error.reason


def test_connection_without_upgrade_is_refused_with_400() -> None:
    error = refused(ws("Connection: keep-alive", without=("Connection",)))
    assert error.status == 400
    assert "Connection" in error.reason


def test_missing_connection_is_refused_with_400() -> None:
    assert refused(ws(without=("Connection",))).status == 400


@pytest.mark.parametrize("header", ["Content-Length: 5", "Transfer-Encoding: chunked"])
def test_websocket_request_with_a_body_is_refused_with_400(header: str) -> None:
    error = refused(ws(header))
    assert error.status == 400
    assert "body" in error.reason


@pytest.mark.parametrize("version", ["14", "6", "0", "abc", "13, 8"])
def test_unsupported_version_is_refused_with_426_listing_ours(version: str) -> None:
    error = refused(ws(version=version))
    assert error.status == 426
    assert error.headers == UPGRADE_REQUIRED


def test_two_version_headers_are_refused_with_426() -> None:
    error = refused(ws("Sec-WebSocket-Version: 8"))
    assert (error.status, error.headers) == (426, UPGRADE_REQUIRED)


def test_key_without_version_is_refused_with_426() -> None:
    error = refused(ws(without=("Sec-WebSocket-Version",)))
    assert (error.status, error.headers) == (426, UPGRADE_REQUIRED)


def test_version_without_key_is_refused_with_400() -> None:
    error = refused(ws(without=("Sec-WebSocket-Key",)))
    assert error.status == 400
    assert "Sec-WebSocket-Key" in error.reason


def test_two_keys_are_refused_with_400() -> None:
    error = refused(ws(f"Sec-WebSocket-Key: {KEY}"))
    assert error.status == 400
    assert "exactly one" in error.reason


@pytest.mark.parametrize(
    "key",
    [
        "AAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAA=",
        "not base64 at all!",
        "AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_key_not_base64_of_16_bytes_is_refused_with_400(key: str) -> None:
    error = refused(ws(f"Sec-WebSocket-Key: {key}", without=("Sec-WebSocket-Key",)))
    assert error.status == 400
    assert "base64" in error.reason


def test_invalid_subprotocol_header_is_refused_with_400() -> None:
    assert refused(ws("Sec-WebSocket-Protocol: a b")).status == 400


def test_invalid_extension_header_is_refused_with_400() -> None:
    assert refused(ws("Sec-WebSocket-Extensions: a;;")).status == 400


def test_plain_get_is_refused_with_426_naming_websocket() -> None:
    error = refused(http("Host: h"))
    assert error.status == 426
    assert error.headers == (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13, 8, 7"))


def test_plain_request_with_another_method_is_refused_with_405() -> None:
    error = refused(http("Host: h", method="POST"))
    assert (error.status, error.headers) == (405, (("Allow", "GET"),))


def test_upgrade_to_another_protocol_is_refused_with_426() -> None:
    assert refused(http("Host: h", "Upgrade: h2c", "Connection: Upgrade")).status == 426


def test_eof_before_any_byte_is_refused_with_400() -> None:
    error = refused(b"")
    assert (error.status, error.reason) == (400, "connection closed during the handshake")


def test_refuse_after_eof_still_writes_a_response() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(b"GET / HT")
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(b"")
    assert handshake.refuse(info.value).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_eof_within_the_headers_is_refused_with_400() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(ws()[:30])
    with pytest.raises(HandshakeError, match="connection closed during the handshake") as info:
        handshake.receive_data(b"")
    assert info.value.status == 400


def test_error_is_raised_again_on_later_calls() -> None:
    handshake = ServerHandshake()
    with pytest.raises(HandshakeError) as first:
        handshake.receive_data(http("Host: h"))
    with pytest.raises(HandshakeError) as second:
        handshake.receive_data(ws())
    assert second.value is first.value


def test_refuse_writes_status_headers_and_reason_as_body() -> None:
    handshake = ServerHandshake()
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(ws(version="99"))
    response = handshake.refuse(info.value)
    body = info.value.reason.encode()
    assert response == (
        b"HTTP/1.1 426 Upgrade Required\r\n"
        b"Upgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13, 8, 7\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: Upgrade, close\r\n"
        b"\r\n" + body
    )


def test_refuse_answers_malformed_http() -> None:
    handshake = ServerHandshake()
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(b"\x00\x01\x02\r\n\r\n")
    assert handshake.refuse(info.value).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_refuse_of_an_error_without_status_uses_400() -> None:
    handshake = ServerHandshake()
    assert handshake.refuse(HandshakeError("x", None)).startswith(b"HTTP/1.1 400 ")


# -- plain HTTP -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_plain_request_is_handed_over_when_plain_http_is_accepted(method: str) -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    event = handshake.receive_data(
        http("Host: h", "Accept: text/html", method=method, target="/i?q")
    )
    assert event == HTTPRequest(method, "/i?q", (("Host", "h"), ("Accept", "text/html")))
    assert handshake.event == event


def test_plain_http_1_0_request_is_handed_over() -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    assert isinstance(handshake.receive_data(http(version="1.0")), HTTPRequest)


def test_plain_request_with_another_method_is_refused_with_405_when_plain_http_is_accepted() -> (
    None
):
    error = refused(http("Host: h", method="DELETE"), accept_plain_http=True)
    assert (error.status, error.headers) == (405, (("Allow", "GET, HEAD"),))


def test_upgrade_to_another_protocol_is_plain_http_when_accepted() -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    assert isinstance(handshake.receive_data(http("Host: h", "Upgrade: h2c")), HTTPRequest)


def test_websocket_request_is_still_a_request_when_plain_http_is_accepted() -> None:
    accepted(ws(), accept_plain_http=True)


def test_a_204_response_has_no_content_length() -> None:
    # RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204 response.
    handshake = ServerHandshake(accept_plain_http=True)
    handshake.receive_data(http("Host: h"))
    response = handshake.reject(204, [("Content-Length", "0")])
    assert response == b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"


def test_reject_answers_a_plain_request_with_a_body() -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    handshake.receive_data(http("Host: h"))
    response = handshake.reject(200, [("Content-Type", "text/html")], b"<p>hi</p>")
    assert response == (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html\r\n"
        b"Content-Length: 9\r\n"
        b"Connection: close\r\n"
        b"\r\n"
        b"<p>hi</p>"
    )


def test_reject_of_head_sends_the_length_but_no_body() -> None:
    handshake = ServerHandshake(accept_plain_http=True)
    handshake.receive_data(http("Host: h", method="HEAD"))
    response = handshake.reject(200, [], b"<p>hi</p>")
    assert response == b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        ws("Connection: close"),  # a client that will not keep the connection alive
        http("Host: h", method="HEAD", version="1.0"),
        http("Host: h", "Connection: Upgrade, close", "Upgrade: h2c") + b"pipelined",
    ],
)
def test_reject_writes_what_h11_writes_after_reading_the_same_request(
    request_bytes: bytes,
) -> None:
    # The head is read without h11.Connection; the response still comes from an h11
    # connection that read that head, so h11 frames it as it always did.
    handshake = ServerHandshake(accept_plain_http=True)
    for index in range(len(request_bytes)):  # in pieces: the head is kept whole for h11
        handshake.receive_data(request_bytes[index : index + 1])
    headers = [("Upgrade", "websocket"), ("X", "y")]
    response = handshake.reject(426, headers, b"upgrade")
    reference = h11.Connection(h11.SERVER)
    reference.receive_data(request_bytes)
    method = reference.next_event().method  # type: ignore[union-attr]
    framing = [("Content-Length", "7"), ("Connection", "Upgrade, close")]
    expected = reference.send(
        h11.Response(status_code=426, headers=[*headers, *framing], reason=b"Upgrade Required")
    )
    if method != b"HEAD":
        expected += reference.send(h11.Data(data=b"upgrade"))
    expected += reference.send(h11.EndOfMessage())
    assert response == expected


def test_reject_replaces_the_applications_framing_headers() -> None:
    handshake, _ = accepted(ws())
    response = handshake.reject(
        403, [("content-length", "99"), ("Connection", "keep-alive"), ("X", "y")], b"no"
    )
    assert parse(response)[1] == [("X", "y"), ("Content-Length", "2"), ("Connection", "close")]


def test_reject_with_an_unknown_status_has_an_empty_reason() -> None:
    handshake, _ = accepted(ws())
    assert handshake.reject(599).startswith(b"HTTP/1.1 599 \r\n")


@pytest.mark.parametrize(
    ("status", "body"), [(101, b""), (199, b""), (600, b""), (204, b"x"), (304, b"x")]
)
def test_reject_refuses_a_status_it_cannot_send(status: int, body: bytes) -> None:
    handshake, _ = accepted(ws())
    with pytest.raises(HandshakeArgumentError):
        handshake.reject(status, body=body)


def test_reject_before_a_request_is_allowed() -> None:
    assert ServerHandshake().reject(503).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")


def test_reject_after_accept_is_invalid_state() -> None:
    handshake, _ = accepted(ws())
    handshake.accept()
    with pytest.raises(InvalidState):
        handshake.reject(403)


def test_reject_twice_is_invalid_state() -> None:
    handshake, _ = accepted(ws())
    handshake.reject(403)
    with pytest.raises(InvalidState):
        handshake.reject(403)


# -- trailing bytes ---------------------------------------------------------------------------


def test_bytes_after_the_request_are_kept_in_trailing() -> None:
    handshake, _ = accepted(ws() + b"\x81\x85frame")
    assert handshake.trailing == b"\x81\x85frame"


def test_bytes_after_the_request_event_are_appended_to_trailing() -> None:
    handshake, _ = accepted(ws() + b"one")
    assert handshake.receive_data(b"two") is None
    assert handshake.trailing == b"onetwo"


def test_request_split_in_single_bytes_is_read() -> None:
    handshake = ServerHandshake()
    data = ws() + b"tail"
    results = [handshake.receive_data(data[i : i + 1]) for i in range(len(data))]
    assert sum(isinstance(r, Request) for r in results) == 1
    assert handshake.trailing == b"tail"


# -- draft-hixie-76 ---------------------------------------------------------------------------


def test_hixie76_spec_example_byte_for_byte() -> None:
    handshake, event = accepted(HIXIE76_REQUEST + KEY3, subprotocols=["sample"])
    assert event.version == "hixie-76"
    assert event.origin == "http://example.com"
    assert event.subprotocols == ("sample",)
    response, extensions, subprotocol = handshake.accept()
    assert response == HIXIE76_RESPONSE
    assert (extensions, subprotocol) == ([], "sample")


@pytest.mark.parametrize("split", range(len(KEY3) + 1))
@pytest.mark.parametrize("frames", [b"", b"\x00hello\xff"])
def test_hixie76_key3_in_every_split_is_read_and_frames_kept(split: int, frames: bytes) -> None:
    handshake = ServerHandshake()
    first = handshake.receive_data(HIXIE76_REQUEST + KEY3[:split])
    if split < len(KEY3):
        assert first is None
        assert handshake.event is None
        assert handshake.version == "hixie-76"
        assert isinstance(handshake.receive_data(KEY3[split:] + frames), Request)
    else:
        assert isinstance(first, Request)
        handshake.receive_data(frames)
    assert handshake.trailing == frames
    assert handshake.accept("sample")[0] == HIXIE76_RESPONSE


def test_hixie76_key3_one_byte_at_a_time() -> None:
    handshake = ServerHandshake()
    assert handshake.receive_data(HIXIE76_REQUEST) is None
    results = [handshake.receive_data(KEY3[i : i + 1]) for i in range(len(KEY3))]
    assert results[:-1] == [None] * 7
    assert isinstance(results[-1], Request)
    assert handshake.trailing == b""


def test_hixie76_eof_before_key3_is_complete_is_refused_with_400() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(HIXIE76_REQUEST + KEY3[:5])
    with pytest.raises(HandshakeError, match="connection closed during the handshake") as info:
        handshake.receive_data(b"")
    assert info.value.status == 400


def test_hixie76_accept_before_key3_is_invalid_state() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(HIXIE76_REQUEST)
    with pytest.raises(InvalidState):
        handshake.accept()


def test_hixie76_without_origin_sends_no_origin() -> None:
    handshake, _ = accepted(hixie76() + KEY3)
    headers = dict(parse(handshake.accept()[0])[1])
    assert "Sec-WebSocket-Origin" not in headers


def test_hixie76_secure_location_is_wss() -> None:
    handshake, _ = accepted(HIXIE76_REQUEST + KEY3, secure=True)
    assert ("Sec-WebSocket-Location", "wss://example.com/demo") in parse(handshake.accept()[0])[1]


def test_hixie76_protocol_value_is_one_subprotocol() -> None:
    _, event = accepted(hixie76("Sec-WebSocket-Protocol: a, b") + KEY3)
    assert event.subprotocols == ("a, b",)


def test_hixie76_ignores_extension_offers() -> None:
    handshake, _ = accepted(
        hixie76("Sec-WebSocket-Extensions: x-dummy") + KEY3, extensions=[DummyFactory()]
    )
    response, extensions, _ = handshake.accept()
    assert extensions == []
    assert b"Extensions" not in response


def test_hixie76_disabled_is_refused_with_400() -> None:
    error = refused(HIXIE76_REQUEST + KEY3, allow_draft76=False)
    assert error.status == 400
    assert "hixie-76" in error.reason


@pytest.mark.parametrize(
    ("key1", "rule"),
    [
        ("abc def", "no digits"),
        ("42949 67296", "greater than 4294967295"),
        ("12345", "no spaces"),
        ("7 x x", "not an integral multiple"),
    ],
)
def test_hixie76_invalid_key1_is_refused_with_400_naming_the_rule(key1: str, rule: str) -> None:
    error = refused(hixie76(key1=key1) + KEY3)
    assert error.status == 400
    assert "Sec-WebSocket-Key1" in error.reason
    assert rule in error.reason


def test_hixie76_invalid_key2_is_refused_with_400() -> None:
    error = refused(hixie76(key2="12345") + KEY3)
    assert error.status == 400
    assert "Sec-WebSocket-Key2" in error.reason


def test_hixie76_missing_key2_is_refused_with_400() -> None:
    request = HIXIE76_REQUEST.replace(b"Sec-WebSocket-Key2", b"X-Other")
    error = refused(request + KEY3)
    assert error.status == 400
    assert "Sec-WebSocket-Key2" in error.reason


def test_hixie76_duplicate_key1_is_refused_with_400() -> None:
    assert refused(hixie76("Sec-WebSocket-Key1: 1 1") + KEY3).status == 400


# -- draft-hixie-75 ---------------------------------------------------------------------------


def test_hixie75_spec_example_byte_for_byte() -> None:
    handshake, event = accepted(HIXIE75_REQUEST + b"\x00hi\xff", allow_draft75=True)
    assert event.version == "hixie-75"
    assert event.subprotocols == ("sample",)
    assert handshake.trailing == b"\x00hi\xff"
    assert handshake.accept("sample")[0] == HIXIE75_RESPONSE


def test_hixie75_secure_location_is_wss() -> None:
    handshake, _ = accepted(HIXIE75_REQUEST, allow_draft75=True, secure=True)
    assert ("WebSocket-Location", "wss://example.com/demo") in parse(handshake.accept()[0])[1]


def test_hixie75_disabled_is_refused_with_400() -> None:
    error = refused(HIXIE75_REQUEST)
    assert error.status == 400
    assert "hixie-75" in error.reason


# -- embedding --------------------------------------------------------------------------------


def test_from_request_with_text_headers() -> None:
    headers = [tuple(line.split(": ", 1)) for line in RFC_HEADERS]
    handshake = ServerHandshake.from_request("GET", "/chat", headers, b"frames")  # type: ignore[arg-type]
    assert isinstance(handshake.event, Request)
    assert handshake.event.version == 13
    assert handshake.trailing == b"frames"


def test_from_request_with_bytes_headers() -> None:
    headers = [
        (b"host", b"h"),
        (b"upgrade", b"websocket"),
        (b"connection", b"upgrade"),
        (b"sec-websocket-key", KEY.encode()),
        (b"sec-websocket-version", b"13"),
    ]
    handshake = ServerHandshake.from_request("GET", "/", headers, subprotocols=["a"])
    assert isinstance(handshake.event, Request)
    assert handshake.event.headers[0] == ("host", "h")


def test_from_request_waits_for_an_incomplete_hixie76_key3() -> None:
    head, _, _ = HIXIE76_REQUEST.partition(b"\r\n\r\n")
    headers = [tuple(line.split(b": ", 1)) for line in head.split(b"\r\n")[1:]]
    handshake = ServerHandshake.from_request("GET", "/demo", headers, KEY3[:3])  # type: ignore[arg-type]
    assert handshake.event is None
    assert isinstance(handshake.receive_data(KEY3[3:]), Request)
    assert handshake.accept("sample")[0] == HIXIE76_RESPONSE


def test_from_request_validates_at_once() -> None:
    with pytest.raises(HandshakeError) as info:
        ServerHandshake.from_request("GET", "/", [("Host", "h")])
    assert info.value.status == 426


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", [("Upgrade", "websocket")]),
        ("GET", [("Host", "a\r\nb")]),
        ("G T", [("Host", "h")]),
        ("GET", [("Host", "\u20ac")]),
    ],
)
def test_from_request_of_an_unwritable_request_is_refused_with_400(
    method: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(HandshakeError) as info:
        ServerHandshake.from_request(method, "/", headers)
    assert info.value.status == 400


def test_receive_request_leaves_the_handshake_able_to_refuse() -> None:
    handshake = ServerHandshake()
    with pytest.raises(HandshakeError) as info:
        handshake.receive_request("POST", "/", [("Host", "h")])
    assert handshake.refuse(info.value).startswith(
        b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
    )


# -- a ServerConnection's handshake, as the wire and the application see it ----------------------
#
# The conformance kit's handshake group judges the status line of a refusal; these check the
# rest, on a ServerConnection: the response byte for byte, however the request arrives; the
# refusals' headers, the HandshakeFailed event, the state and should_close_transport.

_RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
_RFC_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
)


def _reads(data: bytes, how: str, head: int) -> list[bytes]:
    if how == "one":
        return [data]
    if how == "octet":
        return [data[i : i + 1] for i in range(len(data))]
    return [data[:head], data[head:]]  # "body-later": the head, then what follows it


def _fed(server: ServerConnection, reads: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for data in reads:
        if data:
            server.receive_data(data)
            events.extend(server.events())
    return events


@pytest.mark.parametrize(
    ("request_bytes", "head", "subprotocols", "response", "version"),
    [
        pytest.param(
            _RFC_REQUEST, len(_RFC_REQUEST), ["chat"], _RFC_RESPONSE, 13, id="rfc6455-1.3"
        ),
        pytest.param(
            HIXIE76_REQUEST + KEY3,
            len(HIXIE76_REQUEST),
            ["sample"],
            HIXIE76_RESPONSE,
            "hixie-76",
            id="hixie76-1.2",
        ),
    ],
)
@pytest.mark.parametrize("how", ["one", "octet", "body-later"])
def test_connection_answers_the_spec_example_byte_for_byte(
    request_bytes: bytes,
    head: int,
    subprotocols: list[str],
    response: bytes,
    version: ProtocolVersion,
    how: str,
) -> None:
    server = ServerConnection(subprotocols=subprotocols)
    [request] = _fed(server, _reads(request_bytes, how, head))
    assert isinstance(request, Request)
    assert request.version == version
    assert server.data_to_send() == b""
    server.accept()
    assert server.data_to_send() == response
    assert list(server.events()) == []
    assert server.state is ConnectionState.OPEN
    assert not server.should_close_transport


def _upgrade_request(method: bytes = b"GET", version: bytes | None = b"13") -> bytes:
    lines = [
        method + b" /chat HTTP/1.1",
        b"Host: server.example.com",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ]
    if version is not None:
        lines.append(b"Sec-WebSocket-Version: " + version)
    return b"\r\n".join(lines) + b"\r\n\r\n"


_REFUSALS_426 = {
    **{
        f"version-{v.decode().replace(', ', '-')}": _upgrade_request(version=v)
        for v in (b"12", b"14", b"0", b"6", b"9", b"13, 8", b"abc")
    },
    "version-missing": _upgrade_request(version=None),
    "plain-get": b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n",
}
_REFUSALS_405 = {
    f"method-{m.decode().lower()}": _upgrade_request(method=m)
    for m in (b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS")
}


def _connection_refuses(request_bytes: bytes, status: int) -> tuple[str, list[tuple[str, str]]]:
    """Feed ``request_bytes`` to a ServerConnection that must refuse it with ``status``."""
    server = ServerConnection()
    events = _fed(server, [request_bytes])
    assert [(type(e), getattr(e, "status", None)) for e in events] == [(HandshakeFailed, status)]
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport
    head = server.data_to_send().partition(b"\r\n\r\n")[0].decode("latin-1")
    status_line, *lines = head.split("\r\n")
    headers = [(n.lower(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
    return status_line, headers


@pytest.mark.parametrize("request_bytes", _REFUSALS_426.values(), ids=_REFUSALS_426.keys())
def test_connection_426_names_the_upgrade_and_lists_13_8_7(request_bytes: bytes) -> None:
    # RFC 6455 §4.4 and SPEC_NOTES: the versions we speak, all three, in one header.
    # RFC 9110 §15.5.22: "The server MUST send an Upgrade header field in a 426
    # response"; §7.8: "a sender of Upgrade MUST also send an 'upgrade' connection option".
    status, headers = _connection_refuses(request_bytes, 426)
    assert status == "HTTP/1.1 426 Upgrade Required"
    assert [v for n, v in headers if n == "sec-websocket-version"] == ["13, 8, 7"]
    assert [v.lower() for n, v in headers if n == "upgrade"] == ["websocket"]
    connection = [t.strip().lower() for n, v in headers if n == "connection" for t in v.split(",")]
    assert "upgrade" in connection


@pytest.mark.parametrize("request_bytes", _REFUSALS_405.values(), ids=_REFUSALS_405.keys())
def test_connection_405_allows_get(request_bytes: bytes) -> None:
    # RFC 6455 §4.2.1 item 1: the handshake is a GET; RFC 9110 §15.5.6: 405 lists Allow.
    status, headers = _connection_refuses(request_bytes, 405)
    assert status == "HTTP/1.1 405 Method Not Allowed"
    assert [v for n, v in headers if n == "allow"] == ["GET"]
