"""The client side of the opening handshake (RFC 6455 §4.1; draft-hixie-76 §4.1; draft-hixie-75)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest

from wsproto_core.errors import HandshakeError
from wsproto_core.events import Accept, Reject
from wsproto_core.extensions.base import ClientExtensionFactory, Extension, ExtensionParams
from wsproto_core.handshake import hixie
from wsproto_core.handshake.client import ClientHandshake
from wsproto_core.handshake.http import HandshakeArgumentError
from wsproto_core.handshake.rfc6455 import accept_key
from wsproto_core.handshake.uri import parse_uri

if TYPE_CHECKING:
    from wsproto_core.versions import ProtocolVersion

URI = parse_uri("ws://example.com/chat?room=1")
NONCE = b"the sample nonce"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def fixed(n: int) -> bytes:
    """Randomness that always gives the RFC 6455 §1.3 sample nonce."""
    return (NONCE * (n // 16 + 1))[:n]


def client(**options: object) -> ClientHandshake:
    """A client with deterministic randomness."""
    options.setdefault("random_bytes", fixed)
    return ClientHandshake(URI, **options)  # type: ignore[arg-type]


def response(*headers: str, status: str = "101 Switching Protocols", accept: bool = True) -> bytes:
    """A response: the standard 101 headers (or none for other statuses), plus ``headers``."""
    lines = [f"HTTP/1.1 {status}"]
    if status.startswith("101"):
        lines += ["Upgrade: websocket", "Connection: Upgrade"]
        if accept:
            lines.append(f"Sec-WebSocket-Accept: {ACCEPT}")
    return "\r\n".join([*lines, *headers, "", ""]).encode("latin-1")


def failure(data: bytes, **options: object) -> HandshakeError:
    """Feed ``data`` to a client; return the HandshakeError it must raise."""
    handshake = client(**options)
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(data)
    return info.value


class Dummy(Extension):
    """An extension that changes nothing."""

    def __init__(self, params: ExtensionParams) -> None:
        self.name = "x-dummy"
        self.params = params

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        return payload

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0, payload


class DummyFactory(ClientExtensionFactory):
    """Offers ``x-dummy; a=1``; refuses a response with ``bad``."""

    name = "x-dummy"

    def offer(self) -> ExtensionParams:
        return (("a", "1"),)

    def accept(self, response: ExtensionParams) -> Extension:
        if ("bad", None) in response:
            raise HandshakeError("bad parameter")
        return Dummy(response)


# -- the request ------------------------------------------------------------------------------


def test_rfc6455_request_byte_for_byte() -> None:
    assert client().request == (
        b"GET /chat?room=1 HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + KEY.encode() + b"\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"\r\n"
    )


def test_key_is_base64_of_16_random_bytes() -> None:
    request = ClientHandshake(URI).request
    key = request.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0]
    assert len(base64.b64decode(key, validate=True)) == 16


def test_host_header_carries_a_non_default_port() -> None:
    handshake = ClientHandshake(parse_uri("wss://[::1]:8443/"))
    assert b"\r\nHost: [::1]:8443\r\n" in handshake.request


@pytest.mark.parametrize("version", [8, 7])
def test_versions_7_and_8_send_their_version(version: ProtocolVersion) -> None:
    assert f"\r\nSec-WebSocket-Version: {version}\r\n".encode() in client(version=version).request


def test_version_13_sends_origin() -> None:
    assert b"\r\nOrigin: http://o\r\n" in client(origin="http://o").request


@pytest.mark.parametrize("version", [8, 7])
def test_versions_7_and_8_send_sec_websocket_origin(version: ProtocolVersion) -> None:
    request = client(origin="http://o", version=version).request
    assert b"\r\nSec-WebSocket-Origin: http://o\r\n" in request
    assert b"\r\nOrigin:" not in request


def test_subprotocols_are_offered_in_order() -> None:
    assert b"\r\nSec-WebSocket-Protocol: b, a\r\n" in client(subprotocols=["b", "a"]).request


def test_extensions_are_offered() -> None:
    request = client(extensions=[DummyFactory()]).request
    assert b"\r\nSec-WebSocket-Extensions: x-dummy; a=1\r\n" in request


def test_extra_headers_come_last() -> None:
    request = client(extra_headers=[("Authorization", "Bearer x")]).request
    assert request.endswith(b"\r\nAuthorization: Bearer x\r\n\r\n")


def test_hixie76_request_has_two_keys_and_key3() -> None:
    handshake = client(version="hixie-76", origin="http://o", subprotocols=["chat"])
    head, _, key3 = handshake.request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[:6] == [
        "GET /chat?room=1 HTTP/1.1",
        "Host: example.com",
        "Upgrade: WebSocket",
        "Connection: Upgrade",
        "Origin: http://o",
        "Sec-WebSocket-Protocol: chat",
    ]
    keys = dict(line.split(": ", 1) for line in lines[6:])
    hixie.key_part(keys["Sec-WebSocket-Key1"])
    hixie.key_part(keys["Sec-WebSocket-Key2"])
    assert len(key3) == 8


def test_hixie75_request_has_no_keys() -> None:
    handshake = client(version="hixie-75", origin="http://o", subprotocols=["chat"])
    assert handshake.request == (
        b"GET /chat?room=1 HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"Upgrade: WebSocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Origin: http://o\r\n"
        b"WebSocket-Protocol: chat\r\n"
        b"\r\n"
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"version": 12}, "unsupported"),
        ({"version": "hixie-76", "subprotocols": ["a", "b"]}, "single subprotocol"),
        ({"subprotocols": ["a b"]}, "not a token"),
        ({"extra_headers": [("X", "a\r\nb")]}, "invalid request header"),
        ({"origin": "http://\u20ac"}, "latin-1"),
    ],
)
def test_unusable_argument_raises(options: dict[str, object], match: str) -> None:
    with pytest.raises(HandshakeArgumentError, match=match):
        client(**options)


@pytest.mark.parametrize("version", ["hixie-76", "hixie-75", 8, 7])
def test_extensions_are_offered_only_in_the_versions_their_factory_lists(
    version: ProtocolVersion,
) -> None:
    factory = DummyFactory()
    factory.versions = (13,)
    request = client(version=version, extensions=[factory]).request
    assert b"Extensions" not in request
    assert b"Sec-WebSocket-Extensions: x-dummy; a=1" in client(extensions=[factory]).request


# -- accepting the response -------------------------------------------------------------------


def test_valid_101_is_accepted() -> None:
    handshake = client()
    event = handshake.receive_data(response())
    assert event == Accept(
        None,
        (),
        (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)),
    )
    assert handshake.extensions == []
    assert handshake.subprotocol is None


def test_upgrade_and_connection_are_case_insensitive_lists() -> None:
    raw = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
        b"Connection: keep-alive, UPGRADE\r\nSec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\n\r\n"
    )
    assert isinstance(client().receive_data(raw), Accept)


def test_subprotocol_the_server_chose_is_accepted() -> None:
    handshake = client(subprotocols=["a", "b"])
    event = handshake.receive_data(response("Sec-WebSocket-Protocol: b"))
    assert isinstance(event, Accept)
    assert event.subprotocol == handshake.subprotocol == "b"


def test_extensions_the_server_accepted_are_built() -> None:
    handshake = client(extensions=[DummyFactory()])
    event = handshake.receive_data(response("Sec-WebSocket-Extensions: x-dummy; b=2"))
    assert isinstance(event, Accept)
    assert event.extensions == ("x-dummy; b=2",)
    assert [e.params for e in handshake.extensions] == [(("b", "2"),)]  # type: ignore[attr-defined]


def test_informational_responses_before_the_101_are_skipped() -> None:
    assert isinstance(client().receive_data(b"HTTP/1.1 100 Continue\r\n\r\n" + response()), Accept)


def test_response_split_in_single_bytes_is_read() -> None:
    handshake = client()
    data = response() + b"\x81\x00"
    results = [handshake.receive_data(data[i : i + 1]) for i in range(len(data))]
    assert sum(isinstance(r, Accept) for r in results) == 1
    assert handshake.trailing == b"\x81\x00"


def test_bytes_after_the_101_are_kept_in_trailing() -> None:
    handshake = client()
    handshake.receive_data(response() + b"\x81\x02hi")
    assert handshake.trailing == b"\x81\x02hi"


def test_bytes_after_acceptance_are_appended_to_trailing() -> None:
    handshake = client()
    handshake.receive_data(response() + b"one")
    assert handshake.receive_data(b"two") is None
    assert handshake.trailing == b"onetwo"


# -- invalid 101 responses --------------------------------------------------------------------


def test_101_without_upgrade_websocket_fails() -> None:
    raw = (
        b"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"
    )
    error = failure(raw)
    assert (error.status, "Upgrade" in error.reason) == (101, True)


def test_101_without_connection_upgrade_fails() -> None:
    raw = (
        b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
        b"Sec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\n\r\n"
    )
    error = failure(raw)
    assert (error.status, "Connection" in error.reason) == (101, True)


def test_101_with_a_wrong_accept_fails() -> None:
    error = failure(
        response("Sec-WebSocket-Accept: " + accept_key("AAAAAAAAAAAAAAAAAAAAAA=="), accept=False)
    )
    assert (error.status, "Sec-WebSocket-Accept" in error.reason) == (101, True)


def test_101_without_accept_fails() -> None:
    assert failure(response(accept=False)).status == 101


def test_101_with_two_accepts_fails() -> None:
    assert failure(response(f"Sec-WebSocket-Accept: {ACCEPT}")).status == 101


def test_101_with_a_subprotocol_not_offered_fails() -> None:
    error = failure(response("Sec-WebSocket-Protocol: c"), subprotocols=["a"])
    assert (error.status, "not offered" in error.reason) == (101, True)


def test_101_with_a_subprotocol_when_none_was_offered_fails() -> None:
    assert failure(response("Sec-WebSocket-Protocol: a")).status == 101


def test_101_with_two_subprotocols_fails() -> None:
    error = failure(
        response("Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b"), subprotocols=["a", "b"]
    )
    assert (error.status, "more than one" in error.reason) == (101, True)


def test_101_with_an_extension_not_offered_fails() -> None:
    error = failure(response("Sec-WebSocket-Extensions: other"), extensions=[DummyFactory()])
    assert (error.status, "not offered" in error.reason) == (101, True)


def test_101_with_an_extension_accepted_twice_fails() -> None:
    error = failure(
        response("Sec-WebSocket-Extensions: x-dummy, x-dummy"), extensions=[DummyFactory()]
    )
    assert error.status == 101


def test_101_with_an_invalid_extension_header_fails() -> None:
    assert (
        failure(response("Sec-WebSocket-Extensions: x-dummy;;"), extensions=[DummyFactory()]).status
        == 101
    )


def test_101_with_extension_parameters_the_factory_refuses_fails() -> None:
    error = failure(response("Sec-WebSocket-Extensions: x-dummy; bad"), extensions=[DummyFactory()])
    assert (error.status, error.reason) == (101, "bad parameter")


def test_unparseable_response_fails_without_status() -> None:
    assert failure(b"SSH-2.0-OpenSSH\r\n\r\n").status is None


def test_eof_before_the_response_fails_without_status() -> None:
    error = failure(b"")
    assert (error.status, error.reason) == (None, "connection closed during the handshake")


def test_eof_within_the_headers_fails_without_status() -> None:
    handshake = client()
    handshake.receive_data(b"HTTP/1.1 101 Swi")
    with pytest.raises(HandshakeError, match="connection closed") as info:
        handshake.receive_data(b"")
    assert info.value.status is None


def test_response_headers_over_max_size_fail() -> None:
    error = failure(response("X-Filler: " + "a" * 2000), max_size=1024)
    assert (error.status, "larger than 1024" in error.reason) == (None, True)


def test_response_headers_over_max_size_arriving_in_pieces_fail() -> None:
    handshake = client(max_size=1024)
    handshake.receive_data(b"HTTP/1.1 101 OK\r\n")
    for _ in range(8):
        assert handshake.receive_data(b"X-Filler: " + b"a" * 100 + b"\r\n") is None
    with pytest.raises(HandshakeError) as info:
        handshake.receive_data(b"X-Filler: " + b"a" * 100 + b"\r\n")
    assert info.value.status is None


def test_error_is_raised_again_on_later_calls() -> None:
    handshake = client()
    with pytest.raises(HandshakeError) as first:
        handshake.receive_data(response(accept=False))
    with pytest.raises(HandshakeError) as second:
        handshake.receive_data(b"more")
    assert second.value is first.value


# -- refusals: Reject -------------------------------------------------------------------------


def test_refusal_with_content_length_is_rejected_with_its_body() -> None:
    handshake = client()
    event = handshake.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope")
    assert event == Reject(403, (("Content-Length", "4"),), b"nope")


def test_refusal_body_in_pieces_is_waited_for() -> None:
    handshake = client()
    assert handshake.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nno") is None
    event = handshake.receive_data(b"pe")
    assert isinstance(event, Reject)
    assert event.body == b"nope"


def test_chunked_refusal_is_rejected_with_its_body() -> None:
    raw = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    event = client().receive_data(raw)
    assert isinstance(event, Reject)
    assert (event.status, event.body) == (500, b"abcde")


def test_refusal_delimited_by_eof_is_rejected_at_eof() -> None:
    handshake = client()
    assert handshake.receive_data(b"HTTP/1.1 404 Not Found\r\n\r\nmissing") is None
    event = handshake.receive_data(b"")
    assert isinstance(event, Reject)
    assert (event.status, event.body) == (404, b"missing")


def test_refusal_body_beyond_max_size_is_truncated() -> None:
    handshake = client(max_size=1024)
    raw = b"HTTP/1.1 400 Bad\r\nContent-Length: 5000\r\n\r\n" + b"x" * 3000
    event = handshake.receive_data(raw)
    assert isinstance(event, Reject)
    assert event.body == b"x" * 1024


def test_refusal_body_cut_short_is_rejected_with_what_arrived() -> None:
    handshake = client()
    handshake.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nabc")
    event = handshake.receive_data(b"")
    assert isinstance(event, Reject)
    assert (event.status, event.body) == (403, b"abc")


# -- draft-hixie-76 ---------------------------------------------------------------------------

HIXIE76_HEAD = (
    b"HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
)


def hixie76_answer(handshake: ClientHandshake) -> bytes:
    """The answer a correct server computes from the client's request."""
    head, _, key3 = handshake.request.partition(b"\r\n\r\n")
    keys = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    part1 = hixie.key_part(keys["Sec-WebSocket-Key1"])
    part2 = hixie.key_part(keys["Sec-WebSocket-Key2"])
    return hixie.challenge_answer(part1, part2, key3)


