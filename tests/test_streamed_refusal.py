"""A refusal whose body is streamed: ``start_reject``, ``send_reject_body``, ``end_reject``.

The bytes on the wire are read back by an h11 client, as a real client would
read them, piece by piece: each piece of the body is in ``data_to_send()`` as
soon as it is sent, not at the end.
"""

from __future__ import annotations

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core import ConnectionState, InvalidState, ServerConnection
from wsproto_core.errors import HandshakeArgumentError
from wsproto_core.events import HTTPRequest, Request
from wsproto_core.handshake.server import ServerHandshake
from wsproto_core.state import TransportAction

REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def server_with_request(request: bytes = REQUEST) -> ServerConnection:
    server = ServerConnection(accept_plain_http=True)
    server.receive_data(request)
    [event] = list(server.events())
    assert isinstance(event, (Request, HTTPRequest))
    return server


class Client:
    """An h11 client that sent ``request`` and reads the response as it arrives."""

    def __init__(self, request: bytes = REQUEST) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        method, target = request.split(b" ")[:2]
        head = [line.split(b": ", 1) for line in request.split(b"\r\n")[1:] if line]
        self.h11.send(h11.Request(method=method, target=target, headers=head))
        self.h11.send(h11.EndOfMessage())

    def read(self, data: bytes) -> list[h11.Event]:
        """The events ``data`` completes (``b""`` is nothing new, not EOF)."""
        if not data:
            return []
        self.h11.receive_data(data)
        events: list[h11.Event] = []
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return events
            events.append(event)  # type: ignore[arg-type]
            if type(event) is h11.EndOfMessage:
                return events


def body_of(events: list[h11.Event]) -> bytes:
    return b"".join(bytes(event.data) for event in events if type(event) is h11.Data)


# -- the bytes on the wire -------------------------------------------------------------


def test_head_is_sent_at_once_and_the_stream_stays_open() -> None:
    server = server_with_request()
    server.start_reject(403, [("Content-Type", "text/plain")])
    [response] = Client().read(server.data_to_send())
    assert isinstance(response, h11.Response)
    assert response.status_code == 403
    assert (b"content-type", b"text/plain") in response.headers
    assert (b"connection", b"close") in response.headers
    assert server.state is ConnectionState.CONNECTING
    assert server.transport_action is TransportAction.NONE
    assert not server.should_close_transport


def test_each_chunk_is_on_the_wire_as_soon_as_it_is_sent() -> None:
    server = server_with_request()
    client = Client()
    server.start_reject(403)
    client.read(server.data_to_send())
    for chunk in (b"one ", b"two ", b"three"):
        server.send_reject_body(chunk)
        assert body_of(client.read(server.data_to_send())) == chunk
    server.end_reject()
    [end] = client.read(server.data_to_send())
    assert isinstance(end, h11.EndOfMessage)


def test_without_content_length_the_body_is_chunked() -> None:
    server = server_with_request()
    server.start_reject(500)
    assert b"Transfer-Encoding: chunked\r\n" in server.data_to_send()
    server.send_reject_body(b"abc")
    assert server.data_to_send() == b"3\r\nabc\r\n"
    server.end_reject()
    assert server.data_to_send() == b"0\r\n\r\n"


def test_with_content_length_the_body_is_exactly_that() -> None:
    server = server_with_request()
    client = Client()
    server.start_reject(403, [("Content-Length", "5")])
    head = server.data_to_send()
    assert b"Content-Length: 5\r\n" in head
    assert b"Transfer-Encoding" not in head
    server.send_reject_body(b"ab")
    server.send_reject_body(b"cde")
    server.end_reject()
    events = client.read(head + server.data_to_send())
    assert body_of(events) == b"abcde"
    assert isinstance(events[-1], h11.EndOfMessage)


