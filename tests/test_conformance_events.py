"""What the application sees of the conformance cases: events, state, transport.

The conformance kit (``test_conformance_kit``) judges our connections by what
they send back. These tests check the rest, which only shows in memory: the
events the application gets (a ``Ping`` or ``Pong`` for each control frame, in
stream order; a ``Close`` with ``by_peer=False`` when the connection fails,
its reason the one in the close frame), the state, and
``should_close_transport``. The peer's frames are built with
:mod:`wsproto_core.testing.wire`, as the kit builds them, for families 1 to 5
and the rules group; by hand (:mod:`conformance_helpers`, independent of the
code under test) for families 6, 7 and 9 and the limits group, further down.
"""

from __future__ import annotations

import tracemalloc
from typing import TYPE_CHECKING, Literal

import conformance_helpers as ch
import pytest
from pairs import open_pair

from wsproto_core import ClientConnection, ConnectionState, ServerConnection
from wsproto_core.events import BytesMessage, Close, Ping, Pong, TextMessage
from wsproto_core.testing.catalogue.utf8 import (
    BEYOND,
    EDITED,
    HELLO,
    KOSME,
    STRESS_SECTIONS,
    SURROGATE,
    is_utf8,
)
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
    from collections.abc import Iterable

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


# -- families 6, 7 and 9 in memory: the strict outcome of each case ------------------------------
#
# The cases below drive a connection with frames built by hand (conformance_helpers, not
# testing.wire) and assert everything that follows in memory: events, frames queued, state,
# should_close_transport. The catalogue judges the same behaviour on the wire, where it can;
# these add what only memory shows (a failure's exact code where the catalogue accepts two, the
# moment a failure comes, the state a size limit leaves, the closes this side started).

_UTF8_PAYLOADS = [
    ("6.2.1", HELLO.encode()),
    ("6.3.1", KOSME + SURROGATE + EDITED),
    ("6.4.x-in-one-frame", KOSME + BEYOND + EDITED),
    *(
        (f"6.{section}.{n}", payload)
        for section, (_, payloads) in enumerate(STRESS_SECTIONS, 5)
        for n, payload in enumerate(payloads, 1)
    ),
]
_UTF8_PARAMS = ch.params(_UTF8_PAYLOADS)


def _utf8_outcome(payload: bytes) -> tuple[list[ch.Expected], list[ch.ExpectedFrame]]:
    if ch.utf8_error_index(payload) is None:
        return [TextMessage(payload.decode("utf-8"))], []
    return [ch.Fail(1007)], [ch.Fail(1007)]


@pytest.mark.parametrize(
    "payload", [p for _, p in _UTF8_PAYLOADS], ids=[i for i, _ in _UTF8_PAYLOADS]
)
def test_utf8_table_agrees_with_the_catalogue(payload: bytes) -> None:
    # These cases judge UTF-8 by the table of RFC 3629; the catalogue by Python's decoder.
    assert (ch.utf8_error_index(payload) is None) == is_utf8(payload)


@pytest.mark.parametrize(("payload", "role"), _UTF8_PARAMS)
def test_utf8_message_in_one_frame(payload: bytes, role: Role) -> None:
    conn = ch.open_role(role)
    events = ch.feed(conn, ch.peer_frames(role, [ch.text(payload)]))
    ch.check_outcome(role, conn, events, *_utf8_outcome(payload))


@pytest.mark.parametrize(("payload", "role"), _UTF8_PARAMS)
def test_utf8_fails_at_the_first_invalid_byte_octet_by_octet(payload: bytes, role: Role) -> None:
    # The header alone, then one payload byte per read. RFC 6455 §8.1 and Autobahn's
    # "strict" verdict: the 1007 comes with the read that holds the first invalid byte
    # (with the last byte, for a text that ends inside a character), not later.
    conn = ch.open_role(role)
    reads = ch.cut_before_payload_bytes(role, [ch.text(payload)], range(len(payload)))
    error = ch.utf8_error_index(payload)
    done = len(payload) if error is None else min(error + 1, len(payload))
    per_read = [ch.feed(conn, [data]) for data in reads]  # after read n, n payload bytes are in
    events = [event for got in per_read for event in got]
    outcome, sent = _utf8_outcome(payload)
    produced_at = [(n, got) for n, got in enumerate(per_read) if got]
    expected = [(done, ch.resolve_events(outcome, ch.failure_reason(events)))]
    ch.expect("(payload bytes in, events) of the reads that produced events", produced_at, expected)
    ch.check_outcome(role, conn, events, outcome, sent)


