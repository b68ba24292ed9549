"""wsproto_core.testing.strategies: each strategy's claims, with our core as the oracle.

What a strategy calls valid, our core accepts (in any chunking); what it pairs
with a close code or an HTTP status, our core fails or refuses with exactly
that. A disagreement is a bug in one of the two, and the strategies follow the
RFC: the test must not be bent to the core.
"""

from __future__ import annotations

import random
import re
import struct
from typing import TYPE_CHECKING, TypeVar

import pytest
from conformance_helpers import ROLES, Role, open_role, parse_sent, utf8_error_index
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from wsproto_core import ServerConnection
from wsproto_core.close import is_valid_wire_code, parse_close_payload
from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.errors import HandshakeError, ProtocolError
from wsproto_core.events import (
    Accept,
    BytesMessage,
    Close,
    Event,
    HandshakeFailed,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto_core.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from wsproto_core.handshake import ClientHandshake, ServerHandshake, parse_uri
from wsproto_core.testing import strategies as ws
from wsproto_core.testing.wire import BINARY, CLOSE, PING, PONG, TEXT, Frame, encode

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hypothesis.strategies import SearchStrategy

    from wsproto_core import ClientConnection
    from wsproto_core.versions import ProtocolVersion

VERSIONS: tuple[ProtocolVersion, ...] = (13, 8, 7, "hixie-76", "hixie-75")

T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------


def reach(strategy: SearchStrategy[T], condition: Callable[[T], object]) -> T:
    """The first example of ``strategy`` that meets ``condition`` (unshrunk: shrinking is slow)."""
    quick = settings(max_examples=3000, phases=[Phase.generate], database=None)
    return find(strategy, condition, settings=quick)


def reach_all(strategy: SearchStrategy[T], kinds: dict[str, Callable[[T], object]]) -> None:
    """Draw from ``strategy`` until an example of every kind came; fail naming the missing."""
    missing = set(kinds)

    def seen_all(example: T) -> bool:
        missing.difference_update([kind for kind in missing if kinds[kind](example)])
        return not missing

    try:
        reach(strategy, seen_all)
    except NoSuchExample:
        pytest.fail(f"never drawn: {sorted(missing)}")


def peer_stream(role: Role, frames: Sequence[Frame]) -> bytes:
    """The bytes the peer of a ``role`` connection sends: a client peer masks."""
    return b"".join(encode(frame, client=role == "server") for frame in frames)


def receive(conn: ServerConnection | ClientConnection, reads: Sequence[bytes]) -> list[Event]:
    """Feed each read to ``conn``; return every event, in order."""
    events: list[Event] = []
    for data in reads:
        conn.receive_data(data)
        events.extend(conn.events())
    return events


def expected_event(frame: Frame) -> Event:
    """The event a whole valid frame makes, read without the core."""
    if frame.opcode == TEXT:
        return TextMessage(frame.payload.decode("utf-8"))
    if frame.opcode == BINARY:
        return BytesMessage(frame.payload)
    if frame.opcode == PING:
        return Ping(frame.payload)
    if frame.opcode == PONG:
        return Pong(frame.payload)
    assert frame.opcode == CLOSE
    if not frame.payload:
        return Close(1005, "")
    (code,) = struct.unpack("!H", frame.payload[:2])
    return Close(code, frame.payload[2:].decode("utf-8"))


def failure(events: Sequence[Event]) -> int | None:
    """The close code the connection failed with, if it did (its last event)."""
    last = events[-1] if events else None
    return last.code if isinstance(last, Close) and not last.by_peer else None


def sent_close_code(role: Role, conn: ServerConnection | ClientConnection) -> int:
    """The code of the close frame ``conn`` queued last."""
    frames = parse_sent(role, conn.data_to_send())
    assert frames and frames[-1].opcode == CLOSE, frames
    (code,) = struct.unpack("!H", frames[-1].payload[:2])
    return int(code)


# -- frames ------------------------------------------------------------------------------


@given(ws.frames(max_size=300))
def test_frames_by_default_draw_only_what_rfc6455_allows(frame: Frame) -> None:
    assert frame.opcode in ws.DEFINED_OPCODES
    assert frame.rsv == 0 and frame.length_form is None and not frame.wrong_mask
    if frame.opcode & 0x8:
        assert frame.fin and len(frame.payload) <= 125
    if frame.opcode == TEXT:
        assert utf8_error_index(frame.payload) is None


FORBIDDEN_FIELDS = {
    "reserved opcode": lambda f: f.opcode in ws.RESERVED_OPCODES,
    "reserved bit": lambda f: f.rsv != 0,
    "fragmented control": lambda f: f.opcode & 0x8 and not f.fin,
    "oversized control": lambda f: f.opcode & 0x8 and len(f.payload) > 125,
    "non-minimal length": lambda f: f.length_form is not None,
    "wrong mask": lambda f: f.wrong_mask,
}


def test_frames_draw_every_forbidden_field_when_asked() -> None:
    every = ws.frames(
        opcodes=range(16),
        rsv=range(8),
        fragmented_control=True,
        oversized_control=True,
        non_minimal_lengths=True,
        wrong_mask=True,
        max_size=300,
    )
    reach_all(every, FORBIDDEN_FIELDS)


@given(st.integers(0, 70000).flatmap(lambda m: st.tuples(st.just(m), ws.payload_lengths(m))))
def test_payload_lengths_stay_within_max_size(pair: tuple[int, int]) -> None:
    max_size, length = pair
    assert 0 <= length <= max_size


def test_payload_lengths_reach_every_edge() -> None:
    edges = {str(edge): (lambda n, edge=edge: n == edge) for edge in ws.LENGTH_EDGES}
    reach_all(ws.payload_lengths(70000), edges)


@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=40)
@given(data=st.data())
def test_valid_frames_arrive_as_their_events_in_any_chunking(
    role: Role, data: st.DataObject
) -> None:
    frames = data.draw(st.lists(ws.valid_frames(max_size=70000), max_size=4))
    frames.append(data.draw(ws.valid_frames(close=True, max_size=125)))
    conn = open_role(role)
    stream = peer_stream(role, frames)
    reads = data.draw(ws.chunkings(stream, max_pieces=40))
    events = receive(conn, reads)
    assert events == [expected_event(frame) for frame in frames]
    replies = parse_sent(role, conn.data_to_send())
    pings = [frame.payload for frame in frames if frame.opcode == PING]
    assert [frame.payload for frame in replies if frame.opcode == PONG] == pings


