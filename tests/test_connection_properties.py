"""Properties of the connection as a whole: round trips in any chunking, garbage never raises,
replies before the failure close."""

from __future__ import annotations

from itertools import pairwise

from conformance_helpers import CLOSE, Frame, Role, binary, parse_sent, pong, text
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
from wsproto_core.frames import Opcode, serialize_frame

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


# -- live, ordered events: replies before the failure -----------------------------------

# Kinds of frame that fail the connection; bad_frame() builds one for either role.
BAD_FRAMES = ("reserved-bit", "reserved-opcode", "orphan-continuation", "invalid-utf8", "masking")

valid_items = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=200)),
        st.tuples(st.just("binary"), st.binary(max_size=200)),
        st.tuples(st.just("ping"), st.binary(max_size=125)),
    ),
    max_size=8,
)


def bad_frame(kind: str, to_server: bool) -> tuple[bytes, int]:
    """A frame that breaks the protocol, as sent to a server (masked) or a client."""
    key = b"\x0f\x1e\x2d\x3c" if to_server else None
    if kind == "reserved-bit":
        return serialize_frame(Opcode.TEXT, b"rsv", rsv=0x40, mask_key=key), 1002
    if kind == "reserved-opcode":
        return serialize_frame(3, b"op", mask_key=key), 1002
    if kind == "orphan-continuation":
        return serialize_frame(Opcode.CONTINUATION, b"c", mask_key=key), 1002
    if kind == "invalid-utf8":
        return serialize_frame(Opcode.TEXT, b"ok\xff", mask_key=key), 1007
    wrong = None if to_server else b"\x01\x02\x03\x04"
    return serialize_frame(Opcode.BINARY, b"m", mask_key=wrong), 1002


def send_items(conn: ClientConnection | ServerConnection, items: list[Action]) -> bytes:
    for kind, value in items:
        if kind == "text":
            assert isinstance(value, str)
            conn.send_text(value)
        elif kind == "binary":
            assert isinstance(value, bytes)
            conn.send_binary(value)
        else:
            assert isinstance(value, bytes)
            conn.ping(value)
    return conn.data_to_send()


@given(
    before=valid_items,
    after=valid_items,
    bad=st.sampled_from(BAD_FRAMES),
    cuts=st.lists(st.integers(min_value=0), max_size=20),
    server_side=st.booleans(),
)
def test_replies_to_everything_before_a_bad_frame_precede_the_failure_close(
    before: list[Action], after: list[Action], bad: str, cuts: list[int], server_side: bool
) -> None:
    client, server = open_pair()
    conn, peer = (server, client) if server_side else (client, server)
    role: Role = "server" if server_side else "client"
    broken, code = bad_frame(bad, to_server=server_side)
    stream = send_items(peer, before) + broken + send_items(peer, after)
    seen: list[Event] = []
    out = b""
    for piece in chunked(stream, cuts):
        conn.receive_data(piece)
        for event in conn.events():  # an echoing application
            seen.append(event)
            if isinstance(event, TextMessage):
                conn.send_text(event.data)
            elif isinstance(event, BytesMessage):
                conn.send_binary(event.data)
        out += conn.data_to_send()
    expected_events: list[Event] = []
    expected_frames: list[Frame] = []
    for kind, value in before:
        if kind == "text":
            assert isinstance(value, str)
            expected_events.append(TextMessage(value))
            expected_frames.append(text(value))
        elif kind == "binary":
            assert isinstance(value, bytes)
            expected_events.append(BytesMessage(value))
            expected_frames.append(binary(value))
        else:
            assert isinstance(value, bytes)
            expected_events.append(Ping(value))
            expected_frames.append(pong(value))
    assert seen[:-1] == expected_events
    assert isinstance(seen[-1], Close) and (seen[-1].code, seen[-1].by_peer) == (code, False)
    sent = parse_sent(role, out)
    # Every reply, in order, then the failure close, and nothing after it.
    assert sent[:-1] == expected_frames
    assert sent[-1].opcode == CLOSE and sent[-1].payload[:2] == code.to_bytes(2, "big")
    assert conn.should_close_transport