@pytest.mark.parametrize(("payload", "role"), _UTF8_PARAMS)
def test_utf8_split_in_two_frames_at_every_byte_position(payload: bytes, role: Role) -> None:
    # A character may be split across frames (RFC 6455 §5.6: the text is the whole
    # message's); an invalid byte in the first frame fails before the second arrives.
    error = ch.utf8_error_index(payload)
    outcome, sent = _utf8_outcome(payload)
    wrong = []
    for split in range(len(payload) + 1):
        conn = ch.open_role(role)
        first = ch.feed(conn, ch.peer_frames(role, [ch.text(payload[:split], fin=False)]))
        second = ch.feed(conn, ch.peer_frames(role, [ch.cont(payload[split:])]))
        early = error is not None and error < split
        reason = ch.failure_reason(first + second)
        expected = (outcome, []) if early else ([], outcome)
        got = (first, second)
        if got != tuple(ch.resolve_events(e, reason) for e in expected):
            wrong.append((split, got))
            continue
        ch.check_outcome(role, conn, [*first, *second], outcome, sent)
    ch.expect("split positions judged wrongly: (position, (first frame, second frame))", wrong, [])


def _utf8_staged() -> Iterable[ch.Staged]:
    # 6.4.x (and rules.103 for the surrogate): the message is valid, then the part that
    # makes it invalid arrives and must be refused at once; the rest never matters.
    fail = ([ch.Fail(1007)], [ch.Fail(1007)])
    for frames_id, chops_id, bad, split, stop in (
        ("6.4.1", "6.4.3", BEYOND, 0, 4),
        ("6.4.2", "6.4.4", BEYOND, 1, 2),
        ("rules.103", "6.4.x-surrogate-chops", SURROGATE, 1, 2),
    ):
        part1, part2, part3 = KOSME + bad[:split], bad[split:stop], bad[stop:] + EDITED
        yield ch.staged(
            frames_id,
            [ch.text(part1, fin=False), ch.cont(part2, fin=False), ch.cont(part3)],
            "frame",
            ch.NOTHING,
            fail,
            ch.NOTHING,
        )
        yield ch.staged(
            chops_id,
            [ch.text(part1 + part2 + part3)],
            (len(part1), len(part1) + len(part2)),
            ch.NOTHING,
            fail,
            ch.NOTHING,
        )


@pytest.mark.parametrize(("item", "role"), ch.staged_params(_utf8_staged()))
def test_utf8_fails_fast(item: ch.Staged, role: Role) -> None:
    ch.run_staged(item, role)


@ROLES
def test_utf8_text_before_invalid_text_is_delivered_in_order(role: Role) -> None:
    # rules.104 on the wire (with the ping first); here the events, in stream order.
    ch.run_case(
        ch.case(
            "rules.104-events",
            [ch.text("fine"), ch.ping(b"p"), ch.text(b"\xff")],
            [TextMessage("fine"), Ping(b"p"), ch.Fail(1007)],
            [ch.pong(b"p"), ch.Fail(1007)],
        ),
        role,
    )


_VALID_CODES = frozenset((*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)))
"""The close codes that may travel (RFC 6455 §7.4.1, §7.4.2, and SPEC_NOTES)."""

_CODES = sorted(
    {
        *range(0, 5001, 250),  # a sample of 0..5000
        *(1, 999, *range(1000, 1017), 1100, 2000, 2999, 3000, 3001, 3999, 4000, 4001, 4999),
        *(5001, 65535),
    }
)
_BIG = "BAsd7&jh23" * 26214