@given(frames=st.lists(ws.valid_frames(max_size=300), max_size=6), data=st.data())
def test_valid_frames_arrive_whole_through_the_codec(
    frames: list[Frame], data: st.DataObject
) -> None:
    codec = Rfc6455Codec(client=False, max_message_size=None)
    events: list[Event] = []
    for read in data.draw(ws.chunkings(peer_stream("server", frames))):
        codec.receive(read, events)
    assert events == [expected_event(frame) for frame in frames]


@pytest.mark.parametrize("role", ROLES)
@given(pair=ws.invalid_frames(max_size=300))
def test_invalid_frames_fail_the_connection_with_the_paired_code(
    role: Role, pair: tuple[Frame, int]
) -> None:
    frame, code = pair
    conn = open_role(role)
    events = receive(conn, [peer_stream(role, [frame])])
    assert failure(events) == code, events
    assert sent_close_code(role, conn) == code


@pytest.mark.parametrize("role", ROLES)
@given(data=st.data())
def test_frames_before_an_invalid_frame_are_delivered_in_order(
    role: Role, data: st.DataObject
) -> None:
    before = data.draw(st.lists(ws.valid_frames(max_size=200), max_size=3))
    bad, code = data.draw(ws.invalid_frames(max_size=200))
    conn = open_role(role)
    events = receive(conn, data.draw(ws.chunkings(peer_stream(role, [*before, bad]))))
    assert events[:-1] == [expected_event(frame) for frame in before]
    assert failure(events) == code


# -- fragmentations and chunkings ------------------------------------------------------------


@given(ws.fragmentations())
def test_fragmentations_follow_rfc6455_section_5_4(pair: tuple[ws.Message, list[Frame]]) -> None:
    message, frames = pair
    data_frames = [frame for frame in frames if not frame.opcode & 0x8]
    first, *rest = data_frames
    assert first.opcode == (TEXT if isinstance(message, str) else BINARY)
    assert all(frame.opcode == 0 for frame in rest)
    assert [frame.fin for frame in data_frames] == [False] * len(rest) + [True]
    assert frames[0] is first and frames[-1] is data_frames[-1]
    assert all(frame.fin and len(frame.payload) <= 125 for frame in frames if frame.opcode & 0x8)
    joined = b"".join(frame.payload for frame in data_frames)
    assert joined == (message.encode("utf-8") if isinstance(message, str) else message)


