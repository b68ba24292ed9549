"""The connection state machine: handshake flow, automatic replies, closing, limits.

The wire format and the handshake rules have their own test modules; these
tests check what the connection adds on top, for both roles.
"""

from __future__ import annotations

import pytest
from pairs import open_pair, transfer

from wsproto_core import (
    ClientConnection,
    ConnectionState,
    InvalidState,
    ServerConnection,
    UnsupportedOperation,
)
from wsproto_core.events import (
    Accept,
    BytesMessage,
    Close,
    HandshakeFailed,
    HTTPRequest,
    Ping,
    Pong,
    Reject,
    Request,
    TextMessage,
)
from wsproto_core.frames import Opcode, serialize_frame

MASK = b"\x01\x02\x03\x04"

REQUEST = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"\r\n"
)


def masked(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    return serialize_frame(opcode, payload, fin=fin, mask_key=MASK)


def unmasked(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    return serialize_frame(opcode, payload, fin=fin)


def server_with_request(
    data: bytes = REQUEST, **options: object
) -> tuple[ServerConnection, list[object]]:
    server = ServerConnection(**options)  # type: ignore[arg-type]
    server.receive_data(data)
    return server, list(server.events())


# -- opening handshake -----------------------------------------------------------


def test_server_reports_request_with_path_query_and_offers() -> None:
    _, events = server_with_request()
    [request] = events
    assert isinstance(request, Request)
    assert (request.path, request.query) == ("/chat", "room=1")
    assert request.subprotocols == ("chat", "superchat")
    assert request.version == 13
    assert request.header("sec-websocket-version") == "13"


def test_server_accept_sends_101_and_opens() -> None:
    server, _ = server_with_request()
    server.accept(subprotocol="superchat")
    response = server.data_to_send()
    assert response.startswith(b"HTTP/1.1 101 ")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in response
    assert server.state is ConnectionState.OPEN
    assert server.subprotocol == "superchat"
    assert server.protocol_version == 13


def test_server_accept_picks_first_configured_subprotocol_the_client_offered() -> None:
    server, _ = server_with_request(subprotocols=["superchat", "chat"])
    server.accept()
    assert server.subprotocol == "superchat"


def test_client_sees_accept_with_chosen_subprotocol() -> None:
    client, server = open_pair(subprotocols=("chat",), server_options={"subprotocols": ["chat"]})
    assert client.state is ConnectionState.OPEN
    assert client.subprotocol == "chat"
    assert server.subprotocol == "chat"


def test_server_refuses_invalid_request_itself() -> None:
    server, events = server_with_request(
        REQUEST.replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b"")
    )
    [failed] = events
    assert isinstance(failed, HandshakeFailed)
    assert failed.status == 400
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_server_answers_unknown_version_with_426_listing_versions() -> None:
    server, events = server_with_request(REQUEST.replace(b"Version: 13", b"Version: 12"))
    assert isinstance(events[0], HandshakeFailed)
    response = server.data_to_send()
    assert response.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13, 8, 7" in response


def test_server_reject_sends_status_and_closes() -> None:
    server, _ = server_with_request()
    server.reject(403, body=b"go away")
    response = server.data_to_send()
    assert response.startswith(b"HTTP/1.1 403 ")
    assert response.endswith(b"go away")
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_server_cannot_accept_twice() -> None:
    server, _ = server_with_request()
    server.accept()
    with pytest.raises(InvalidState):
        server.accept()


def test_server_cannot_accept_before_request() -> None:
    with pytest.raises(InvalidState):
        ServerConnection().accept()


def test_server_cannot_reject_after_refusing() -> None:
    server, _ = server_with_request(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(InvalidState):
        server.reject()


def test_server_reports_plain_http_request_when_asked() -> None:
    server, events = server_with_request(
        b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", accept_plain_http=True
    )
    [request] = events
    assert isinstance(request, HTTPRequest)
    assert request.path == "/index.html"
    assert server.request is None
    with pytest.raises(InvalidState):
        server.accept()
    server.reject(200, [("Content-Type", "text/plain")], b"hello")
    assert server.data_to_send().startswith(b"HTTP/1.1 200 ")


def test_client_reports_reject_for_non_101() -> None:
    client = ClientConnection("ws://example.com/")
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope")
    [reject] = list(client.events())
    assert isinstance(reject, Reject)
    assert (reject.status, reject.body) == (403, b"nope")
    assert client.state is ConnectionState.CLOSED
    assert client.should_close_transport


def test_client_reports_invalid_101_as_handshake_failed() -> None:
    client = ClientConnection("ws://example.com/")
    client.data_to_send()
    client.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"
    )
    [failed] = list(client.events())
    assert isinstance(failed, HandshakeFailed)
    assert client.should_close_transport


def test_client_queues_request_at_once() -> None:
    client = ClientConnection("ws://example.com:8080/path?q=1")
    request = client.data_to_send()
    assert request.startswith(b"GET /path?q=1 HTTP/1.1\r\n")
    assert client.state is ConnectionState.CONNECTING


def test_client_refuses_unknown_version() -> None:
    with pytest.raises(ValueError, match="unsupported protocol version"):
        ClientConnection("ws://example.com/", version=12)  # type: ignore[arg-type]


def test_server_keeps_frames_pipelined_after_request() -> None:
    server, events = server_with_request(REQUEST + masked(Opcode.TEXT, b"early"))
    assert [type(e) for e in events] == [Request]
    server.accept()
    assert list(server.events()) == [TextMessage("early")]


def test_server_keeps_eof_that_arrives_before_the_decision() -> None:
    server, _ = server_with_request(REQUEST + masked(Opcode.TEXT, b"bye"))
    server.receive_data(b"")
    assert list(server.events()) == []
    server.accept()
    events = list(server.events())
    assert events[0] == TextMessage("bye")
    assert isinstance(events[1], Close)
    assert (events[1].code, events[1].by_peer) == (1006, False)
    assert server.should_close_transport


def test_client_keeps_frames_pipelined_after_101() -> None:
    client = ClientConnection("ws://example.com/")
    server = ServerConnection()
    transfer(client, server)
    server.accept()
    server.send_text("right away")
    client.receive_data(server.data_to_send())  # 101 and the frame in one read
    events = list(client.events())
    assert isinstance(events[0], Accept)
    assert events[1:] == [TextMessage("right away")]


def test_server_eof_during_handshake_is_reported_without_a_response() -> None:
    server = ServerConnection()
    server.receive_data(REQUEST[:20])
    server.receive_data(b"")
    [failed] = list(server.events())
    assert isinstance(failed, HandshakeFailed)
    assert server.data_to_send() == b""
    assert server.should_close_transport


def test_sending_before_open_raises_invalid_state() -> None:
    client = ClientConnection("ws://example.com/")
    with pytest.raises(InvalidState):
        client.send_text("too soon")


def test_close_before_open_aborts() -> None:
    client = ClientConnection("ws://example.com/")
    client.data_to_send()
    client.close()
    assert client.state is ConnectionState.CLOSED
    assert client.should_close_transport
    assert client.data_to_send() == b""


# -- data transfer -------------------------------------------------------------


@pytest.mark.parametrize("version", [13, 8, 7])
def test_messages_flow_both_ways(version: int) -> None:
    client, server = open_pair(version)  # type: ignore[arg-type]
    client.send_text("héllo")
    client.send_binary(b"\x00\xff")
    assert transfer(client, server) == [TextMessage("héllo"), BytesMessage(b"\x00\xff")]
    server.send_text("back")
    assert transfer(server, client) == [TextMessage("back")]


def test_fragmented_send_arrives_as_one_message() -> None:
    client, server = open_pair()
    client.send_text("frag", final=False)
    client.send_text("ment", final=True)
    assert transfer(client, server) == [TextMessage("fragment")]


@pytest.mark.parametrize("role", ["client", "server"])
def test_ping_is_answered_with_pong_automatically(role: str) -> None:
    client, server = open_pair()
    sender, receiver = (client, server) if role == "client" else (server, client)
    sender.ping(b"are you there")
    assert transfer(sender, receiver) == [Ping(b"are you there")]
    assert transfer(receiver, sender) == [Pong(b"are you there")]


def test_ping_inside_fragmented_message_is_answered_at_once() -> None:
    client, server = open_pair()
    server.receive_data(masked(Opcode.TEXT, b"one ", fin=False) + masked(Opcode.PING, b"p"))
    assert list(server.events()) == [Ping(b"p")]
    assert server.data_to_send() == unmasked(Opcode.PONG, b"p")
    server.receive_data(masked(Opcode.CONTINUATION, b"two"))
    assert list(server.events()) == [TextMessage("one two")]


def test_unsolicited_pong_is_reported_and_not_answered() -> None:
    client, server = open_pair()
    client.pong(b"heartbeat")
    assert transfer(client, server) == [Pong(b"heartbeat")]
    assert server.data_to_send() == b""


# -- closing -------------------------------------------------------------------


def test_server_initiated_close_completes_and_server_closes_transport() -> None:
    client, server = open_pair()
    server.close(1001, "going away")
    assert server.state is ConnectionState.CLOSING
    assert transfer(server, client) == [Close(1001, "going away")]
    assert client.state is ConnectionState.CLOSED
    assert not client.should_close_transport  # RFC 6455 §7.1.1: the client waits for the server
    assert transfer(client, server) == [Close(1001, "")]
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport
    client.receive_data(b"")
    assert client.should_close_transport
    assert list(client.events()) == []


def test_client_initiated_close_is_echoed_with_the_peer_code() -> None:
    client, server = open_pair()
    client.close(4000, "done")
    assert transfer(client, server) == [Close(4000, "done")]
    assert server.should_close_transport
    assert transfer(server, client) == [Close(4000, "")]
    assert client.state is ConnectionState.CLOSED
    assert not client.should_close_transport


def test_empty_close_is_reported_as_1005_and_echoed_empty() -> None:
    client, server = open_pair()
    server.receive_data(masked(Opcode.CLOSE, b""))
    assert list(server.events()) == [Close(1005, "")]
    assert server.data_to_send() == unmasked(Opcode.CLOSE, b"")


@pytest.mark.parametrize("role", ["client", "server"])
def test_eof_without_close_is_reported_as_1006(role: str) -> None:
    client, server = open_pair()
    conn = client if role == "client" else server
    conn.receive_data(b"")
    [event] = list(conn.events())
    assert isinstance(event, Close)
    assert (event.code, event.by_peer) == (1006, False)
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport


@pytest.mark.parametrize("role", ["client", "server"])
def test_sending_after_close_raises_invalid_state(role: str) -> None:
    client, server = open_pair()
    conn = client if role == "client" else server
    conn.close()
    with pytest.raises(InvalidState, match="close frame was already sent"):
        conn.send_text("late")
    with pytest.raises(InvalidState):
        conn.ping()


def test_close_twice_sends_one_close_frame() -> None:
    client, server = open_pair()
    server.close()
    first = server.data_to_send()
    server.close()
    assert server.data_to_send() == b""
    assert first == unmasked(Opcode.CLOSE, b"\x03\xe8")


def test_ping_is_answered_after_our_close_was_sent() -> None:
    client, server = open_pair()
    server.close()
    server.data_to_send()
    server.receive_data(masked(Opcode.PING, b"late"))
    assert list(server.events()) == [Ping(b"late")]
    assert server.data_to_send() == unmasked(Opcode.PONG, b"late")


def test_bytes_after_the_closing_handshake_are_ignored() -> None:
    client, server = open_pair()
    server.receive_data(masked(Opcode.CLOSE, b"\x03\xe8") + masked(Opcode.TEXT, b"ghost"))
    assert list(server.events()) == [Close(1000, "")]
    server.receive_data(masked(Opcode.TEXT, b"more"))
    assert list(server.events()) == []


# -- failing the connection ------------------------------------------------------


def test_server_fails_unmasked_frame_with_1002() -> None:
    client, server = open_pair()
    server.receive_data(unmasked(Opcode.TEXT, b"naked"))
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert (event.code, event.by_peer) == (1002, False)
    assert (
        server.data_to_send()[:4] == b"\x88" + bytes([len(event.reason.encode()) + 2]) + b"\x03\xea"
    )
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_client_fails_masked_frame_with_1002() -> None:
    client, server = open_pair()
    client.receive_data(masked(Opcode.TEXT, b"masked"))
    [event] = list(client.events())
    assert isinstance(event, Close)
    assert event.code == 1002
    assert client.should_close_transport


def test_frames_before_a_bad_frame_are_delivered_in_order() -> None:
    client, server = open_pair()
    server.receive_data(
        masked(Opcode.TEXT, b"first")
        + masked(Opcode.PING, b"x")
        + masked(Opcode.BINARY, b"second")
        + b"\xf1\x80"
    )
    events = list(server.events())
    assert events[:3] == [TextMessage("first"), Ping(b"x"), BytesMessage(b"second")]
    assert isinstance(events[3], Close)
    assert events[3].code == 1002


def test_invalid_utf8_fails_with_1007() -> None:
    client, server = open_pair()
    server.receive_data(masked(Opcode.TEXT, b"ok \xff", fin=False))
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert event.code == 1007


@pytest.mark.parametrize(("version", "code"), [(13, 1009), (8, 1004), (7, 1004)])
def test_oversized_message_fails_with_version_code(version: int, code: int) -> None:
    client, server = open_pair(version, server_options={"max_message_size": 10})  # type: ignore[arg-type]
    client.send_text("0123456789abc")
    [event] = transfer(client, server)
    assert isinstance(event, Close)
    assert event.code == code
    reply = server.data_to_send()
    assert reply[2:4] == code.to_bytes(2, "big")


def test_after_an_oversized_message_the_server_awaits_the_peers_close() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    client.send_binary(b"x" * 100)
    [event] = transfer(client, server)
    assert isinstance(event, Close)
    assert (event.code, event.by_peer) == (1009, False)
    # The framing is still in step: keep reading until the peer answers our close,
    # so the stream is not closed (and reset) under bytes the peer is still sending.
    assert server.state is ConnectionState.CLOSING
    assert not server.should_close_transport
    [answer] = transfer(server, client)
    assert isinstance(answer, Close)
    assert answer.code == 1009
    assert transfer(client, server) == []  # the failure's Close event was the last
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_frames_after_an_oversized_frame_are_discarded_until_the_close() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    header = b"\x82\xfe" + (1000).to_bytes(2, "big") + MASK
    server.receive_data(header + b"\x00" * 300)
    list(server.events())
    failure_close = server.data_to_send()
    server.receive_data(b"\x00" * 700 + masked(Opcode.PING, b"p") + masked(Opcode.TEXT, b"t"))
    assert list(server.events()) == []
    assert server.data_to_send() == b""  # no pong: the connection is failed
    server.receive_data(masked(Opcode.CLOSE, b"\x03\xf1")[:3])
    assert not server.should_close_transport
    server.receive_data(masked(Opcode.CLOSE, b"\x03\xf1")[3:])
    assert server.should_close_transport
    assert list(server.events()) == []
    assert failure_close[:4] == b"\x88" + bytes([failure_close[1]]) + b"\x03\xf1"


def test_eof_while_awaiting_the_close_after_a_failure_ends_quietly() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    client.send_text("x" * 11)
    transfer(client, server)
    server.receive_data(b"")
    assert list(server.events()) == []
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_garbage_while_awaiting_the_close_after_a_failure_ends_the_wait() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    client.send_text("x" * 11)
    transfer(client, server)
    server.receive_data(b"\x88\xfe\x00\xc8" + MASK)  # a close frame of 200 bytes
    assert list(server.events()) == []
    assert server.should_close_transport


def test_a_framing_error_closes_at_once() -> None:
    client, server = open_pair()
    server.receive_data(b"\x83\x80" + MASK)  # reserved opcode: out of step
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert event.code == 1002
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_message_size_limit_is_checked_on_the_running_total() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    for _ in range(3):
        client.send_binary(b"1234", final=False)
    [event] = transfer(client, server)
    assert isinstance(event, Close)
    assert event.code == 1009


def test_header_announcing_huge_frame_fails_before_payload() -> None:
    client, server = open_pair()
    header = b"\x82\xff" + (2**63 - 1).to_bytes(8, "big") + MASK
    server.receive_data(header)
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert event.code == 1009


def test_max_message_size_set_before_accept_applies() -> None:
    server, _ = server_with_request()
    server.max_message_size = 3
    server.accept()
    server.receive_data(masked(Opcode.TEXT, b"four"))
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert event.code == 1009


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        ServerConnection(max_message_size=-1)
    with pytest.raises(ValueError, match="max_frame_size"):
        ServerConnection(max_frame_size=-1)


def test_streaming_delivers_chunks_with_final_flag() -> None:
    client, server = open_pair(server_options={"stream_messages": True})
    client.send_text("ab", final=False)
    client.send_text("cd")
    events = transfer(client, server)
    assert "".join(e.data for e in events if isinstance(e, TextMessage)) == "abcd"
    assert isinstance(events[-1], TextMessage) and events[-1].final
    assert all(not e.final for e in events[:-1] if isinstance(e, TextMessage))


# -- embedding -----------------------------------------------------------------


def test_from_request_takes_over_a_parsed_request() -> None:
    headers = [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    server = ServerConnection.from_request("GET", "/embedded", headers, masked(Opcode.TEXT, b"hi"))
    [request] = list(server.events())
    assert isinstance(request, Request)
    assert request.path == "/embedded"
    server.accept()
    assert server.data_to_send().startswith(b"HTTP/1.1 101 ")
    assert list(server.events()) == [TextMessage("hi")]


def test_from_request_refuses_an_invalid_request() -> None:
    server = ServerConnection.from_request("GET", "/", [("Host", "example.com")])
    [failed] = list(server.events())
    assert isinstance(failed, HandshakeFailed)
    assert server.data_to_send().startswith(b"HTTP/1.1 426 ")


# -- legacy protocols through the same connection --------------------------------


@pytest.mark.parametrize("version", ["hixie-76", "hixie-75"])
def test_hixie_text_round_trip(version: str) -> None:
    client, server = open_pair(version)  # type: ignore[arg-type]
    assert server.protocol_version == version
    client.send_text("legacy ✓")
    assert transfer(client, server) == [TextMessage("legacy ✓")]
    server.send_text("back")
    assert transfer(server, client) == [TextMessage("back")]


@pytest.mark.parametrize("version", ["hixie-76", "hixie-75"])
def test_hixie_has_no_binary_or_ping(version: str) -> None:
    client, server = open_pair(version)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedOperation, match=version):
        server.send_binary(b"x")
    with pytest.raises(UnsupportedOperation, match=version):
        server.ping()


def test_hixie76_close_is_ff00_and_answered_in_kind() -> None:
    client, server = open_pair("hixie-76")
    client.close(1000, "ignored")
    assert client.data_to_send() == b"\xff\x00"
    server.receive_data(b"\xff\x00")
    assert list(server.events()) == [Close(1005, "")]
    assert server.data_to_send() == b"\xff\x00"
    assert server.should_close_transport


def test_hixie75_close_ends_the_connection_at_once() -> None:
    client, server = open_pair("hixie-75")
    server.close()
    assert server.data_to_send() == b""
    assert list(server.events()) == [Close(1005, "", by_peer=False)]
    assert server.should_close_transport


def test_hixie75_eof_is_the_peers_normal_close() -> None:
    client, server = open_pair("hixie-75")
    server.receive_data(b"")
    assert list(server.events()) == [Close(1005, "", by_peer=True)]


def test_hixie76_eof_without_ff00_is_abnormal() -> None:
    client, server = open_pair("hixie-76")
    server.receive_data(b"")
    [event] = list(server.events())
    assert isinstance(event, Close)
    assert (event.code, event.by_peer) == (1006, False)


def test_draft75_is_refused_unless_enabled() -> None:
    client = ClientConnection("ws://example.com/", version="hixie-75")
    server = ServerConnection()
    [failed] = transfer(client, server)
    assert isinstance(failed, HandshakeFailed)
    assert failed.status == 400


# -- live, ordered events ----------------------------------------------------------

HIXIE76_REQUEST = (
    b"GET /demo HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
    b"Origin: http://example.com\r\n"
    b"\r\n"
    b"^n:ds[4U"  # key3
)
RSV2 = 0x20


@pytest.fixture(params=["client", "server"])
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pair_for(
    role: str, **options: object
) -> tuple[ClientConnection | ServerConnection, ClientConnection | ServerConnection]:
    """The connection under test in ``role``, and its peer."""
    client, server = open_pair(
        server_options=dict(options) if role == "server" else None,
        client_options=dict(options) if role == "client" else None,
    )
    return (server, client) if role == "server" else (client, server)


def from_peer(role: str, opcode: Opcode, payload: bytes, *, rsv: int = 0) -> bytes:
    """A frame as the peer of a ``role`` connection sends it (masked to a server)."""
    mask_key = MASK if role == "server" else None
    return serialize_frame(opcode, payload, rsv=rsv, mask_key=mask_key)


def echo_loop(conn: ClientConnection | ServerConnection) -> list[object]:
    """Iterate the events as an echoing application does; return them."""
    seen: list[object] = []
    for event in conn.events():
        seen.append(event)
        if isinstance(event, TextMessage):
            conn.send_text(event.data)
        elif isinstance(event, BytesMessage):
            conn.send_binary(event.data)
    return seen


def test_frames_pipelined_after_the_request_come_out_of_the_loop_that_accepts() -> None:
    server = ServerConnection()
    server.receive_data(REQUEST + masked(Opcode.TEXT, b"early") + masked(Opcode.PING, b"p"))
    seen = []
    for event in server.events():
        seen.append(event)
        if isinstance(event, Request):
            server.accept()
        elif isinstance(event, TextMessage):
            server.send_text(event.data)
    assert [type(e) for e in seen] == [Request, TextMessage, Ping]
    assert seen[1:] == [TextMessage("early"), Ping(b"p")]
    out = server.data_to_send()
    assert out.startswith(b"HTTP/1.1 101 ")
    assert out.endswith(unmasked(Opcode.TEXT, b"early") + unmasked(Opcode.PONG, b"p"))
    assert list(server.events()) == []


def test_hixie76_frames_pipelined_after_key3_come_out_of_the_loop_that_accepts() -> None:
    server = ServerConnection()
    server.receive_data(HIXIE76_REQUEST + b"\x00early\xff" + b"\x00second\xff")
    seen = []
    for event in server.events():
        seen.append(event)
        if isinstance(event, Request):
            server.accept()
        elif isinstance(event, TextMessage):
            server.send_text(event.data.upper())
    assert seen[1:] == [TextMessage("early"), TextMessage("second")]
    assert isinstance(seen[0], Request) and seen[0].version == "hixie-76"
    out = server.data_to_send()
    assert out.startswith(b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n")
    assert out.endswith(b"8jKS'y:G*Co,Wxa-" + b"\x00EARLY\xff" + b"\x00SECOND\xff")


def test_a_failure_behind_a_message_is_not_acted_on_before_the_loop_reaches_it(role: str) -> None:
    conn, _ = pair_for(role)
    conn.receive_data(from_peer(role, Opcode.TEXT, b"hello") + b"\x83\x80" + MASK)
    assert conn.state is ConnectionState.OPEN
    assert conn.data_to_send() == b""
    assert not conn.should_close_transport
    pending = conn.pending_close
    assert pending is not None and (pending.code, pending.by_peer) == (1002, False)
    events = conn.events()
    assert next(events) == TextMessage("hello")
    assert conn.state is ConnectionState.OPEN
    assert conn.pending_close is pending
    assert next(events) is pending
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport
    assert conn.pending_close is None


def test_pending_failure_is_a_pending_close_the_peer_did_not_send(role: str) -> None:
    failing, _ = pair_for(role)
    failing.receive_data(from_peer(role, Opcode.TEXT, b"hello") + b"\x83\x80" + MASK)
    assert failing.pending_failure is failing.pending_close is not None
    closing, _ = pair_for(role)
    closing.receive_data(
        from_peer(role, Opcode.TEXT, b"hello") + from_peer(role, Opcode.CLOSE, b"")
    )
    assert closing.pending_close is not None and closing.pending_failure is None
    assert failing.pending_failure is not None and list(failing.events())
    assert failing.pending_failure is None


def test_reply_to_a_message_precedes_the_failure_close_for_a_bad_frame_after_it(role: str) -> None:
    conn, peer = pair_for(role)
    conn.receive_data(
        from_peer(role, Opcode.TEXT, b"Hello, world!")
        + from_peer(role, Opcode.TEXT, b"Hello, world!", rsv=RSV2)
        + from_peer(role, Opcode.PING, b"after the bad frame")
    )
    seen = echo_loop(conn)
    assert seen[0] == TextMessage("Hello, world!")
    assert [type(e) for e in seen] == [TextMessage, Close]
    assert isinstance(seen[1], Close) and (seen[1].code, seen[1].by_peer) == (1002, False)
    # The peer sees the echo, then the 1002; no pong for the ping after the bad frame.
    received = transfer(conn, peer)
    assert received[0] == TextMessage("Hello, world!")
    assert [type(e) for e in received] == [TextMessage, Close]
    assert isinstance(received[1], Close) and received[1].code == 1002
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport


def test_ping_before_a_bad_frame_is_answered_before_the_failure_close(role: str) -> None:
    conn, peer = pair_for(role)
    conn.receive_data(from_peer(role, Opcode.PING, b"first") + b"\x83\x80" + MASK)
    seen = list(conn.events())
    assert seen[0] == Ping(b"first")
    assert isinstance(seen[1], Close) and seen[1].code == 1002
    received = transfer(conn, peer)
    assert received[0] == Pong(b"first")
    assert isinstance(received[1], Close) and received[1].code == 1002
    assert len(received) == 2


def test_reply_to_a_message_precedes_the_close_echo_for_the_peers_close_after_it(
    role: str,
) -> None:
    conn, peer = pair_for(role)
    conn.receive_data(
        from_peer(role, Opcode.BINARY, b"\x00last") + from_peer(role, Opcode.CLOSE, b"\x03\xe8")
    )
    seen = echo_loop(conn)
    assert seen == [BytesMessage(b"\x00last"), Close(1000, "")]
    assert transfer(conn, peer) == [BytesMessage(b"\x00last"), Close(1000, "")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport is (role == "server")


def test_eof_behind_a_message_closes_once_the_loop_reaches_it(role: str) -> None:
    conn, peer = pair_for(role)
    conn.receive_data(from_peer(role, Opcode.TEXT, b"bye"))
    conn.receive_data(b"")
    assert conn.state is ConnectionState.OPEN
    assert not conn.should_close_transport
    seen = echo_loop(conn)
    assert seen[0] == TextMessage("bye")
    assert isinstance(seen[1], Close) and (seen[1].code, seen[1].by_peer) == (1006, False)
    assert transfer(conn, peer) == [TextMessage("bye")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport


def test_events_left_when_the_loop_stops_wait_for_the_next_call(role: str) -> None:
    conn, _ = pair_for(role)
    conn.receive_data(
        from_peer(role, Opcode.TEXT, b"one")
        + from_peer(role, Opcode.PING, b"p")
        + from_peer(role, Opcode.TEXT, b"two")
    )
    for event in conn.events():
        assert event == TextMessage("one")
        break
    assert conn.data_to_send() == b""  # the ping was not reached: no pong yet
    assert list(conn.events()) == [Ping(b"p"), TextMessage("two")]
    assert conn.data_to_send() != b""


def test_a_nested_events_loop_keeps_the_order(role: str) -> None:
    conn, _ = pair_for(role)
    conn.receive_data(b"".join(from_peer(role, Opcode.TEXT, str(n).encode()) for n in range(4)))
    seen: list[object] = []
    for event in conn.events():
        seen.append(event)
        if event == TextMessage("1"):
            seen.extend(conn.events())
    assert seen == [TextMessage(str(n)) for n in range(4)]


def test_the_peers_close_answering_a_pending_size_failure_ends_it_when_reached() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    server.receive_data(masked(Opcode.TEXT, b"fine") + masked(Opcode.BINARY, b"x" * 11))
    server.receive_data(masked(Opcode.CLOSE, b""))  # before the application reached the failure
    assert server.state is ConnectionState.OPEN
    assert not server.should_close_transport
    seen = echo_loop(server)
    assert seen[0] == TextMessage("fine")
    assert isinstance(seen[1], Close) and seen[1].code == 1009
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport
    received = transfer(server, client)
    assert received[0] == TextMessage("fine")
    assert isinstance(received[1], Close) and received[1].code == 1009


def test_eof_while_a_size_failure_is_pending_ends_it_when_reached() -> None:
    client, server = open_pair(server_options={"max_message_size": 10})
    server.receive_data(masked(Opcode.BINARY, b"x" * 11))
    server.receive_data(b"")
    assert not server.should_close_transport
    [event] = list(server.events())
    assert isinstance(event, Close) and event.code == 1009
    assert server.state is ConnectionState.CLOSED
    assert server.should_close_transport


def test_closing_while_a_failure_is_pending_sends_one_close_frame(role: str) -> None:
    conn, peer = pair_for(role)
    conn.receive_data(from_peer(role, Opcode.TEXT, b"hi") + b"\x83\x80" + MASK)
    for event in conn.events():
        if isinstance(event, TextMessage):
            conn.close(4000, "done")
    received = transfer(conn, peer)
    assert received == [Close(4000, "done")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport


def test_client_replies_to_a_message_behind_the_101_before_failing_a_bad_frame() -> None:
    client = ClientConnection("ws://example.com/")
    server = ServerConnection()
    transfer(client, server)
    server.accept()
    server.send_text("welcome")
    client.receive_data(server.data_to_send() + b"\x81\x85" + MASK + b"xxxxx")  # masked: bad
    seen = echo_loop(client)
    assert [type(e) for e in seen] == [Accept, TextMessage, Close]
    received = transfer(client, server)
    assert received[0] == TextMessage("welcome")
    assert isinstance(received[1], Close) and received[1].code == 1002


def test_hixie75_close_while_eof_is_pending_reports_one_close() -> None:
    client, server = open_pair("hixie-75")
    server.receive_data(b"")
    server.close()
    assert list(server.events()) == [Close(1005, "", by_peer=True)]
    assert server.should_close_transport
