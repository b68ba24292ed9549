"""Properties of the connection as a whole: round trips in any chunking, garbage never raises."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from pairs import open_pair

from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.close import is_valid_wire_code
from wsproto_core.events import (
    BytesMessage,
    Close,
    Event,
    HandshakeFailed,
    Ping,
    Pong,
    Reject,
    TextMessage,
)

Action = tuple[str, object]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=300)),
        st.tuples(st.just("binary"), st.binary(max_size=300)),
        st.tuples(st.just("fragments"), st.lists(st.text(max_size=40), min_size=1, max_size=5)),
        st.tuples(st.just("ping"), st.binary(max_size=125)),
    ),
    max_size=12,
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split ``data`` at the given positions (taken modulo its length)."""
    if not data:
        return []
    points = sorted({c % len(data) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points)]


def perform(conn: ClientConnection | ServerConnection, script: list[Action]) -> list[Event]:
    """Send the script on ``conn``; return the events the peer should see."""
    expected: list[Event] = []
    for kind, value in script:
        if kind == "text":
            assert isinstance(value, str)
            conn.send_text(value)
            expected.append(TextMessage(value))
        elif kind == "binary":
            assert isinstance(value, bytes)
            conn.send_binary(value)
            expected.append(BytesMessage(value))
        elif kind == "fragments":
            assert isinstance(value, list)
            for index, piece in enumerate(value):
                conn.send_text(piece, final=index == len(value) - 1)
            expected.append(TextMessage("".join(value)))
        else:
            assert isinstance(value, bytes)
            conn.ping(value)
            expected.append(Ping(value))
    conn.close(1000, "done")
    expected.append(Close(1000, "done"))
    return expected


@given(
    script=actions, cuts=st.lists(st.integers(min_value=0), max_size=30), client_sends=st.booleans()
)
def test_any_script_arrives_identical_in_any_chunking(
    script: list[Action], cuts: list[int], client_sends: bool
) -> None:
    client, server = open_pair()
    sender, receiver = (client, server) if client_sends else (server, client)
    expected = perform(sender, script)
    received: list[Event] = []
    for piece in chunked(sender.data_to_send(), cuts):
        receiver.receive_data(piece)
        received.extend(receiver.events())
    assert received == expected
    # every ping was answered, and the close was echoed last
    replies: list[Event] = []
    sender.receive_data(receiver.data_to_send())
    replies.extend(sender.events())
    pings = [e.payload for e in expected if isinstance(e, Ping)]
    assert [e.payload for e in replies if isinstance(e, Pong)] == pings
    assert isinstance(replies[-1], Close)


@given(script=actions)
def test_any_script_arrives_identical_in_one_byte_reads(script: list[Action]) -> None:
    client, server = open_pair()
    expected = perform(client, script)
    received: list[Event] = []
    data = client.data_to_send()
    for index in range(len(data)):
        server.receive_data(data[index : index + 1])
        received.extend(server.events())
    assert received == expected


def assert_ends_in_close(events: list[Event]) -> None:
    assert events, "no event at all"
    last = events[-1]
    if isinstance(last, Close):
        assert last.code in (1005, 1006) or is_valid_wire_code(last.code) or last.code == 1004
    else:
        assert isinstance(last, (HandshakeFailed, Reject))


@given(garbage=st.lists(st.binary(max_size=64), max_size=8))
def test_garbage_to_a_server_mid_handshake_never_raises(garbage: list[bytes]) -> None:
    server = ServerConnection()
    events: list[Event] = []
    for piece in garbage:
        server.receive_data(piece)
        events.extend(server.events())
    server.receive_data(b"")
    events.extend(server.events())
    assert_ends_in_close(events)
    assert server.should_close_transport


@given(garbage=st.lists(st.binary(max_size=64), max_size=8), client_side=st.booleans())
def test_garbage_to_an_open_connection_never_raises(
    garbage: list[bytes], client_side: bool
) -> None:
    client, server = open_pair()
    conn = client if client_side else server
    events: list[Event] = []
    for piece in garbage:
        conn.receive_data(piece)
        events.extend(conn.events())
    conn.receive_data(b"")
    events.extend(conn.events())
    closes = [e for e in events if isinstance(e, Close)]
    assert len(closes) == 1
    assert_ends_in_close(events)
    assert conn.should_close_transport


@given(garbage=st.lists(st.binary(max_size=64), max_size=8))
def test_garbage_to_a_client_mid_handshake_never_raises(garbage: list[bytes]) -> None:
    client = ClientConnection("ws://example.com/")
    client.data_to_send()
    events: list[Event] = []
    for piece in garbage:
        client.receive_data(piece)
        events.extend(client.events())
    client.receive_data(b"")
    events.extend(client.events())
    assert_ends_in_close(events)