def test_the_applications_framing_headers_are_replaced() -> None:
    server = server_with_request()
    server.start_reject(403, [("Connection", "keep-alive"), ("Transfer-Encoding", "gzip")])
    head = server.data_to_send()
    assert b"keep-alive" not in head
    assert b"gzip" not in head
    assert b"Connection: close\r\n" in head


def test_an_http_10_client_gets_a_body_delimited_by_the_close() -> None:
    server = server_with_request(b"GET / HTTP/1.0\r\n\r\n")
    server.start_reject(403)
    head = server.data_to_send()
    assert b"Transfer-Encoding" not in head
    server.send_reject_body(b"raw")
    assert server.data_to_send() == b"raw"
    server.end_reject()
    assert server.data_to_send() == b""
    assert server.should_close_transport


def test_a_head_request_gets_the_head_only() -> None:
    server = server_with_request(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    server.start_reject(200, [("Content-Length", "3")])
    assert server.data_to_send().endswith(b"\r\n\r\n")
    server.send_reject_body(b"abc")
    server.end_reject()
    assert server.data_to_send() == b""
    assert server.should_close_transport


# -- the connection's state ------------------------------------------------------------------


def test_end_closes_the_connection_as_reject_does() -> None:
    server = server_with_request()
    server.start_reject(403)
    server.send_reject_body(b"x")
    assert not server.should_close_transport
    server.end_reject()
    assert server.state is ConnectionState.CLOSED
    assert server.transport_action is TransportAction.HALF_CLOSE
    assert server.should_close_transport


def test_the_clients_bytes_are_ignored_during_the_refusal() -> None:
    server = server_with_request()
    server.start_reject(403)
    server.receive_data(b"\x81\x85whatever")
    assert list(server.events()) == []
    assert server.transport_action is TransportAction.NONE


def test_the_clients_eof_during_the_refusal_closes_the_connection() -> None:
    server = server_with_request()
    server.start_reject(403)
    server.receive_data(b"")
    assert server.transport_action is TransportAction.CLOSE
    with pytest.raises(InvalidState):
        server.send_reject_body(b"nobody reads this")


def test_close_abandons_the_refusal() -> None:
    server = server_with_request()
    server.start_reject(403, [("Content-Length", "10")])
    server.send_reject_body(b"cut")
    server.data_to_send()
    server.close()
    assert server.data_to_send() == b""
    assert server.should_close_transport
    with pytest.raises(InvalidState):
        server.end_reject()


# -- misuse -------------------------------------------------------------------------------


def test_body_before_start_is_invalid_state() -> None:
    server = server_with_request()
    with pytest.raises(InvalidState, match="no streamed refusal"):
        server.send_reject_body(b"x")
    with pytest.raises(InvalidState, match="no streamed refusal"):
        server.end_reject()


def test_start_before_a_request_is_invalid_state() -> None:
    with pytest.raises(InvalidState):
        ServerConnection().start_reject(403)


@pytest.mark.parametrize("decide", ["accept", "reject", "start_reject"])
def test_no_other_decision_during_a_refusal(decide: str) -> None:
    server = server_with_request()
    server.start_reject(403)
    with pytest.raises(InvalidState, match="a refusal is being sent"):
        getattr(server, decide)()


def test_nothing_after_the_end() -> None:
    server = server_with_request()
    server.start_reject(403)
    server.end_reject()
    with pytest.raises(InvalidState):
        server.send_reject_body(b"late")
    with pytest.raises(InvalidState):
        server.end_reject()


def test_a_refusal_after_accept_is_invalid_state() -> None:
    server = server_with_request()
    server.accept()
    with pytest.raises(InvalidState):
        server.start_reject(403)
    with pytest.raises(InvalidState):
        server.send_reject_body(b"x")


def test_no_messages_during_a_refusal() -> None:
    server = server_with_request()
    server.start_reject(403)
    with pytest.raises(InvalidState):
        server.send_text("hello")


def test_more_than_the_content_length_is_refused_and_nothing_is_queued() -> None:
    server = server_with_request()
    server.start_reject(403, [("Content-Length", "3")])
    server.data_to_send()
    with pytest.raises(HandshakeArgumentError, match="exceed"):
        server.send_reject_body(b"toolong")
    assert server.data_to_send() == b""
    server.send_reject_body(b"abc")  # the refusal goes on
    server.end_reject()
    assert server.should_close_transport


def test_ending_short_of_the_content_length_is_refused_and_the_refusal_goes_on() -> None:
    server = server_with_request()
    server.start_reject(403, [("Content-Length", "3")])
    server.send_reject_body(b"ab")
    with pytest.raises(HandshakeArgumentError, match="missing"):
        server.end_reject()
    assert server.transport_action is TransportAction.NONE
    server.send_reject_body(b"c")
    server.end_reject()
    assert server.should_close_transport


@pytest.mark.parametrize("status", [101, 199, 600])
def test_a_status_that_is_not_final_is_refused(status: int) -> None:
    server = server_with_request()
    with pytest.raises(HandshakeArgumentError):
        server.start_reject(status)
    assert server.data_to_send() == b""
    server.start_reject(403)  # still undecided


def test_an_invalid_content_length_is_refused() -> None:
    server = server_with_request()
    with pytest.raises(HandshakeArgumentError):
        server.start_reject(403, [("Content-Length", "many")])


def test_a_204_refusal_has_no_body() -> None:
    server = server_with_request()
    server.start_reject(204)
    with pytest.raises(HandshakeArgumentError):
        server.send_reject_body(b"x")
    server.end_reject()
    assert server.should_close_transport


# -- properties -------------------------------------------------------------------------------

_CHUNKS = st.lists(st.binary(max_size=40), max_size=8)


@given(chunks=_CHUNKS, counted=st.booleans())
def test_any_chunk_list_reads_back_whole_piece_by_piece(chunks: list[bytes], counted: bool) -> None:
    server = server_with_request()
    client = Client()
    body = b"".join(chunks)
    headers = [("Content-Length", str(len(body)))] if counted else []
    server.start_reject(403, headers)
    events = client.read(server.data_to_send())
    assert isinstance(events[0], h11.Response)
    received = body_of(events)
    for chunk in chunks:
        server.send_reject_body(chunk)
        new = client.read(server.data_to_send())
        events += new
        assert body_of(new) == chunk  # on the wire at once, not at the end
        received += chunk
    server.end_reject()
    events += client.read(server.data_to_send())
    assert body_of(events) == body
    assert isinstance(events[-1], h11.EndOfMessage)
    assert server.should_close_transport


@given(chunks=_CHUNKS)
def test_streamed_and_whole_refusals_carry_the_same_body(chunks: list[bytes]) -> None:
    body = b"".join(chunks)
    whole = server_with_request()
    whole.reject(403, [("Content-Type", "text/plain")], body)
    streamed = server_with_request()
    streamed.start_reject(403, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    for chunk in chunks:
        streamed.send_reject_body(chunk)
    streamed.end_reject()
    assert body_of(Client().read(whole.data_to_send())) == body
    assert body_of(Client().read(streamed.data_to_send())) == body


# -- the handshake on its own -------------------------------------------------------------------


def test_handshake_streams_after_nothing_else_was_sent() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(REQUEST)
    handshake.reject(403)
    with pytest.raises(InvalidState, match="already sent"):
        handshake.start_reject(403)
    with pytest.raises(InvalidState, match="already sent"):
        handshake.send_reject_body(b"x")


def test_handshake_body_needs_a_started_response() -> None:
    handshake = ServerHandshake()
    handshake.receive_data(REQUEST)
    with pytest.raises(InvalidState, match="no streamed response"):
        handshake.end_reject()
    handshake.start_reject(403)
    assert handshake.end_reject() == b"0\r\n\r\n"
    with pytest.raises(InvalidState, match="already sent"):
        handshake.end_reject()