@pytest.mark.parametrize("role", ROLES)
@given(pair=ws.fragmentations(), data=st.data())
def test_fragmentations_arrive_as_the_message_in_any_chunking(
    role: Role, pair: tuple[ws.Message, list[Frame]], data: st.DataObject
) -> None:
    message, frames = pair
    conn = open_role(role)
    events = receive(conn, data.draw(ws.chunkings(peer_stream(role, frames))))
    controls = [expected_event(frame) for frame in frames if frame.opcode & 0x8]
    whole = TextMessage(message) if isinstance(message, str) else BytesMessage(message)
    assert events == [*controls, whole]
    pongs = [frame.payload for frame in parse_sent(role, conn.data_to_send())]
    assert pongs == [frame.payload for frame in frames if frame.opcode == PING]


@given(ws.fragmentations(b"x" * 10, interleave=False, max_fragments=3))
def test_fragmentations_carry_the_message_given_with_at_most_max_fragments(
    pair: tuple[ws.Message, list[Frame]],
) -> None:
    message, frames = pair
    assert message == b"x" * 10 and 1 <= len(frames) <= 3
    assert all(not frame.opcode & 0x8 for frame in frames)


@pytest.mark.parametrize("role", ROLES)
@given(pair=ws.invalid_fragmentations())
def test_invalid_fragmentations_fail_with_the_paired_code_at_the_bad_frame(
    role: Role, pair: tuple[list[Frame], int]
) -> None:
    frames, code = pair
    conn = open_role(role)
    failed_at = None
    for index, frame in enumerate(frames):
        events = receive(conn, [peer_stream(role, [frame])])
        if failure(events) is not None:
            failed_at = index
            assert failure(events) == code
            break
    assert failed_at is not None
    if code == 1007:  # as soon as the bad byte arrives, not at the end of the message
        assert failed_at == bad_byte_frame(frames)


def bad_byte_frame(frames: Sequence[Frame]) -> int:
    """The index of the frame whose arrival makes the text's UTF-8 invalid for sure."""
    data = b"".join(frame.payload for frame in frames if not frame.opcode & 0x8)
    bad = utf8_error_index(data)
    assert bad is not None
    seen = 0
    for index, frame in enumerate(frames):
        if frame.opcode & 0x8:
            continue
        seen += len(frame.payload)
        if bad < seen or (bad == len(data) and frame.fin):
            return index
    raise AssertionError("no frame holds the bad byte")


@given(st.binary(max_size=300), st.none() | st.integers(1, 10), st.data())
def test_chunkings_cut_the_data_into_non_empty_reads(
    data: bytes, max_pieces: int | None, draw: st.DataObject
) -> None:
    reads = draw.draw(ws.chunkings(data, max_pieces=max_pieces))
    assert b"".join(reads) == data
    assert all(reads)
    assert max_pieces is None or len(reads) <= max_pieces


def test_chunkings_reach_one_byte_per_read() -> None:
    assert reach(ws.chunkings(b"abcd"), lambda reads: len(reads) == 4) == [b"a", b"b", b"c", b"d"]


# -- closing -----------------------------------------------------------------------------


@given(st.integers(0, 300).flatmap(lambda m: st.tuples(st.just(m), ws.invalid_frames(max_size=m))))
def test_invalid_frames_keep_within_max_size(pair: tuple[int, tuple[Frame, int]]) -> None:
    max_size, (frame, _) = pair
    assert len(frame.payload) <= max(max_size, 125)


@given(
    st.integers(0, 300).flatmap(
        lambda m: st.tuples(st.just(m), ws.valid_frames(max_size=m, close=True))
    )
)
def test_valid_frames_keep_within_max_size(pair: tuple[int, Frame]) -> None:
    max_size, frame = pair
    assert len(frame.payload) <= max_size


@given(ws.close_codes())
def test_valid_close_codes_may_travel(code: int) -> None:
    assert is_valid_wire_code(code)


@given(ws.close_codes(valid=False))
def test_invalid_close_codes_may_not_travel(code: int) -> None:
    assert 0 <= code <= 0xFFFF
    assert not is_valid_wire_code(code)


@pytest.mark.parametrize("role", ROLES)
@given(payload=ws.close_payloads())
def test_close_payloads_are_accepted_and_their_code_echoed(role: Role, payload: bytes) -> None:
    assert len(payload) <= 125
    conn = open_role(role)
    frame = Frame(CLOSE, payload)
    assert receive(conn, [peer_stream(role, [frame])]) == [expected_event(frame)]
    echo = parse_sent(role, conn.data_to_send())
    assert [frame.opcode for frame in echo] == [CLOSE]
    assert echo[0].payload[:2] == payload[:2]


