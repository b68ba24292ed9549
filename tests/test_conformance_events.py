"""What the application sees of families 1 to 5 and the rules group: events, state, transport.

The conformance kit (``test_conformance_kit``) judges our connections by what
they send back. These tests check the rest, which only shows in memory: the
events the application gets (a ``Ping`` or ``Pong`` for each control frame, in
stream order; a ``Close`` with ``by_peer=False`` when the connection fails,
its reason the one in the close frame), the state, and
``should_close_transport``. The peer's frames are built with
:mod:`wsproto_core.testing.wire`, as the kit builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pytest
from pairs import open_pair

from wsproto_core import ClientConnection, ConnectionState, ServerConnection
from wsproto_core.events import BytesMessage, Close, Ping, Pong, TextMessage
from wsproto_core.testing.wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PONG,
    TEXT,
    Frame,
    binary,
    cont,
    encode,
    ping,
    pong,
    split_frames,
    text,
)

if TYPE_CHECKING:
    from wsproto_core.events import Event
    from wsproto_core.testing.wire import LoggedFrame

Role = Literal["server", "client"]
ROLES = pytest.mark.parametrize("role", ["server", "client"])


def _open(role: Role) -> ServerConnection | ClientConnection:
    """An open connection in ``role``, nothing queued."""
    client, server = open_pair()
    conn: ServerConnection | ClientConnection = server if role == "server" else client
    assert conn.data_to_send() == b""
    return conn


def _feed(conn: ServerConnection | ClientConnection, *frames: Frame) -> list[Event]:
    """The frames in one read, as the connection's peer sends them; the events they give."""
    client_peer = isinstance(conn, ServerConnection)
    conn.receive_data(b"".join(encode(frame, client=client_peer) for frame in frames))
    return list(conn.events())


def _sent(conn: ServerConnection | ClientConnection) -> list[LoggedFrame]:
    """The frames the connection queued (payloads of up to 256 bytes, whole)."""
    return split_frames(bytearray(conn.data_to_send()), "in", 0.0, 1000)


def _opcodes_and_payloads(frames: list[LoggedFrame]) -> list[tuple[int, bytes]]:
    return [(frame.opcode, frame.payload) for frame in frames]


def _assert_open(conn: ServerConnection | ClientConnection) -> None:
    assert conn.state is ConnectionState.OPEN
    assert not conn.should_close_transport


