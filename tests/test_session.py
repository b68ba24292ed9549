"""The session layer on its own: pings, keepalive, deadlines and flow, with a made-up clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from conformance_helpers import BINARY, Frame, peer_frames
from pairs import open_pair, transfer

from wsproto_core import ClientConnection, ConnectionState, ServerConnection, TransportAction
from wsproto_core.events import Pong
from wsproto_core.session import OVERRUN_FACTOR, Due, Hold, Session
from wsproto_core.state import FAILURE_GRACE

if TYPE_CHECKING:
    from wsproto_core.versions import ProtocolVersion


def session(
    version: ProtocolVersion = 13, **options: Any
) -> tuple[Session[str], ServerConnection, ClientConnection]:
    """A session over the server side of an open pair; also the pair."""
    client, server = open_pair(version)
    return Session(server, **options), server, client


def test_a_pong_acknowledges_its_ping_and_every_earlier_one() -> None:
    s, server, _ = session()
    s.ping("first", 0.0, b"1")
    s.ping("second", 1.0, b"2")
    s.ping("third", 2.0, b"3")
    assert s.pong(b"2", 5.0) == [("first", 5.0), ("second", 4.0)]
    assert s.pong(b"1", 6.0) == []  # already acknowledged
    assert s.pong(b"unsolicited", 6.0) == []
    assert s.forget_pings() == ["third"]


def test_a_payload_waiting_for_its_pong_is_refused() -> None:
    s, _, _ = session()
    s.ping(None, 0.0, b"x")
    with pytest.raises(ValueError, match="already waiting"):
        s.ping(None, 0.0, b"x")


def test_keepalive_pings_then_fails_with_1011_without_a_pong() -> None:
    s, server, _ = session(ping_interval=10, ping_timeout=5)
    s.start(100.0)
    assert s.next_deadline() == 110.0
    assert s.due(109.9) is None
    assert s.due(110.0) is Due.PING
    assert server.data_to_send()[:1] == b"\x89"  # a ping frame
    assert s.next_deadline() == 115.0  # its pong is due
    assert s.due(115.0) is Due.KEEPALIVE_FAILED
    assert server.state is ConnectionState.CLOSING
    assert server.data_to_send()[:4] == b"\x88\x18\x03\xf3"  # close 1011 with a reason


def test_a_pong_in_time_keeps_the_connection() -> None:
    s, server, client = session(ping_interval=10, ping_timeout=5)
    s.start(0.0)
    assert s.due(10.0) is Due.PING
    client.receive_data(server.data_to_send())
    list(client.events())  # the client answers with a pong
    [pong] = transfer(client, server)
    assert isinstance(pong, Pong)
    assert s.pong(pong.payload, 11.0) == []  # nobody waited: keepalive
    assert s.next_deadline() == 20.0  # the next ping, no pong deadline
    assert s.due(15.0) is None


def test_a_peer_taking_our_bytes_while_we_do_not_read_is_alive() -> None:
    s, server, _ = session(ping_interval=10, ping_timeout=5)
    s.start(0.0)
    s.hold(Hold.WRITE)
    assert s.due(10.0) is Due.PING
    s.taken += 1000  # the peer took some of what we wrote
    assert s.due(15.0) is None  # not a failure: try again
    assert server.state is ConnectionState.OPEN
    assert s.due(20.0) is Due.PING
    assert s.due(25.0) is Due.KEEPALIVE_FAILED  # nothing taken since: gone


def test_no_keepalive_on_the_hixie_drafts() -> None:
    s, _, _ = session("hixie-76", ping_interval=10, ping_timeout=5)
    s.start(0.0)
    assert s.next_deadline() is None


def test_the_close_timeout_starts_when_the_connection_leaves_open() -> None:
    s, server, _ = session(close_timeout=3)
    s.update(0.0)
    assert s.next_deadline() is None
    server.close()
    s.update(1.0)
    assert s.next_deadline() == 4.0
    s.update(2.0)  # armed once: the closing handshake as a whole is bounded
    assert s.due(4.0) is Due.CLOSE_TIMEOUT


def test_a_failure_in_step_waits_briefly_then_expires() -> None:
    _, server = open_pair(server_options={"max_message_size": 4})
    s: Session[str] = Session(server, close_timeout=30)
    server.receive_data(peer_frames("server", [Frame(BINARY, b"", length=5)])[0])
    list(server.events())
    assert server.transport_action is TransportAction.WAIT_BRIEFLY
    s.update(0.0)
    assert s.next_deadline() == FAILURE_GRACE
    assert s.due(FAILURE_GRACE) is Due.EXPIRED
    assert server.transport_action.name == "HALF_CLOSE"


def test_holds_and_overrun() -> None:
    s, server, _ = session(write_limit=1000)
    assert s.hold(Hold.QUEUE) and s.hold(Hold.WRITE)
    assert s.release(Hold.QUEUE)  # still held for writing
    assert not s.release(Hold.WRITE)
    assert not s.overrun(1000 * OVERRUN_FACTOR)
    assert server.state is ConnectionState.OPEN
    assert s.overrun(1000 * OVERRUN_FACTOR + 1)
    assert server.state.name == "CLOSING"  # failed with 1013


@pytest.mark.parametrize(
    "options", [{"ping_interval": 0}, {"ping_timeout": -1}, {"close_timeout": 0}]
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        session(**options)