@given(ws.invalid_close_payloads())
def test_invalid_close_payloads_are_refused_with_the_paired_code(pair: tuple[bytes, int]) -> None:
    payload, code = pair
    assert len(payload) <= 125
    with pytest.raises(ProtocolError) as refused:
        parse_close_payload(payload)
    assert refused.value.close_code == code


# -- UTF-8 -------------------------------------------------------------------------------


@given(ws.utf8_texts(max_size=200))
def test_utf8_texts_arrive_as_text_messages(text: str) -> None:
    payload = text.encode("utf-8")
    assert utf8_error_index(payload) is None
    codec = Rfc6455Codec(client=True, max_message_size=None)
    events: list[Event] = []
    codec.receive(encode(Frame(TEXT, payload), client=False), events)
    assert events == [TextMessage(text)]


def test_utf8_texts_reach_the_edge_characters() -> None:
    edges = {f"U+{ord(c):04X}": (lambda text, c=c: c in text) for c in ws.UTF8_EDGE_CHARACTERS}
    reach_all(ws.utf8_texts(), edges)


INVALID_KINDS = {
    "overlong 2-byte": lambda d: re.search(rb"[\xc0\xc1][\x80-\xbf]", d),
    "overlong 3-byte": lambda d: re.search(rb"\xe0[\x80-\x9f]", d),
    "overlong 4-byte": lambda d: re.search(rb"\xf0[\x80-\x8f]", d),
    "surrogate": lambda d: re.search(rb"\xed[\xa0-\xbf]", d),
    "beyond U+10FFFF": lambda d: re.search(rb"\xf4[\x90-\xbf]|[\xf5-\xf7]", d),
    "never in UTF-8": lambda d: re.search(rb"[\xf8-\xff]", d),
    "truncated at the end": lambda d: utf8_error_index(d) == len(d),
    "lone continuation": lambda d: (
        (i := utf8_error_index(d)) is not None
        and i < len(d)
        and 0x80 <= d[i] <= 0xBF
        and (i == 0 or d[i - 1] < 0x80)
    ),
}


def test_invalid_utf8_reaches_every_kind_of_ill_formed_sequence() -> None:
    reach_all(ws.invalid_utf8(), INVALID_KINDS)


@given(ws.invalid_utf8())
def test_invalid_utf8_is_refused_by_every_decoder(data: bytes) -> None:
    assert len(data) < 70
    assert utf8_error_index(data) is not None
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


# -- the opening handshake ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=50)
@given(data=st.data())
def test_handshake_requests_are_accepted_in_any_chunking(
    version: ProtocolVersion, data: st.DataObject
) -> None:
    request = data.draw(ws.handshake_requests(version))
    handshake = ServerHandshake(allow_draft75=True, extensions=[ServerPerMessageDeflateFactory()])
    results = [
        handshake.receive_data(read) for read in data.draw(ws.chunkings(request, max_pieces=6))
    ]
    assert isinstance(results[-1], Request) and not any(results[:-1])
    assert results[-1].version == version
    assert handshake.trailing == b""
    response, _, _ = handshake.accept()
    assert response.startswith(b"HTTP/1.1 101 ")


def test_handshake_requests_refuse_an_unknown_version() -> None:
    with pytest.raises(ValueError, match="no handshake for version 6"):
        ws.handshake_requests(6)  # type: ignore[arg-type]


def check_refused(request: bytes, refusal: ws.Refusal) -> None:
    """Our server refuses ``request`` with one of the refusal's statuses and its headers."""
    conn = ServerConnection()
    conn.receive_data(request)
    events = list(conn.events())
    assert len(events) == 1 and isinstance(events[0], HandshakeFailed), (refusal, events)
    head = conn.data_to_send().split(b"\r\n\r\n")[0].decode("latin-1").lower()
    status = int(head.split(" ")[1])
    assert status == events[0].status
    assert status in refusal.statuses, (refusal.problem, head)
    names = {line.split(":")[0] for line in head.split("\r\n")[1:]}
    assert set(refusal.headers) <= names, (refusal.problem, head)


@given(ws.broken_handshake_requests())
def test_broken_handshake_requests_are_refused_with_the_paired_status(
    pair: tuple[bytes, ws.Refusal],
) -> None:
    check_refused(*pair)


