"""The limits, compression, handshake and legacy cases can fail: testees that get them wrong.

tests/test_conformance_kit.py shows our connections pass these cases; here each
case meets a testee that breaks what it checks (a larger or smaller size
limit, no permessage-deflate, a window it will not agree, an echo that loses a
byte, a server that answers anything with 200 or 101, one without the legacy
drafts) and must give the verdict that says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.extensions import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory
from wsproto_core.testing.catalogue import CatalogueOptions, catalogue, select
from wsproto_core.testing.catalogue.compression import (
    CORPORA,
    MESSAGE_SIZES,
    message_count,
    messages,
)
from wsproto_core.testing.catalogue.limits import limit_cases, performance_cases
from wsproto_core.testing.memory import run_in_memory

if TYPE_CHECKING:
    from wsproto_core.extensions.base import Extension, ExtensionParams
    from wsproto_core.testing.cases import Case, Role
    from wsproto_core.testing.engine import CaseResult

LIMIT = 4096

_CATALOGUE = catalogue(CatalogueOptions(max_size=LIMIT))
_ROLES = ("server", "client")


def _case(case_id: str) -> Case:
    [case] = [c for c in _CATALOGUE if c.id == case_id]
    return case


def _limit_case(case_id: str) -> Case:
    [case] = [c for c in limit_cases(LIMIT) if c.id == case_id]
    return case


def _run(case_id: str, role: Role, **kwargs: object) -> CaseResult:
    return run_in_memory(_case(case_id), role, **kwargs)  # type: ignore[arg-type]


# -- the catalogue's shape ------------------------------------------------------------------------


def test_the_families_have_autobahns_case_counts() -> None:
    families = [c.family for c in _CATALOGUE]
    assert families.count("9") == 6 + 6 + 9 + 9 + 6 + 6 + 6 + 6
    assert families.count("12") == 5 * 18
    assert families.count("13") == 7 * 18
    assert [c.id for c in _CATALOGUE if c.family == "limits"] == [
        f"limits.{n}" for n in range(1, 17)
    ]


def test_the_limits_group_is_there_only_with_a_max_size() -> None:
    assert not [c for c in catalogue() if c.family == "limits"]
    assert not [c for c in catalogue() if c.id.startswith("legacy.") and "2**63" in c.description]


def test_family_9_is_scaled_and_says_so() -> None:
    case = _case("9.1.6")
    [step] = case.steps
    assert len(step.data) == 16 * 2**20 // 64  # type: ignore[union-attr]
    assert "16 * 2**20 (16M)" in case.description
    assert "1/64" in case.description
    # Fragment sizes stay Autobahn's: 64 bytes, not 1 (64 KiB in 1,024 fragments, not 65,536).
    assert _case("9.3.1").steps[0].fragment_size == 64  # type: ignore[union-attr]
    assert _case("9.3.9").steps[0].fragment_size == 4 * 2**20 // 64  # type: ignore[union-attr]
    assert len(_case("9.7.1").ok or ()) == round(1000 / 64)


def test_family_9_never_scales_below_one_byte_or_one_message() -> None:
    tiny = list(performance_cases(1e-9))
    assert len(tiny) == 54
    scaled = [case for case in tiny if not case.id.startswith(("9.7.", "9.8."))]
    assert all(len(received.data) == 1 for case in scaled for received in case.ok or ())
    assert {len(case.ok or ()) for case in tiny if case.id.startswith(("9.7.", "9.8."))} == {1}


def test_compression_corpora_are_autobahns_sizes_deterministic_and_text_is_utf8() -> None:
    for corpus in CORPORA:
        assert len(corpus.data) == corpus.size
        if not corpus.binary:
            corpus.data.decode("utf-8")
    json.loads(CORPORA[0].data.rsplit(b"},", 1)[0] + b"}]")  # the JSON stand-in is JSON


def test_compression_messages_run_round_the_corpus_as_a_ring() -> None:
    corpus = CORPORA[0]
    sent = messages(corpus, 131072, 3)
    joined = b"".join(sent)
    assert joined == (corpus.data * 3)[: 3 * 131072]
    assert message_count(16, 1 / 64) == 16
    assert message_count(131072, 1 / 64) == 3
    assert message_count(4096, 1.0) == 1000


def test_families_12_and_13_share_their_messages() -> None:
    json_case, same = _case("12.1.10"), _case("13.5.10")
    assert json_case.ok is not None and same.ok is not None
    assert all(a.data is b.data for a, b in zip(json_case.ok, same.ok, strict=True))
    assert [c.id for c in _CATALOGUE if c.family == "13"][-1] == "13.7.18"
    assert len(MESSAGE_SIZES) == 18


# -- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", _ROLES)
def test_a_testee_with_a_larger_limit_fails_limits_2_to_5(role: Role) -> None:
    for case_id in ("limits.2", "limits.3", "limits.4"):
        result = run_in_memory(_limit_case(case_id), role, max_message_size=2 * LIMIT)
        assert result.verdict == "FAILED", case_id
        assert result.close_reason == (
            "the testee did not fail the connection: the peer had to close it"
        )
        assert len(result.received) == 1  # it echoed the message it should have refused


@pytest.mark.parametrize("role", _ROLES)
def test_a_testee_with_a_smaller_limit_fails_limits_1(role: Role) -> None:
    result = run_in_memory(_limit_case("limits.1"), role, max_message_size=LIMIT - 1)
    assert result.behaviour == "FAILED"
    assert result.close_behaviour == "FAILED"
    assert result.testee_close is not None and result.testee_close[0] == 1009


@pytest.mark.parametrize("role", _ROLES)
def test_a_testee_without_a_limit_fails_limits_5(role: Role) -> None:
    # It waits for 2**63 - 1 bytes of payload: the peer gives up and closes.
    result = run_in_memory(_limit_case("limits.5"), role, max_message_size=None)
    assert result.verdict == "FAILED"
    assert result.testee_close is None


@pytest.mark.parametrize("role", _ROLES)
def test_a_testee_counting_the_limit_per_connection_fails_limits_6(role: Role) -> None:
    # Three messages of the limit pass a testee whose limit is the limit; one
    # whose limit is lower refuses the first: limits.6 tells the per-message limit.
    assert run_in_memory(_limit_case("limits.6"), role, max_message_size=LIMIT).verdict == "OK"
    assert run_in_memory(_limit_case("limits.6"), role, max_message_size=LIMIT - 1).verdict == (
        "FAILED"
    )


@pytest.mark.parametrize("role", _ROLES)
@pytest.mark.parametrize("case_id", ["limits.7", "limits.9", "limits.13", "limits.14", "limits.16"])
def test_a_testee_with_a_larger_limit_fails_the_cases_over_the_limit(
    case_id: str, role: Role
) -> None:
    # limits.9: a testee counting characters would pass it as this one does, its 2049
    # characters under the limit; limits.13 to 16: the limit on the message inflated.
    result = _run(case_id, role, max_message_size=2 * LIMIT)
    assert result.verdict == "FAILED"
    assert len(result.received) == 1  # it echoed the message it should have refused


@pytest.mark.parametrize("role", _ROLES)
def test_a_testee_without_a_limit_inflates_the_bomb_and_fails_limits_15(role: Role) -> None:
    result = _run("limits.15", role, max_message_size=None)
    assert result.verdict == "FAILED"
    assert [len(r.data) for r in result.received] == [2**20]


@pytest.mark.parametrize("role", _ROLES)
@pytest.mark.parametrize("case_id", ["limits.8", "limits.10", "limits.11", "limits.12"])
def test_a_testee_with_a_smaller_limit_fails_the_cases_at_the_limit(
    case_id: str, role: Role
) -> None:
    result = _run(case_id, role, max_message_size=LIMIT - 1)
    assert result.behaviour == "FAILED"
    assert result.testee_close is not None and result.testee_close[0] == 1009


class _LossyServer(ServerConnection):
    """An echo server that drops the last character of every text message it sends."""

    def send_text(self, data: str, final: bool = True) -> None:
        super().send_text(data[:-1], final)


@pytest.mark.parametrize("case_id", ["9.1.1", "9.3.1", "9.5.1", "9.7.2"])
def test_an_echo_that_loses_a_character_fails_family_9(case_id: str) -> None:
    case = _case(case_id)
    result = run_in_memory(case, "server", lambda case, role: _LossyServer())
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason.startswith("#1: expected text")
    assert result.close_behaviour == "OK"


# -- compression ----------------------------------------------------------------------------------


def _without_deflate(case: Case, role: Role) -> ServerConnection | ClientConnection:
    if role == "server":
        return ServerConnection()
    return ClientConnection("ws://testee.invalid/echo", version=case.version)


@pytest.mark.parametrize("role", _ROLES)
@pytest.mark.parametrize(
    "case_id", ["12.1.1", "12.5.18", "13.7.1", "deflate.1", "deflate.31", "limits.12"]
)
def test_a_testee_without_deflate_is_unimplemented(case_id: str, role: Role) -> None:
    result = _run(case_id, role, connection=_without_deflate)
    assert result.behaviour == "UNIMPLEMENTED"
    assert result.behaviour_reason == "the testee did not agree to permessage-deflate"
    assert result.close_behaviour == "OK"  # it still closes cleanly


class _NoWindow8Factory(ServerPerMessageDeflateFactory):
    """A server's permessage-deflate that declines offers asking for an 8-bit window.

    As servers on zlib do, which cannot compress within 256 bytes (SPEC_NOTES).
    """

    def accept(self, offer: ExtensionParams) -> tuple[ExtensionParams, Extension] | None:
        if ("server_max_window_bits", "8") in offer:
            return None
        return super().accept(offer)


def _no_window_8(case: Case, role: Role) -> ServerConnection:
    return ServerConnection(extensions=[_NoWindow8Factory()])


@pytest.mark.parametrize("case_id", ["13.3.1", "13.5.1"])
def test_a_server_declining_window_8_is_unimplemented_where_it_is_the_only_offer(
    case_id: str,
) -> None:
    assert _run(case_id, "server", connection=_no_window_8).verdict == "UNIMPLEMENTED"


def test_a_server_declining_window_8_passes_13_7_on_the_next_offer() -> None:
    result = _run("13.7.1", "server", connection=_no_window_8)
    assert result.verdict == "OK"
    [accepted] = [w.text for w in result.wire if w.text.startswith("HTTP 101")]
    assert "server_no_context_takeover" in accepted
    assert "server_max_window_bits=8" not in accepted


def test_13_7_offers_autobahns_three_choices_in_order() -> None:
    deflate = _case("13.7.1").deflate
    assert deflate is not None
    choices = [deflate, *deflate.fallback]
    asked = [(d.server_no_context_takeover, d.server_max_window_bits) for d in choices]
    assert asked == [(True, 8), (True, None), (False, None)]


class _ForgetfulClient(ClientConnection):
    """A client whose decompressor forgets the context after every read, agreed or not."""

    def receive_data(self, data: bytes) -> None:
        super().receive_data(data)
        for extension in self.extensions:
            extension._decoder = None  # type: ignore[attr-defined]


def test_a_testee_that_loses_the_compression_context_fails() -> None:
    # 12.x agrees context takeover from the peer server: its second message refers
    # back into the first, which the testee no longer has.
    def testee(case: Case, role: Role) -> ClientConnection:
        url = "ws://testee.invalid/echo"
        return _ForgetfulClient(url, extensions=[ClientPerMessageDeflateFactory()])

    result = _run("12.1.3", "client", connection=testee)
    assert result.verdict == "FAILED"
    assert len(result.received) == 1
    assert result.testee_close is not None and result.testee_close[0] in (1002, 1007)


# -- handshake ------------------------------------------------------------------------------------


class _FixedAnswer:
    """A testee server that answers every request with the same HTTP status line."""

    def __init__(self, status: bytes) -> None:
        self._status = status
        self._out = b""
        self._answered = False
        self.should_close_transport = False

    def receive_data(self, data: bytes) -> None:
        if data and not self._answered:
            self._answered = True
            self._out = self._status + b"\r\nContent-Length: 0\r\n\r\n"
        elif not data:
            self.should_close_transport = True

    def events(self) -> list[object]:
        return []

    def data_to_send(self) -> bytes:
        out, self._out = self._out, b""
        return out


def _fixed(status: bytes) -> object:
    return lambda case, role: _FixedAnswer(status)


def _handshake_cases() -> list[Case]:
    return [c for c in _CATALOGUE if c.family == "handshake"]


def test_a_testee_answering_200_to_everything_fails_every_handshake_case() -> None:
    for case in _handshake_cases():
        result = run_in_memory(case, "server", _fixed(b"HTTP/1.1 200 OK"))  # type: ignore[arg-type]
        assert result.verdict == "FAILED", case.id
        assert result.behaviour_reason.endswith("got HTTP 200"), case.id


def test_a_testee_answering_101_to_everything_fails_exactly_the_broken_requests() -> None:
    failed = {
        case.id
        for case in _handshake_cases()
        if run_in_memory(case, "server", _fixed(b"HTTP/1.1 101 Switching Protocols")).verdict  # type: ignore[arg-type]
        == "FAILED"
    }
    refused = {case.id for case in _handshake_cases() if 101 not in case.statuses}
    assert failed == refused
    assert len(refused) == 24


def test_a_426_without_version_header_is_still_judged_by_status_only() -> None:
    result = run_in_memory(
        _case("handshake.10"),
        "server",
        _fixed(b"HTTP/1.1 426 Upgrade Required"),  # type: ignore[arg-type]
    )
    assert "99" in _case("handshake.10").description
    assert result.verdict == "OK"


@pytest.mark.parametrize("status", [b"400 Bad Request", b"426 Upgrade Required"])
def test_an_unknown_version_may_be_refused_with_400_or_426(status: bytes) -> None:
    # RFC 6455 §4.2.2 asks for "an appropriate HTTP error code (such as 426 ...)" and
    # §4.4's example answers 400: ws and websockets answer 400 (seen in interop).
    result = run_in_memory(
        _case("handshake.10"),
        "server",
        _fixed(b"HTTP/1.1 " + status),  # type: ignore[arg-type]
    )
    assert result.verdict == "OK", result.behaviour_reason


def test_the_raw_requests_go_to_the_testees_resource_and_host() -> None:
    result = run_in_memory(_case("handshake.1"), "server")
    assert result.wire[0].text == "GET /echo HTTP/1.1 ..."
    assert all(case.request and b"{resource}" in case.request for case in _handshake_cases())


# -- legacy ---------------------------------------------------------------------------------------


def _legacy(group: str) -> list[Case]:
    return select(_CATALOGUE, [f"legacy.{group}"])


@pytest.mark.parametrize(
    ("group", "testee"),
    [
        ("3", lambda case, role: ServerConnection(allow_draft76=False)),
        ("4", lambda case, role: ServerConnection(allow_draft75=False)),
        ("1", _fixed(b"HTTP/1.1 426 Upgrade Required")),
        ("2", _fixed(b"HTTP/1.1 400 Bad Request")),
    ],
)
def test_a_server_refusing_a_legacy_version_cleanly_is_unimplemented(
    group: str, testee: object
) -> None:
    cases = _legacy(group)
    assert cases
    for case in cases:
        result = run_in_memory(case, "server", testee)  # type: ignore[arg-type]
        assert result.verdict == "UNIMPLEMENTED", (case.id, result.behaviour_reason)


@pytest.mark.parametrize("status", [b"HTTP/1.1 404 Not Found", b"HTTP/1.1 200 OK"])
def test_a_server_refusing_a_legacy_version_otherwise_fails(status: bytes) -> None:
    for case in _legacy("1"):
        assert run_in_memory(case, "server", _fixed(status)).verdict == "FAILED"  # type: ignore[arg-type]


def test_the_legacy_cases_are_played_in_their_version() -> None:
    assert {case.version for case in _legacy("1")} == {8}
    assert {case.version for case in _legacy("2")} == {7}
    assert {case.version for case in _legacy("3")} == {"hixie-76"}
    result = run_in_memory(_legacy("3")[0], "server")
    assert result.verdict == "OK"
    assert result.testee_close == (None, "")  # FF 00 carries no code
    assert _legacy("1")[-1].close.codes == (1004, 1009)


def test_a_legacy_handshake_dropped_unanswered_is_unimplemented_not_failed() -> None:
    from wsproto_core.handshake import parse_uri
    from wsproto_core.testing.engine import CaseRun

    case = _case("legacy.3.1")
    assert case.optional
    run = CaseRun(case, "server", uri=parse_uri("ws://testee.invalid/echo"))
    run.start()
    assert run.writes()  # the hixie-76 request
    run.receive_data(b"")  # the testee closes without a word
    result = run.result()
    assert (result.behaviour, result.close_behaviour) == ("UNIMPLEMENTED", "OK")
    assert "without answering" in result.behaviour_reason
