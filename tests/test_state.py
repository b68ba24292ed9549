"""The state machine: the transition table on its own, and a stateful test of both roles.

The stateful test drives a connection (either role, RFC 6455 or a hixie draft)
through the public API in any order: the peer's frames, good and bad, in any
chunking; the application's sends and closes, between and during event loops;
EOF; the adapter's timeouts (``expire()``). It checks what an adapter and an
application rely on after every step.
"""

from __future__ import annotations

import pytest
from conformance_helpers import (
    BINARY,
    Frame,
    Role,
    close,
    open_role,
    parse_sent,
    peer_frames,
    ping,
    text,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wsproto_core import ConnectionState, InvalidState
from wsproto_core.events import Close, Event, Ping
from wsproto_core.state import TABLES, Phase, TransportAction, Trigger, transition

_STATE_ORDER = list(ConnectionState)

# How far each action has gone toward ending the stream: it never goes back.
_ACTION_RANK = {
    TransportAction.NONE: 0,
    TransportAction.WAIT: 1,
    TransportAction.WAIT_BRIEFLY: 1,
    TransportAction.HALF_CLOSE: 2,
    TransportAction.CLOSE: 3,
}


# -- the table ----------------------------------------------------------------------------


@pytest.mark.parametrize("client", [False, True])
def test_every_phase_is_reachable_from_connecting(client: bool) -> None:
    seen = {Phase.CONNECTING}
    frontier = [Phase.CONNECTING]
    while frontier:
        phase = frontier.pop()
        for (source, _), target in TABLES[client].items():
            if source is phase and target not in seen:
                seen.add(target)
                frontier.append(target)
    if client:
        assert seen == set(Phase)
    else:
        assert seen == set(Phase) - {Phase.AWAIT_EOF}  # a server never waits for EOF


@pytest.mark.parametrize("client", [False, True])
def test_eof_ends_every_phase(client: bool) -> None:
    for phase in Phase:
        assert transition(client, phase, Trigger.EOF) is Phase.CLOSED


@pytest.mark.parametrize("client", [False, True])
def test_no_move_goes_back(client: bool) -> None:
    # The public state and the transport action only move forward.
    for (source, _), target in TABLES[client].items():
        assert _STATE_ORDER.index(target.public) >= _STATE_ORDER.index(source.public)
        assert _ACTION_RANK[target.action] >= _ACTION_RANK[source.action]


def test_the_roles_differ_only_after_the_closing_handshake() -> None:
    # RFC 6455 §7.1.1: the server closes the stream first; the client waits for it.
    server, client = TABLES[False], TABLES[True]
    assert server.keys() == client.keys()
    differ = {key for key in server if server[key] is not client[key]}
    assert differ == {
        (Phase.OPEN, Trigger.CLOSE_RECEIVED),
        (Phase.CLOSING, Trigger.CLOSE_RECEIVED),
        (Phase.FAILING, Trigger.CLOSE_RECEIVED),
    }
    assert {server[key] for key in differ} == {Phase.DRAINING}
    assert {client[key] for key in differ} == {Phase.AWAIT_EOF}


def test_public_states_and_actions() -> None:
    assert Phase.FAILING.public is ConnectionState.CLOSING
    assert Phase.FAILING.action is TransportAction.WAIT_BRIEFLY
    assert Phase.AWAIT_EOF.public is ConnectionState.CLOSED
    assert Phase.AWAIT_EOF.action is TransportAction.WAIT
    assert Phase.DRAINING.action is TransportAction.HALF_CLOSE
    assert Phase.CLOSED.action is TransportAction.CLOSE
    assert Phase.REFUSING.public is ConnectionState.CONNECTING
    for phase in (Phase.CONNECTING, Phase.REFUSING, Phase.OPEN):
        assert phase.action is TransportAction.NONE


def test_a_move_not_in_the_table_is_refused() -> None:
    with pytest.raises(KeyError):
        transition(False, Phase.OPEN, Trigger.ACCEPTED)
    with pytest.raises(KeyError):
        transition(True, Phase.CLOSED, Trigger.CLOSE_SENT)


# -- the connection, driven through its public API ----------------------------------------

LIMIT = 64
"""The max_message_size of the connection under test."""

_GOOD_FRAMES = st.one_of(
    st.text(max_size=8).map(text),
    st.binary(max_size=8).map(lambda data: Frame(BINARY, data)),
    st.binary(max_size=4).map(ping),
    st.sampled_from([1000, 1001, 4000]).map(close),
)
_BAD_FRAMES = st.one_of(
    st.just(text("x", rsv=4)),  # a reserved bit
    st.just(Frame(0x3)),  # a reserved opcode
    st.just(text(b"\xff")),  # not UTF-8
    st.just(Frame(BINARY, b"", length=LIMIT + 1)),  # over the limit, skippable
    st.just(Frame(BINARY, b"", length=2**63 - 1)),  # over the limit, too big to skip
)


class ConnectionMachine(RuleBasedStateMachine):
    """One connection under test; the peer's bytes are hand-built."""

    def __init__(self) -> None:
        super().__init__()
        self.role: Role = "server"
        self.events: list[Event] = []
        self.sent: bytes = b""
        self.last_state = ConnectionState.OPEN
        self.last_rank = 0
        self.pending: bytes = b""
        self.eof = False

    @initialize(role=st.sampled_from(["server", "client"]))
    def start(self, role: Role) -> None:
        self.role = role
        self.conn = open_role(role, max_message_size=LIMIT)

    @precondition(lambda self: not self.eof)
    @rule(
        frames=st.lists(st.one_of(_GOOD_FRAMES, _BAD_FRAMES), min_size=1, max_size=3),
        cut=st.integers(0, 40),
    )
    def peer_sends(self, frames: list[Frame], cut: int) -> None:
        data = self.pending + b"".join(peer_frames(self.role, frames))
        cut = min(cut, len(data))
        self.pending = data[len(data) - cut :] if cut else b""
        head = data[: len(data) - cut]
        if head:
            self.conn.receive_data(head)

    @rule(count=st.integers(0, 3), reply=st.booleans())
    def application_reads(self, count: int, reply: bool) -> None:
        for index, event in enumerate(self.conn.events()):
            self._record(event)
            if reply and self.conn.state is ConnectionState.OPEN:
                self.conn.send_text("reply")
            if index + 1 >= count:
                break

    @rule()
    def application_reads_everything(self) -> None:
        for event in self.conn.events():
            self._record(event)
        if self.conn.state is ConnectionState.CLOSED:
            # However it ended, the application was told, with the code.
            assert isinstance(self.events[-1], Close)

    @rule(code=st.sampled_from([1000, 1001, 4000]))
    def application_closes(self, code: int) -> None:
        self.conn.close(code)

    @rule()
    def application_sends(self) -> None:
        state = self.conn.state
        if state is ConnectionState.OPEN:
            self.conn.send_binary(b"data")
            return
        with pytest.raises(InvalidState) as raised:
            self.conn.send_binary(b"data")
        assert raised.value.state is state

    @precondition(lambda self: not self.eof)
    @rule()
    def peer_ends_the_stream(self) -> None:
        self.eof = True
        self.conn.receive_data(b"")

    @rule()
    def adapter_wait_runs_out(self) -> None:
        self.conn.expire()

    def _written(self) -> bytes:
        # What an adapter does after every call: take the bytes owed.
        self.sent += self.conn.data_to_send()
        return self.sent

    def _record(self, event: Event) -> None:
        assert not any(isinstance(seen, Close) for seen in self.events), f"{event!r} after a Close"
        self.events.append(event)

    # -- what must hold after every step --------------------------------------------------

    @invariant()
    def transport_action_agrees(self) -> None:
        conn = self.conn
        action = conn.transport_action
        assert conn.should_close_transport == (
            action in (TransportAction.HALF_CLOSE, TransportAction.CLOSE)
        )
        state = conn.state
        if state is ConnectionState.OPEN:
            assert action is TransportAction.NONE
        elif state is ConnectionState.CLOSING:
            assert action in (TransportAction.WAIT, TransportAction.WAIT_BRIEFLY)
        elif state is ConnectionState.CLOSED:
            assert action is not TransportAction.NONE
            if action is TransportAction.WAIT:
                assert self.role == "client"  # waiting for the server to close first

    @invariant()
    def nothing_goes_back(self) -> None:
        state = self.conn.state
        assert _STATE_ORDER.index(state) >= _STATE_ORDER.index(self.last_state)
        rank = _ACTION_RANK[self.conn.transport_action]
        assert rank >= self.last_rank
        self.last_state, self.last_rank = state, rank

    @invariant()
    def no_data_after_our_close(self) -> None:
        sent = parse_sent(self.role, self._written())
        closes = [index for index, frame in enumerate(sent) if frame.opcode == 0x8]
        assert len(closes) <= 1, "two close frames sent"
        if closes:
            after = sent[closes[0] + 1 :]
            assert all(frame.opcode == 0xA for frame in after), after  # pongs only

    @invariant()
    def pongs_answer_pings(self) -> None:
        # Every yielded Ping before a Close has its pong queued, in order.
        pings = [event.payload for event in self.events if isinstance(event, Ping)]
        sent = parse_sent(self.role, self._written())
        pongs = [frame.payload for frame in sent if frame.opcode == 0xA]
        assert pongs == pings


TestConnectionMachine = ConnectionMachine.TestCase
TestConnectionMachine.settings = settings(
    max_examples=200, stateful_step_count=25, suppress_health_check=[HealthCheck.too_slow]
)