_PING_PAYLOADS = {
    "empty": [b""],
    "text": [b"Hello, world!"],
    "binary": [b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"],
    "125": [b"\xfe" * 125],
    "ten-in-one-read": [f"payload-{n}".encode() for n in range(10)],
}


@ROLES
@pytest.mark.parametrize("payloads", _PING_PAYLOADS.values(), ids=_PING_PAYLOADS.keys())
def test_each_ping_is_an_event_its_pong_already_queued(role: Role, payloads: list[bytes]) -> None:
    # Cases 2.1 to 2.4, 2.10 and rules' ten pings in one write.
    conn = _open(role)
    assert _feed(conn, *(ping(p) for p in payloads)) == [Ping(p) for p in payloads]
    assert _opcodes_and_payloads(_sent(conn)) == [(PONG, p) for p in payloads]
    _assert_open(conn)


@ROLES
def test_an_unsolicited_pong_is_an_event_and_nothing_answers_it(role: Role) -> None:
    # Cases 2.7 to 2.9: RFC 6455 §5.5.3, "a response to an unsolicited Pong frame is not expected".
    conn = _open(role)
    events = _feed(conn, pong(), pong(b"unsolicited pong payload"), ping(b"ping payload"))
    assert events == [Pong(b""), Pong(b"unsolicited pong payload"), Ping(b"ping payload")]
    assert _opcodes_and_payloads(_sent(conn)) == [(PONG, b"ping payload")]
    _assert_open(conn)


@ROLES
def test_control_frames_inside_a_message_are_events_before_it(role: Role) -> None:
    # Cases 5.6 and the rules group's pong inside a binary message (RFC 6455 §5.4).
    conn = _open(role)
    frames = (binary(b"\x00", fin=False), pong(b"hb"), cont(b"\x01", fin=False), ping(b"p"))
    events = _feed(conn, *frames, cont(b"\x02"))
    assert events == [Pong(b"hb"), Ping(b"p"), BytesMessage(b"\x00\x01\x02")]
    _assert_open(conn)


@ROLES
def test_a_ping_inside_a_message_is_an_event_as_soon_as_it_is_read(role: Role) -> None:
    # Case 5.6 read frame by frame: the ping does not wait for the end of the message.
    conn = _open(role)
    assert _feed(conn, text("fragment1", fin=False)) == []
    assert _sent(conn) == []
    assert _feed(conn, ping(b"ping payload")) == [Ping(b"ping payload")]
    assert _opcodes_and_payloads(_sent(conn)) == [(PONG, b"ping payload")]
    assert _feed(conn, cont("fragment2")) == [TextMessage("fragment1fragment2")]
    assert _sent(conn) == []
    _assert_open(conn)


_CLOSE_1000 = (1000).to_bytes(2, "big")

FAILURES: dict[str, tuple[tuple[Frame, ...], list[Event]]] = {
    "wrong-masking": ((Frame(TEXT, b"Hello", wrong_mask=True),), []),
    "wrong-masking-close": ((Frame(CLOSE, _CLOSE_1000, wrong_mask=True),), []),
    "length-16-for-2-after-text": (
        (text("ok"), Frame(TEXT, b"no", length_form=16)),
        [TextMessage("ok")],
    ),
    "length-64-msb-set": ((Frame(BINARY, length=2**63),), []),
    "pong-126": ((pong(b"\xfe" * 126),), []),
    "ping-126-after-ping": ((ping(b"a"), ping(b"\xfe" * 126)), [Ping(b"a")]),
    "rsv-on-continuation": ((text("x", fin=False), Frame(CONTINUATION, b"y", rsv=1)), []),
    "rsv-on-close": ((Frame(CLOSE, _CLOSE_1000, rsv=7),), []),
    "reserved-opcode-after-ping-and-text": (
        (ping(b"p"), text("valid"), Frame(3, b"x"), text("never")),
        [Ping(b"p"), TextMessage("valid")],
    ),
    "reserved-opcode-inside-message": (
        (text("frag", fin=False), Frame(11, b"x"), cont("ment")),
        [],
    ),
    "fragmented-ping": ((ping(b"fragment1", fin=False), cont("fragment2")), []),
    "fragmented-close": ((Frame(CLOSE, _CLOSE_1000, fin=False), cont(b"")), []),
    "continuation-without-start": ((cont("non-continuation payload"), text("Hello")), []),
    "text-inside-text": ((text("fragment1", fin=False), text("fragment2")), []),
    "binary-inside-text": ((text("fragment1", fin=False), binary(b"fragment2")), []),
}
"""Frames that break a rule of RFC 6455 in one read, and the events that come before the failure."""


@ROLES
@pytest.mark.parametrize("name", FAILURES)
def test_a_broken_rule_is_a_close_event_not_by_the_peer(role: Role, name: str) -> None:
    # RFC 6455 §7.1.7: fail the connection, 1002, and close the TCP connection.
    frames, before = FAILURES[name]
    conn = _open(role)
    events = _feed(conn, *frames)
    assert events[:-1] == before
    failure = events[-1]
    assert isinstance(failure, Close)
    assert (failure.code, failure.by_peer) == (1002, False)
    assert 0 < len(failure.reason.encode()) <= 123  # it fits a close frame (§5.5)
    *pongs, last = _sent(conn)
    assert [frame.opcode for frame in pongs] == [PONG] * sum(isinstance(e, Ping) for e in before)
    assert (last.opcode, last.payload) == (
        CLOSE,
        (1002).to_bytes(2, "big") + failure.reason.encode(),
    )
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport
    assert _feed(conn, text("after the failure")) == []


@ROLES
@pytest.mark.parametrize(
    "first",
    [ping(b"fragment1", fin=False), Frame(CONTINUATION, length=24)],
    ids=["ping-without-fin", "continuation-header-without-start"],
)
def test_a_broken_rule_fails_with_the_frame_header_that_breaks_it(role: Role, first: Frame) -> None:
    # Case 5.1 read frame by frame, and case 5.9's header alone: no waiting for what follows.
    conn = _open(role)
    events = _feed(conn, first)
    assert [(type(e), getattr(e, "code", None)) for e in events] == [(Close, 1002)]
    assert conn.state is ConnectionState.CLOSED
    assert conn.should_close_transport
