"""The rules group of the catalogue judges a wrong testee wrong.

``test_conformance_kit`` shows our connections pass the group; here the testee
is one of our connections that reads its peer's frames leniently (it takes a
frame masked the wrong way or with a longer length form than needed for a good
one, or answers a ping sent inside a message only once the message is whole),
or whose application loses messages, and the case must come out FAILED or
NON-STRICT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pytest

from wsproto_core.connection import ClientConnection, Connection, ServerConnection
from wsproto_core.events import BytesMessage, TextMessage
from wsproto_core.frames import mask, parse_frame_header
from wsproto_core.state import ConnectionState
from wsproto_core.testing.catalogue import CatalogueOptions, select
from wsproto_core.testing.catalogue import catalogue as full_catalogue
from wsproto_core.testing.memory import URL, run_in_memory
from wsproto_core.testing.wire import CONTINUATION, PING, Frame, encode

if TYPE_CHECKING:
    from collections.abc import Iterator

    from wsproto_core.events import Event
    from wsproto_core.testing.cases import Case
    from wsproto_core.testing.engine import CaseResult

Role = Literal["server", "client"]
ROLES = pytest.mark.parametrize("role", ["server", "client"])
RULES = select(full_catalogue(CatalogueOptions()), ["rules"])


def _case(description: str) -> Case:
    """The rules case that sends what ``description`` says (ids may be renumbered)."""
    (found,) = [case for case in RULES if case.description == description]
    return found


@dataclass(frozen=True)
class Fault:
    """What the faulty testee gets wrong.

    Attributes:
        lenient_framing: It reads every frame as if its masking and length form were right.
        late_pings: It holds back a ping sent inside a fragmented message until the message ends.
        drop_messages: Its application never sees a message, so echoes none.
    """

    lenient_framing: bool = False
    late_pings: bool = False
    drop_messages: bool = False


class _Faulty(Connection):
    """One of our connections with a :class:`Fault` (mixed in before the role's class).

    With ``lenient_framing`` or ``late_pings`` it reads its peer's frames whole
    and hands the core a stream of well-formed frames, rewritten and reordered.
    """

    def __init__(self, *args: Any, fault: Fault, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fault = fault
        self._buffer = bytearray()
        self._held: list[Frame] = []
        self._in_message = False

    def receive_data(self, data: bytes) -> None:
        fault = self.fault
        rewrites = fault.lenient_framing or fault.late_pings
        if not rewrites or not data or self.state is not ConnectionState.OPEN:
            super().receive_data(data)
            return
        client_peer = isinstance(self, ServerConnection)
        frames = [self._rewrite(frame) for frame in self._whole_frames(data)]
        stream = b"".join(encode(f, client=client_peer) for fs in frames for f in fs)
        if stream:
            super().receive_data(stream)

    def _whole_frames(self, data: bytes) -> Iterator[Frame]:
        """The frames complete in what arrived so far, unmasked, their lengths as sent."""
        buffer = self._buffer
        buffer += data
        while (header := parse_frame_header(buffer)) is not None:
            end = header.header_length + header.length
            if len(buffer) < end:
                return
            payload = bytes(buffer[header.header_length : end])
            if header.mask_key is not None:
                payload = mask(payload, header.mask_key)
            del buffer[:end]
            yield Frame(header.opcode, payload, header.fin, header.rsv >> 4)

    def _rewrite(self, frame: Frame) -> list[Frame]:
        """What the core gets for ``frame``: it, or nothing yet, or it after held pings."""
        if not self.fault.late_pings:
            return [frame]
        if frame.opcode == PING and self._in_message:
            self._held.append(frame)
            return []
        if frame.opcode < 8:
            self._in_message = not frame.fin
        if frame.opcode == CONTINUATION and frame.fin:
            released, self._held = self._held, []
            return [frame, *released]
        return [frame]

    def events(self) -> Iterator[Event]:
        for event in super().events():
            if not (self.fault.drop_messages and isinstance(event, TextMessage | BytesMessage)):
                yield event


class _FaultyServer(_Faulty, ServerConnection):
    pass


class _FaultyClient(_Faulty, ClientConnection):
    pass


def _play(description: str, role: Role, fault: Fault) -> CaseResult:
    """Play the rules case described so against one of our connections with ``fault``."""

    def testee(case: Case, testee_role: Role) -> ServerConnection | ClientConnection:
        if testee_role == "server":
            return _FaultyServer(fault=fault)
        return _FaultyClient(URL, fault=fault)

    return run_in_memory(_case(description), role, testee)


_WRONG = "masked the wrong way round (unmasked to a server testee, masked to a client testee)"


@ROLES
@pytest.mark.parametrize(
    "description",
    [
        f"Send a text message {_WRONG}.",
        "Send a binary message of 5 bytes with its length in the 16-bit form.",
        "Send a binary message of 65535 bytes with its length in the 64-bit form.",
    ],
)
def test_fails_a_testee_that_reads_a_badly_framed_message(role: Role, description: str) -> None:
    result = _play(description, role, Fault(lenient_framing=True))
    assert result.behaviour == "FAILED"
    assert " was " in result.behaviour_reason  # it echoed the message
    assert result.close_behaviour == "FAILED"
    assert result.close_reason == "the testee did not fail the connection: the peer had to close it"


@ROLES
def test_fails_a_testee_that_answers_a_close_masked_the_wrong_way(role: Role) -> None:
    result = _play(
        f"Send a close frame with code 1000 {_WRONG}.", role, Fault(lenient_framing=True)
    )
    assert result.testee_close == (1000, "")
    assert result.close_behaviour == "FAILED"
    assert result.close_reason == "close code 1000, expected 1002"


@ROLES
def test_fails_a_testee_that_answers_a_ping_inside_a_message_only_after_it(role: Role) -> None:
    description = (
        "Send the first fragment of a text message and a ping, and never the rest of the message."
    )
    result = _play(description, role, Fault(late_pings=True))
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason == (
        "expected 1 message or pong, got 0: #1 (pong (12 bytes) b'ping payload') never came"
    )


_PING_TEXT_RESERVED = (
    "Send a ping, a text message, a frame with reserved opcode 3, then another text message, "
    "in one write."
)


@ROLES
def test_failing_with_the_pong_but_without_the_echo_before_the_bad_frame_is_non_strict(
    role: Role,
) -> None:
    result = _play(_PING_TEXT_RESERVED, role, Fault(drop_messages=True))
    assert result.behaviour == "NON-STRICT"
    assert [r.kind for r in result.received] == ["pong"]
    assert result.close_behaviour == "OK"


def test_the_group_is_numbered_as_its_table_says() -> None:
    from wsproto_core.testing.catalogue import rules

    assert rules.__doc__ is not None
    ranges = re.findall(r"^(\d+)-(\d+) ", rules.__doc__, re.MULTILINE)
    numbers = [n for first, last in ranges for n in range(int(first), int(last) + 1)]
    assert numbers == list(range(1, len(RULES) + 1))
    assert [case.id for case in RULES] == [f"rules.{n}" for n in numbers]
