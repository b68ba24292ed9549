"""Families 6 and 7 of the catalogue judge a testee that gets them wrong.

Our connections pass every case (tests/test_conformance_kit.py); these tests
show the cases can say otherwise. The testees are ours made worse: one that
reads a message only once its last frame is in (it fails invalid UTF-8 late),
and testees played by hand, byte by byte, against the kit's peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core.connection import ClientConnection, ServerConnection
from wsproto_core.frames import parse_frame_header
from wsproto_core.handshake import ClientHandshake, parse_uri
from wsproto_core.testing.catalogue import CatalogueOptions, catalogue, select
from wsproto_core.testing.catalogue.utf8 import (
    EDITED,
    KOSME,
    STRESS_SECTIONS,
    SURROGATE,
    is_utf8,
)
from wsproto_core.testing.engine import CaseRun
from wsproto_core.testing.memory import URL, run_in_memory
from wsproto_core.testing.wire import Frame, close, encode, pong

if TYPE_CHECKING:
    from wsproto_core.testing.cases import Case, Role

ROLES: tuple[Role, ...] = ("server", "client")
_CASES = {case.id: case for case in catalogue(CatalogueOptions())}


def _case(case_id: str) -> Case:
    return _CASES[case_id]


# -- the catalogue's shape ----------------------------------------------------------------------


def test_family_6_has_autobahns_145_cases_in_order() -> None:
    ids = [c.id for c in select(_CASES.values(), ["6"])]
    assert len(ids) == 145
    assert ids[:13] == [
        "6.1.1", "6.1.2", "6.1.3", "6.2.1", "6.2.2", "6.2.3", "6.2.4",
        "6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4",
    ]  # fmt: skip
    assert ids[-1] == "6.23.7"
    assert [len(seqs) for _, seqs in STRESS_SECTIONS] == [
        5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7,
    ]  # fmt: skip


def test_family_7_has_autobahns_37_cases() -> None:
    ids = [c.id for c in select(_CASES.values(), ["7"])]
    assert len(ids) == 37
    assert ids[:13] == [
        *(f"7.1.{n}" for n in range(1, 7)),
        *(f"7.3.{n}" for n in range(1, 7)),
        "7.5.1",
    ]
    assert ids[13:] == [
        *(f"7.7.{n}" for n in range(1, 14)),
        *(f"7.9.{n}" for n in range(1, 10)),
        "7.13.1",
        "7.13.2",
    ]


@pytest.mark.parametrize(
    ("case_id", "payload", "valid"),
    [
        ("6.6.11", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", True),  # Kuhn's kosme, whole
        ("6.6.10", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce", False),  # cut inside the last
        ("6.11.5", b"\xf4\x90\x80\x80", False),  # beyond U+10FFFF
        ("6.20.1", b"\xed\xa0\x80", False),  # a surrogate
        ("6.22.34", b"\xf4\x8f\xbf\xbf", True),  # a noncharacter is UTF-8
        ("6.23.5", b"\xef\xbf\xbd", True),  # U+FFFD
    ],
)
def test_stress_case_echoes_exactly_the_valid_sequences(
    case_id: str, payload: bytes, valid: bool
) -> None:
    case = _case(case_id)
    assert payload.hex() in case.description
    assert is_utf8(payload) is valid
    if valid:
        assert case.ok is not None and [r.data for r in case.ok] == [payload]
    else:
        assert case.ok == () and case.close.codes == (1007,) and not case.close.closed_by_me


# -- a testee that validates UTF-8 only at the end of a message -----------------------------------


class _HoldsMessages:
    """Holds a data message's frames until its last one is in; control frames go through.

    The connection under it then sees a message whole: invalid text is failed
    at the end of the message, not at the bad byte (still with 1007).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = bytearray()  # frames not whole yet
        self._held = bytearray()  # the open message's frames

    def receive_data(self, data: bytes) -> None:
        if not data or self.protocol_version is None:  # type: ignore[attr-defined]
            super().receive_data(data)  # type: ignore[misc]
            return
        self._buffer += data
        while (header := parse_frame_header(self._buffer)) is not None:
            end = header.header_length + header.length
            if len(self._buffer) < end:
                break
            frame = bytes(self._buffer[:end])
            del self._buffer[:end]
            if header.opcode >= 8:
                super().receive_data(frame)  # type: ignore[misc]
            elif not header.fin:
                self._held += frame
            else:
                held, self._held = bytes(self._held), bytearray()
                super().receive_data(held + frame)  # type: ignore[misc]


class _LateServer(_HoldsMessages, ServerConnection):
    pass


class _LateClient(_HoldsMessages, ClientConnection):
    pass