def _closing_cases() -> Iterable[ch.Case]:
    echo = ((Close(1000, ""),), (ch.close(1000),))
    # 7.1.2 to 7.1.4 read frame by frame: what follows the peer's close is ignored even
    # when it comes in a read of its own (RFC 6455 §5.5.1); no pong after the close (§5.5.2).
    for number, after in (
        ("7.1.2", ch.close(1000)),
        ("7.1.3", ch.ping(b"Hello World!")),
        ("7.1.4", ch.text("Hello World!")),
    ):
        yield ch.case(f"{number}-per-frame", [ch.close(1000), after], *echo, chop="frame")
    # 7.1.6 is INFORMATIONAL in the catalogue; ours echoes the message, then the close.
    yield ch.case(
        "7.1.6",
        [ch.text(_BIG), ch.close(1000), ch.ping(b"Hello World!")],
        [TextMessage(_BIG), Close(1000, "")],
        [ch.text(_BIG), ch.close(1000)],
        echo=True,
    )
    yield ch.case("7.3.1", [ch.close()], [Close(1005, "")], [ch.close()])
    yield ch.case("7.3.2", [ch.Frame(ch.CLOSE, b"a")], *ch.failed(1002))
    yield ch.case(
        "7.3.4", [ch.close(1000, b"Hello World!")], [Close(1000, "Hello World!")], [ch.close(1000)]
    )
    yield ch.case("7.3.5", [ch.close(1000, b"*" * 123)], [Close(1000, "*" * 123)], [ch.close(1000)])
    yield ch.case("7.3.6", [ch.close(1000, b"*" * 124)], *ch.failed(1002))
    # The catalogue takes 1002 or 1007 for a reason that is not UTF-8; ours says 1007.
    yield ch.case("7.5.1", [ch.close(1000, KOSME + SURROGATE + EDITED)], *ch.failed(1007))
    yield ch.case("rules.105", [ch.close(1000, b"\xce")], *ch.failed(1007))
    yield ch.case(
        "rules.106", [ch.close(3000, KOSME)], [Close(3000, KOSME.decode())], [ch.close(3000)]
    )
    # The catalogue takes 1000 or the code as the echo; ours echoes the code.
    for code in _CODES:
        if code in _VALID_CODES:
            yield ch.case(f"7.x-code-{code}", [ch.close(code)], [Close(code, "")], [ch.close(code)])
        else:
            yield ch.case(f"7.x-code-{code}", [ch.close(code)], *ch.failed(1002))
    # hybi-07 and hybi-08 §7.4.1 define 1004, "frame too large", which our own v7/v8
    # connections send for an oversized message (SPEC_NOTES): a v7/v8 peer may send it too.
    for version in (7, 8):
        for code in (1004, 1009):
            yield ch.case(
                f"7.x-v{version}-code-{code}",
                [ch.close(code)],
                [Close(code, "")],
                [ch.close(code)],
                version=version,
            )
    # Closes this side started: the peer's data still arrives, its close completes it.
    closing = ConnectionState.CLOSING
    bye = (1000, "bye")
    yield ch.case(
        "7.x-we-closed-data-still-delivered",
        [ch.text("late"), ch.binary(b"\x00")],
        [TextMessage("late"), BytesMessage(b"\x00")],
        close_first=bye,
        state=closing,
    )
    # RFC 6455 §5.5.2: "an endpoint MUST send a Pong frame in response, unless it
    # already received a Close frame" -- having sent one is no exception.
    yield ch.case(
        "7.x-we-closed-ping-still-answered",
        [ch.ping(b"still there?")],
        [Ping(b"still there?")],
        [ch.pong(b"still there?")],
        close_first=bye,
        state=closing,
    )
    yield ch.case("7.x-we-closed-peer-echoes", [ch.close(1000)], [Close(1000, "")], close_first=bye)
    yield ch.case(
        "7.x-we-closed-peer-answers-another-code",
        [ch.close(4000, b"mine")],
        [Close(4000, "mine")],
        close_first=(1001, ""),
    )
    yield ch.case(
        "7.x-we-closed-peer-sends-invalid-code", [ch.close(1005)], [ch.Fail(1002)], close_first=bye
    )
    yield ch.case(
        "7.x-we-closed-peer-sends-reserved-opcode",
        [ch.Frame(3)],
        [ch.Fail(1002)],
        close_first=bye,
    )