BROKEN_REQUEST_PROBLEMS = (
    "no Upgrade",
    "no Connection",
    "not a GET",
    "HTTP/1.0",
    "no Host",
    "a key not base64",
    "no Sec-WebSocket-Key",
    "two Sec-WebSocket-Key",
    "unsupported version",
    "no Sec-WebSocket-Version",
    "a malformed header line",
    "a hixie-76 key",
)


def test_broken_handshake_requests_reach_every_problem() -> None:
    problems = {
        problem: (lambda pair, problem=problem: pair[1].problem.startswith(problem))
        for problem in BROKEN_REQUEST_PROBLEMS
    }
    reach_all(ws.broken_handshake_requests(), problems)


def client_handshake(version: ProtocolVersion, seed: bytes) -> ClientHandshake:
    """A client offering subprotocols or not, and permessage-deflate in version 13."""
    hixie = isinstance(version, str)
    offers = seed[0] & 1
    return ClientHandshake(
        parse_uri("ws://example.com/chat?room=1"),
        version=version,
        subprotocols=() if not offers else ("chat",) if hixie else ("chat", "superchat"),
        origin="http://example.com" if offers else None,
        extensions=[ClientPerMessageDeflateFactory()],
        random_bytes=random.Random(seed).randbytes,
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=40)
@given(seed=st.binary(min_size=8, max_size=8), data=st.data())
def test_handshake_responses_are_accepted_by_the_client(
    version: ProtocolVersion, seed: bytes, data: st.DataObject
) -> None:
    client = client_handshake(version, seed)
    response = data.draw(ws.handshake_responses(client.request))
    assert isinstance(client.receive_data(response), Accept)
    assert client.trailing == b""


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=40)
@given(seed=st.binary(min_size=8, max_size=8), data=st.data())
def test_broken_handshake_responses_are_refused_by_the_client(
    version: ProtocolVersion, seed: bytes, data: st.DataObject
) -> None:
    client = client_handshake(version, seed)
    response = data.draw(ws.broken_handshake_responses(client.request))
    with pytest.raises(HandshakeError):
        client.receive_data(response)


def request_offering(offer: str) -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: " + offer.encode("latin-1") + b"\r\n\r\n"
    )


@given(ws.extension_offers())
def test_extension_offers_are_accepted_or_declined_as_paired(pair: tuple[str, bool]) -> None:
    offer, acceptable = pair
    handshake = ServerHandshake(extensions=[ServerPerMessageDeflateFactory()])
    assert isinstance(handshake.receive_data(request_offering(offer)), Request)
    response, extensions, _ = handshake.accept()
    assert bool(extensions) == acceptable, offer
    assert (b"permessage-deflate" in response) == acceptable


def deflate_params(element: str) -> dict[str, str | None]:
    """The parameters of one ``permessage-deflate; a; b=1`` element, unquoted (RFC 7692 §7)."""
    name, *params = (part.strip() for part in element.split(";"))
    assert name == "permessage-deflate"
    parsed: dict[str, str | None] = {}
    for param in params:
        key, sep, value = param.partition("=")
        parsed[key.strip()] = value.strip().strip('"') if sep else None
    return parsed


@given(ws.extension_offers().filter(lambda pair: pair[1]))
def test_the_answer_to_an_acceptable_offer_honours_it(pair: tuple[str, bool]) -> None:
    offer = deflate_params(pair[0])
    handshake = ServerHandshake(extensions=[ServerPerMessageDeflateFactory()])
    handshake.receive_data(request_offering(pair[0]))
    response, _, _ = handshake.accept()
    line = re.search(rb"(?im)^sec-websocket-extensions:(.*)\r$", response)
    assert line is not None
    answer = deflate_params(line.group(1).decode("latin-1"))
    # RFC 7692 §7.1.1.1: accepting server_no_context_takeover is including it.
    if "server_no_context_takeover" in offer:
        assert "server_no_context_takeover" in answer
    # §7.1.2.1: server_max_window_bits answered with the same or a smaller value.
    if offer.get("server_max_window_bits") is not None:
        assert int(answer["server_max_window_bits"] or 99) <= int(
            offer["server_max_window_bits"] or 0
        )
    # §7.1.2.2: client_max_window_bits only if offered, at most the value offered.
    if "client_max_window_bits" not in offer:
        assert "client_max_window_bits" not in answer
    elif answer.get("client_max_window_bits") is not None:
        assert (
            8
            <= int(answer["client_max_window_bits"] or 0)
            <= int(offer["client_max_window_bits"] or 15)
        )