def test_hixie76_correct_answer_is_accepted() -> None:
    handshake = client(version="hixie-76", subprotocols=["chat"])
    raw = HIXIE76_HEAD + b"Sec-WebSocket-Protocol: chat\r\n\r\n" + hixie76_answer(handshake)
    event = handshake.receive_data(raw)
    assert isinstance(event, Accept)
    assert event.subprotocol == "chat"


@pytest.mark.parametrize("split", range(17))
def test_hixie76_answer_in_every_split_is_read_and_frames_kept(split: int) -> None:
    handshake = client(version="hixie-76")
    answer = hixie76_answer(handshake)
    first = handshake.receive_data(HIXIE76_HEAD + b"\r\n" + answer[:split])
    if split < 16:
        assert first is None
        assert isinstance(handshake.receive_data(answer[split:] + b"\x00hi\xff"), Accept)
    else:
        assert isinstance(first, Accept)
        handshake.receive_data(b"\x00hi\xff")
    assert handshake.trailing == b"\x00hi\xff"


def test_hixie76_wrong_answer_fails() -> None:
    error = failure(HIXIE76_HEAD + b"\r\n" + b"0" * 16, version="hixie-76")
    assert (error.status, "challenge" in error.reason) == (101, True)


def test_hixie76_eof_before_the_answer_is_complete_fails() -> None:
    handshake = client(version="hixie-76")
    handshake.receive_data(HIXIE76_HEAD + b"\r\n" + b"12345")
    with pytest.raises(HandshakeError, match="connection closed") as info:
        handshake.receive_data(b"")
    assert info.value.status == 101


def test_hixie76_subprotocol_not_offered_fails() -> None:
    error = failure(HIXIE76_HEAD + b"Sec-WebSocket-Protocol: other\r\n\r\n", version="hixie-76")
    assert error.status == 101


# -- draft-hixie-75 ---------------------------------------------------------------------------


def test_hixie75_response_is_accepted_without_an_answer() -> None:
    handshake = client(version="hixie-75", subprotocols=["chat"])
    raw = (
        b"HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
        b"Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
        b"WebSocket-Protocol: chat\r\n\r\n\x00hi\xff"
    )
    event = handshake.receive_data(raw)
    assert isinstance(event, Accept)
    assert event.subprotocol == "chat"
    assert handshake.trailing == b"\x00hi\xff"


def test_hixie75_subprotocol_not_offered_fails() -> None:
    raw = HIXIE76_HEAD + b"WebSocket-Protocol: other\r\n\r\n"
    assert failure(raw, version="hixie-75").status == 101