def _late_testee(case: Case, role: Role) -> ServerConnection | ClientConnection:
    return _LateServer() if role == "server" else _LateClient(URL, version=case.version)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case_id", ["6.4.1", "6.4.2", "6.4.3", "6.4.4", "rules.103"])
def test_failing_invalid_utf8_only_at_the_end_is_non_strict(case_id: str, role: Role) -> None:
    result = run_in_memory(_case(case_id), role, connection=_late_testee)
    assert (result.behaviour, result.close_behaviour) == ("NON-STRICT", "OK")
    assert result.testee_close is not None and result.testee_close[0] == 1007


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case_id", ["6.2.3", "6.3.1", "6.3.2", "6.6.10", "7.1.5"])
def test_the_late_testee_is_otherwise_ok(case_id: str, role: Role) -> None:
    # Where nothing is sent after the bad byte, failing late is failing at once.
    assert run_in_memory(_case(case_id), role, connection=_late_testee).verdict == "OK"


# -- testees played by hand -----------------------------------------------------------------------


class _HandPlayed:
    """A client testee played by hand: our handshake, then frames built here.

    The kit's peer is then the server: it answers the request and plays the
    case; what the testee sends back is whatever the test writes.
    """

    def __init__(self, case: Case) -> None:
        self.now = 0.0
        self.run = CaseRun(case, "client", clock=lambda: self.now)
        self.run.start()
        self.run.receive_data(ClientHandshake(parse_uri(URL)).request)
        self.sent = b"".join(self.run.writes())

    def send(self, *frames: Frame) -> None:
        self.run.receive_data(b"".join(encode(f, client=True) for f in frames))
        self.sent += b"".join(self.run.writes())

    def wait_in_vain(self) -> None:
        assert self.run.deadline is not None
        self.now = self.run.deadline
        self.run.on_deadline()
        self.sent += b"".join(self.run.writes())


def test_echoing_another_close_code_fails() -> None:
    testee = _HandPlayed(_case("7.7.1"))  # close 1000: echo 1000 (or no code)
    testee.send(close(1001))
    result = testee.run.result()
    assert result.close_behaviour == "FAILED"
    assert "close code 1001" in result.close_reason


@pytest.mark.parametrize(("case_id", "code"), [("7.3.1", None), ("7.7.12", 4000), ("7.7.3", 1000)])
def test_echo_with_the_code_1000_or_none_is_ok(case_id: str, code: int | None) -> None:
    testee = _HandPlayed(_case(case_id))
    testee.send(close(code))
    assert testee.run.result().close_behaviour == "OK"


@pytest.mark.parametrize("answer", [1000, 1016])
def test_answering_an_invalid_code_without_failing_fails(answer: int) -> None:
    testee = _HandPlayed(_case("7.9.6"))  # close 1016: fail with 1002
    testee.send(close(answer))  # hand-built: our core would not send 1016
    assert testee.run.result().verdict == "FAILED"


def test_dropping_the_connection_on_a_bad_close_is_non_strict() -> None:
    testee = _HandPlayed(_case("7.3.2"))  # a 1-octet close payload: 1002 "or drop TCP"
    testee.run.receive_data(b"")
    result = testee.run.result()
    assert (result.behaviour, result.close_behaviour) == ("OK", "NON-STRICT")


def test_dropping_the_connection_on_a_good_close_fails() -> None:
    testee = _HandPlayed(_case("7.3.3"))  # close 1000: a clean close is required
    testee.run.receive_data(b"")
    assert testee.run.result().close_behaviour == "FAILED"


def test_answering_a_ping_after_the_close_fails() -> None:
    testee = _HandPlayed(_case("7.1.3"))
    testee.send(pong(), close(1000))
    result = testee.run.result()
    assert result.behaviour == "FAILED"
    assert "pong" in result.behaviour_reason


def test_failing_before_the_bad_byte_fails() -> None:
    # 6.4.2's first frame ends in F4, a valid start: a testee that checks each
    # frame's text on its own fails there, before the ping after it.
    testee = _HandPlayed(_case("6.4.2"))
    testee.send(close(1007))
    result = testee.run.result()
    assert (result.behaviour, result.close_behaviour) == ("FAILED", "OK")
    assert "never came" in result.behaviour_reason


def test_echoing_invalid_text_fails() -> None:
    case = _case("6.3.1")
    testee = _HandPlayed(case)
    testee.send(Frame(1, KOSME + SURROGATE + EDITED))  # echoed, not refused
    result = testee.run.result()
    assert result.behaviour == "FAILED"
    assert "invalid UTF-8" in result.behaviour_reason
    assert result.close_behaviour == "FAILED"