@pytest.mark.parametrize(("item", "role"), ch.case_params(_closing_cases()))
def test_closing(item: ch.Case, role: Role) -> None:
    ch.run_case(item, role)


_LIMIT = 1000


def _limit_cases() -> Iterable[ch.Case]:
    # A size failure keeps the framing in step: the connection sends 1009 and awaits the
    # peer's close (CLOSING, the transport kept open; see conformance_helpers.check_end).
    over = _LIMIT + 1
    limit = {"max_message_size": _LIMIT}
    yield ch.case("limits.7", [ch.binary(b"\xfe" * over)], *ch.failed(1009), **limit)
    yield ch.case("limits.2", [ch.text("*" * over)], *ch.failed(1009), **limit)
    yield ch.case("limits.9", [ch.text("é" * 500 + "!")], *ch.failed(1009), **limit)
    yield ch.case(
        "limits.4-in-10-fragments",
        [
            ch.binary(b"\x01" * 100, fin=False),
            *(ch.cont(b"\x01" * 100, fin=False) for _ in range(8)),
            ch.cont(b"\x01" * 101),
        ],
        *ch.failed(1009),
        **limit,
    )
    yield ch.case(
        "limits.3-in-1-byte-fragments",
        [
            ch.text("a", fin=False),
            *(ch.cont("a", fin=False) for _ in range(over - 2)),
            ch.cont("a"),
        ],
        *ch.failed(1009),
        **limit,
    )
    # Versions 7 and 8 (hybi drafts up to 12) close an oversized message with 1004 (SPEC_NOTES).
    for version in (13, 8, 7):
        code = 1009 if version == 13 else 1004
        yield ch.case(
            f"9.x-v{version}-over-limit",
            [ch.binary(b"\xfe" * over)],
            *ch.failed(code),
            version=version,
            **limit,
        )
        yield ch.case(
            f"9.x-v{version}-over-limit-in-fragments",
            [ch.binary(b"\x01" * 600, fin=False), ch.cont(b"\x01" * 401)],
            *ch.failed(code),
            version=version,
            **limit,
        )
        yield ch.case(
            f"9.x-v{version}-header-announcing-2^63-1",
            [ch.Frame(ch.BINARY, length=2**63 - 1)],
            *ch.failed(code),
            version=version,
            state=ConnectionState.CLOSED,  # too big to skip: the stream is closed at once
        )


@pytest.mark.parametrize(("item", "role"), ch.case_params(_limit_cases()))
def test_limits(item: ch.Case, role: Role) -> None:
    ch.run_case(item, role)


def _limit_staged() -> Iterable[ch.Staged]:
    # The limit is checked from the frame header, before any of the payload arrives.
    fail = ([ch.Fail(1009)], [ch.Fail(1009)])
    yield ch.staged(
        "limits.7-refused-from-the-header",
        [ch.binary(b"\xfe" * (_LIMIT + 1))],
        (0,),
        fail,
        ch.NOTHING,
        max_message_size=_LIMIT,
    )
    yield ch.staged(
        "limits.4-fragment-refused-from-its-header",
        [ch.binary(b"\x01" * 600, fin=False), ch.cont(b"\x01" * 401)],
        (300, 600),
        ch.NOTHING,
        fail,
        ch.NOTHING,
        max_message_size=_LIMIT,
    )


@pytest.mark.parametrize(("item", "role"), ch.staged_params(_limit_staged()))
def test_limits_at_once(item: ch.Staged, role: Role) -> None:
    ch.run_staged(item, role)


@ROLES
def test_header_announcing_2_63_minus_1_bytes_costs_nothing(role: Role) -> None:
    # limits.5 on the wire; here what reading the header costs.
    conn = ch.open_role(role)
    header = ch.peer_frames(role, [ch.Frame(ch.BINARY, length=2**63 - 1)])[0]
    tracemalloc.start()
    try:
        conn.receive_data(header)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    events = list(conn.events())
    ch.check_outcome(
        role, conn, events, [ch.Fail(1009)], [ch.Fail(1009)], state=ConnectionState.CLOSED
    )
    assert peak < 16 * 1024, f"{peak} bytes allocated for a bare header"
