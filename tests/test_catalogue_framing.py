"""Families 1 to 5 and 10 of the catalogue judge a wrong testee wrong.

``test_conformance_kit`` shows our connections pass these cases; here each
testee is one of our connections with a deliberate fault (it echoes text as
binary, swallows pongs, does not see reserved bits, drops messages), and the
case must come out FAILED or NON-STRICT, for the reason the fault explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pytest

from wsproto_core.connection import ClientConnection, Connection, ServerConnection
from wsproto_core.events import BytesMessage, TextMessage
from wsproto_core.frames import mask, parse_frame_header
from wsproto_core.state import ConnectionState
from wsproto_core.testing.catalogue import CatalogueOptions, catalogue
from wsproto_core.testing.memory import URL, run_in_memory
from wsproto_core.testing.wire import PONG

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wsproto_core.events import Event
    from wsproto_core.testing.cases import Case
    from wsproto_core.testing.engine import CaseResult

Role = Literal["server", "client"]
ROLES = pytest.mark.parametrize("role", ["server", "client"])
CASES = {case.id: case for case in catalogue(CatalogueOptions())}


@dataclass(frozen=True)
class Fault:
    """What the faulty testee gets wrong.

    Attributes:
        blind_to_rsv: It clears the reserved bits of every frame it receives.
        text_as_binary: It echoes a text message as a binary one.
        drop_messages: Its application never sees a message, so echoes none.
        swallow_pong: Its pongs whose payload this returns ``True`` for are never sent.
        echo_fragment_size: It echoes in frames of this many characters.
    """

    blind_to_rsv: bool = False
    text_as_binary: bool = False
    drop_messages: bool = False
    swallow_pong: Callable[[bytes], bool] | None = None
    echo_fragment_size: int | None = None


def _frames(data: bytes) -> Iterator[bytes]:
    """The whole frames ``data`` holds (the in-memory peer and our core write whole frames)."""
    pos = 0
    while pos < len(data):
        header = parse_frame_header(data, pos)
        assert header is not None
        end = pos + header.header_length + header.length
        yield data[pos:end]
        pos = end


def _is_swallowed(frame: bytes, swallow: Callable[[bytes], bool]) -> bool:
    header = parse_frame_header(frame)
    assert header is not None
    if header.opcode != PONG:
        return False
    payload = frame[header.header_length :]
    return swallow(mask(payload, header.mask_key) if header.mask_key else payload)


class _Faulty(Connection):
    """One of our connections with a :class:`Fault` (mixed in before the role's class)."""

    fault: Fault = Fault()

    def receive_data(self, data: bytes) -> None:
        if self.fault.blind_to_rsv and data and self.state is ConnectionState.OPEN:
            data = b"".join(bytes([f[0] & 0x8F]) + f[1:] for f in _frames(data))
        super().receive_data(data)

    def data_to_send(self) -> bytes:
        data = super().data_to_send()
        swallow = self.fault.swallow_pong
        if swallow is None or self.state is ConnectionState.CONNECTING:
            return data
        return b"".join(f for f in _frames(data) if not _is_swallowed(f, swallow))

    def events(self) -> Iterator[Event]:
        for event in super().events():
            if not (self.fault.drop_messages and isinstance(event, TextMessage | BytesMessage)):
                yield event

    def send_text(self, data: str, final: bool = True) -> None:
        size = self.fault.echo_fragment_size
        if self.fault.text_as_binary:
            super().send_binary(data.encode(), final)
        elif size is not None:
            pieces = [data[i : i + size] for i in range(0, len(data), size)] or [""]
            for n, piece in enumerate(pieces):
                super().send_text(piece, final and n == len(pieces) - 1)
        else:
            super().send_text(data, final)


class _FaultyServer(_Faulty, ServerConnection):
    pass


class _FaultyClient(_Faulty, ClientConnection):
    pass


def _play(case_id: str, role: Role, fault: Fault) -> CaseResult:
    """Play a case of the catalogue against one of our connections with ``fault``."""

    def testee(case: Case, testee_role: Role) -> ServerConnection | ClientConnection:
        conn = _FaultyServer() if testee_role == "server" else _FaultyClient(URL)
        conn.fault = fault
        return conn

    return run_in_memory(CASES[case_id], role, testee)


@ROLES
def test_1_1_2_fails_a_text_message_echoed_as_binary(role: Role) -> None:
    result = _play("1.1.2", role, Fault(text_as_binary=True))
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason == (
        f"#1: expected text (125 bytes) {b'*' * 40!r}..., got binary (125 bytes) {b'*' * 40!r}..."
    )
    assert result.close_behaviour == "OK"


@ROLES
def test_2_1_fails_a_ping_never_answered(role: Role) -> None:
    result = _play("2.1", role, Fault(swallow_pong=lambda payload: True))
    assert result.verdict == "FAILED"
    assert result.behaviour_reason == (
        "expected 1 message or pong, got 0: #1 (pong (0 bytes) b'') never came"
    )


@ROLES
@pytest.mark.parametrize("case_id", ["2.10", "2.11"])
def test_2_10_a_pong_for_the_last_of_ten_pings_alone_is_non_strict(
    case_id: str, role: Role
) -> None:
    result = _play(case_id, role, Fault(swallow_pong=lambda payload: payload != b"payload-9"))
    assert result.verdict == "NON-STRICT"
    assert result.behaviour_reason == "received 1 message or pong: the NON-STRICT outcome"
    assert [r.data for r in result.received] == [b"payload-9"]


@ROLES
def test_2_10_fails_pongs_for_some_pings_but_not_the_last(role: Role) -> None:
    result = _play("2.10", role, Fault(swallow_pong=lambda payload: payload == b"payload-9"))
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason.endswith("#10 (pong (9 bytes) b'payload-9') never came")


@ROLES
def test_3_1_fails_a_testee_blind_to_reserved_bits(role: Role) -> None:
    result = _play("3.1", role, Fault(blind_to_rsv=True))
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason.endswith("#1 was text (13 bytes) b'Hello, world!'")
    assert result.close_behaviour == "FAILED"
    assert result.close_reason == "the testee did not fail the connection: the peer had to close it"


@ROLES
def test_3_7_fails_a_close_with_reserved_bits_taken_for_a_close(role: Role) -> None:
    # The testee answers the peer's RSV = 7 close frame (no payload) as a close: it echoes
    # a close frame without a code, where it should fail the connection with 1002.
    result = _play("3.7", role, Fault(blind_to_rsv=True))
    assert result.closed_by_me is False
    assert result.testee_close == (None, "")
    assert result.close_behaviour == "FAILED"
    assert result.close_reason == "close code None, expected 1002"


@ROLES
@pytest.mark.parametrize("case_id", ["3.2", "4.1.3", "5.15"])
def test_failing_before_the_echo_of_the_valid_message_is_non_strict(
    case_id: str, role: Role
) -> None:
    result = _play(case_id, role, Fault(drop_messages=True))
    assert result.behaviour == "NON-STRICT"
    assert result.received == []
    assert result.close_behaviour == "OK"
    assert result.testee_close is not None
    assert result.testee_close[0] == 1002


@ROLES
def test_10_1_1_the_testee_may_fragment_its_echo(role: Role) -> None:
    result = _play("10.1.1", role, Fault(echo_fragment_size=1000))
    assert result.verdict == "OK"
    echoed = [w.text for w in result.wire if w.direction == "in" and "len=1000" in w.text]
    assert len(echoed) == 65
