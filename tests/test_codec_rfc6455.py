"""The RFC 6455 codec: receiving frames as events, sending messages as frames."""

from __future__ import annotations

import dataclasses
import itertools
import struct
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.errors import (
    InvalidCloseCode,
    InvalidState,
    InvalidUTF8,
    PayloadTooBig,
    ProtocolError,
)
from wsproto_core.events import BytesMessage, Close, Event, Ping, Pong, TextMessage
from wsproto_core.extensions import Extension
from wsproto_core.frames import Opcode, mask, parse_frame_header, serialize_frame

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 §5.7
ROLES = ["client", "server"]


def make_codec(role: str, **options: object) -> Rfc6455Codec:
    """A codec for ``role``; a client masks with :data:`KEY`."""
    options.setdefault("max_message_size", None)
    return Rfc6455Codec(client=role == "client", mask_key_source=lambda size: KEY, **options)  # type: ignore[arg-type]


def incoming(role: str, opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """A frame as the peer of ``role`` sends it: masked when it goes to a server."""
    mask_key = KEY if role == "server" else None
    return serialize_frame(opcode, payload, fin=fin, rsv=rsv, mask_key=mask_key)


def receive(codec: Rfc6455Codec, *chunks: bytes) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        codec.receive(chunk, events)
    return events


def byte_by_byte(data: bytes) -> Iterator[bytes]:
    return (data[index : index + 1] for index in range(len(data)))


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- RFC 6455 §5.7 examples, byte for byte ------------------------------------------


def test_client_receives_rfc_single_frame_unmasked_text() -> None:
    events = receive(make_codec("client"), bytes.fromhex("810548656c6c6f"))
    assert events == [TextMessage("Hello")]


def test_server_receives_rfc_single_frame_masked_text() -> None:
    events = receive(make_codec("server"), bytes.fromhex("818537fa213d7f9f4d5158"))
    assert events == [TextMessage("Hello")]


def test_client_receives_rfc_fragmented_unmasked_text() -> None:
    events = receive(make_codec("client"), bytes.fromhex("010348656c"), bytes.fromhex("80026c6f"))
    assert events == [TextMessage("Hello")]


def test_client_receives_rfc_unmasked_ping() -> None:
    events = receive(make_codec("client"), bytes.fromhex("890548656c6c6f"))
    assert events == [Ping(b"Hello")]


def test_server_receives_rfc_masked_pong() -> None:
    events = receive(make_codec("server"), bytes.fromhex("8a8537fa213d7f9f4d5158"))
    assert events == [Pong(b"Hello")]


def test_client_receives_rfc_256_byte_binary() -> None:
    payload = bytes(range(256))
    events = receive(make_codec("client"), bytes.fromhex("827e0100") + payload)
    assert events == [BytesMessage(payload)]


def test_client_receives_rfc_64_kib_binary() -> None:
    payload = bytes(range(256)) * 256
    events = receive(make_codec("client"), bytes.fromhex("827f0000000000010000") + payload)
    assert events == [BytesMessage(payload)]


def test_client_sends_rfc_single_frame_masked_text() -> None:
    assert make_codec("client").send_text("Hello") == bytes.fromhex("818537fa213d7f9f4d5158")


def test_server_sends_rfc_single_frame_unmasked_text() -> None:
    assert make_codec("server").send_text("Hello") == bytes.fromhex("810548656c6c6f")


def test_server_sends_rfc_fragmented_text() -> None:
    codec = make_codec("server")
    assert codec.send_text("Hel", final=False) == bytes.fromhex("010348656c")
    assert codec.send_text("lo") == bytes.fromhex("80026c6f")


def test_server_sends_rfc_unmasked_ping() -> None:
    assert make_codec("server").send_ping(b"Hello") == bytes.fromhex("890548656c6c6f")


def test_client_sends_rfc_masked_pong() -> None:
    assert make_codec("client").send_pong(b"Hello") == bytes.fromhex("8a8537fa213d7f9f4d5158")


def test_server_sends_rfc_256_byte_binary() -> None:
    frame = make_codec("server").send_binary(bytes(256))
    assert frame == bytes.fromhex("827e0100") + bytes(256)


def test_server_sends_rfc_64_kib_binary() -> None:
    frame = make_codec("server").send_binary(bytes(65536))
    assert frame == bytes.fromhex("827f0000000000010000") + bytes(65536)


# -- receiving: events ---------------------------------------------------------------


def test_receives_long_text_in_one_read(role: str) -> None:
    events = receive(make_codec(role), incoming(role, Opcode.TEXT, "é".encode() * 200))
    assert events == [TextMessage("é" * 200)]


def test_receives_binary(role: str) -> None:
    events = receive(make_codec(role), incoming(role, Opcode.BINARY, b"\x00\xff"))
    assert events == [BytesMessage(b"\x00\xff")]


def test_receives_empty_text(role: str) -> None:
    assert receive(make_codec(role), incoming(role, Opcode.TEXT, b"")) == [TextMessage("")]


def test_receives_ping(role: str) -> None:
    assert receive(make_codec(role), incoming(role, Opcode.PING, b"hi")) == [Ping(b"hi")]


def test_receives_pong(role: str) -> None:
    assert receive(make_codec(role), incoming(role, Opcode.PONG, b"hi")) == [Pong(b"hi")]


def test_receives_close_with_code_and_reason(role: str) -> None:
    events = receive(make_codec(role), incoming(role, Opcode.CLOSE, b"\x03\xe8bye"))
    assert events == [Close(1000, "bye", by_peer=True)]


def test_receives_close_without_code_as_1005(role: str) -> None:
    events = receive(make_codec(role), incoming(role, Opcode.CLOSE, b""))
    assert events == [Close(1005, "", by_peer=True)]


def test_receives_every_frame_of_one_read_in_order(role: str) -> None:
    data = (
        incoming(role, Opcode.TEXT, b"one")
        + incoming(role, Opcode.PING, b"")
        + incoming(role, Opcode.BINARY, b"two")
    )
    events = receive(make_codec(role), data)
    assert events == [TextMessage("one"), Ping(b""), BytesMessage(b"two")]


def test_receives_a_frame_fed_one_byte_at_a_time(role: str) -> None:
    frame = incoming(role, Opcode.TEXT, "héllo".encode() * 30)
    events = receive(make_codec(role), *byte_by_byte(frame))
    assert events == [TextMessage("héllo" * 30)]


def test_receives_a_frame_split_across_reads_after_another(role: str) -> None:
    data = incoming(role, Opcode.TEXT, b"one") + incoming(role, Opcode.BINARY, bytes(300))
    events = receive(make_codec(role), data[:20], data[20:])
    assert events == [TextMessage("one"), BytesMessage(bytes(300))]


def test_receives_header_split_before_extended_length(role: str) -> None:
    frame = incoming(role, Opcode.BINARY, bytes(70000))
    events = receive(make_codec(role), frame[:3], frame[3:9], frame[9:])
    assert events == [BytesMessage(bytes(70000))]


def test_receives_fragmented_binary(role: str) -> None:
    data = incoming(role, Opcode.BINARY, b"ab", fin=False) + incoming(
        role, Opcode.CONTINUATION, b"cd"
    )
    assert receive(make_codec(role), data) == [BytesMessage(b"abcd")]


def test_receives_fragmented_message_with_empty_fragments(role: str) -> None:
    data = (
        incoming(role, Opcode.TEXT, b"", fin=False)
        + incoming(role, Opcode.CONTINUATION, b"", fin=False)
        + incoming(role, Opcode.CONTINUATION, b"")
    )
    assert receive(make_codec(role), data) == [TextMessage("")]


def test_receives_control_frames_interleaved_in_a_fragmented_message(role: str) -> None:
    data = (
        incoming(role, Opcode.TEXT, b"Hel", fin=False)
        + incoming(role, Opcode.PING, b"p")
        + incoming(role, Opcode.PONG, b"q")
        + incoming(role, Opcode.CONTINUATION, b"lo")
    )
    events = receive(make_codec(role), data)
    assert events == [Ping(b"p"), Pong(b"q"), TextMessage("Hello")]


def test_receives_close_inside_a_fragmented_message(role: str) -> None:
    data = incoming(role, Opcode.TEXT, b"Hel", fin=False) + incoming(
        role, Opcode.CLOSE, b"\x03\xe9"
    )
    assert receive(make_codec(role), data) == [Close(1001, "", by_peer=True)]


def test_receives_a_second_message_after_a_fragmented_one(role: str) -> None:
    data = (
        incoming(role, Opcode.BINARY, b"a", fin=False)
        + incoming(role, Opcode.CONTINUATION, b"b")
        + incoming(role, Opcode.TEXT, b"c", fin=False)
        + incoming(role, Opcode.CONTINUATION, b"d")
    )
    events = receive(make_codec(role), data)
    assert events == [BytesMessage(b"ab"), TextMessage("cd")]


def test_ignores_bytes_after_close(role: str) -> None:
    codec = make_codec(role)
    events = receive(
        codec,
        incoming(role, Opcode.CLOSE, b"\x03\xe8") + incoming(role, Opcode.TEXT, b"late"),
        b"\xff\xff garbage",
    )
    assert events == [Close(1000, "", by_peer=True)]


def test_receive_of_nothing_produces_nothing(role: str) -> None:
    assert receive(make_codec(role), b"") == []


def test_events_are_bytes_not_views(role: str) -> None:
    frame = incoming(role, Opcode.BINARY, b"abc" * 200)
    events = receive(make_codec(role), frame[:50], frame[50:])
    assert type(events[0]).__name__ == "BytesMessage"
    assert type(events[0].data) is bytes  # type: ignore[attr-defined]


# -- receiving: protocol errors (1002) ------------------------------------------------


def assert_fails(
    codec: Rfc6455Codec,
    data: bytes,
    close_code: int = 1002,
    error: type[ProtocolError] = ProtocolError,
) -> list[Event]:
    events: list[Event] = []
    with pytest.raises(error) as info:
        codec.receive(data, events)
    assert info.value.close_code == close_code
    return events


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10])
def test_refuses_reserved_bit_without_extension(role: str, rsv: int) -> None:
    assert_fails(make_codec(role), incoming(role, Opcode.TEXT, b"x", rsv=rsv))


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_refuses_reserved_opcode(role: str, opcode: int) -> None:
    assert_fails(make_codec(role), incoming(role, opcode, b""))


def test_refuses_reserved_data_opcode_with_long_payload(role: str) -> None:
    assert_fails(make_codec(role), incoming(role, 3, bytes(200))[:2])


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_refuses_control_frame_over_125_bytes(role: str, opcode: Opcode) -> None:
    assert_fails(make_codec(role), incoming(role, opcode, b"\x03\xe8" + bytes(124)))


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_refuses_fragmented_control_frame(role: str, opcode: Opcode) -> None:
    assert_fails(make_codec(role), incoming(role, opcode, b"", fin=False))


def test_refuses_continuation_without_a_message(role: str) -> None:
    assert_fails(make_codec(role), incoming(role, Opcode.CONTINUATION, b"x"))


@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
def test_refuses_new_data_frame_inside_a_fragmented_message(role: str, opcode: Opcode) -> None:
    data = incoming(role, Opcode.BINARY, b"a", fin=False) + incoming(role, opcode, b"b")
    assert_fails(make_codec(role), data)


def test_server_refuses_unmasked_frame() -> None:
    assert_fails(make_codec("server"), incoming("client", Opcode.TEXT, b"x"))


def test_client_refuses_masked_frame() -> None:
    assert_fails(make_codec("client"), incoming("server", Opcode.TEXT, b"x"))


def test_refuses_16_bit_length_under_126(role: str) -> None:
    frame = incoming(role, Opcode.BINARY, bytes(5))
    forged = bytes([frame[0], (frame[1] & 0x80) | 126]) + struct.pack("!H", 5) + frame[2:]
    assert_fails(make_codec(role), forged)


def test_refuses_64_bit_length_under_65536(role: str) -> None:
    frame = incoming(role, Opcode.BINARY, bytes(300))
    forged = bytes([frame[0], (frame[1] & 0x80) | 127]) + struct.pack("!Q", 300) + frame[4:]
    assert_fails(make_codec(role), forged)


def test_refuses_64_bit_length_with_the_top_bit_set(role: str) -> None:
    mask_bit = 0x80 if role == "server" else 0
    header = bytes([0x82, mask_bit | 127]) + struct.pack("!Q", 2**63 + 70000)
    assert_fails(make_codec(role), header + KEY)


def test_refuses_one_byte_close_payload(role: str) -> None:
    assert_fails(make_codec(role), incoming(role, Opcode.CLOSE, b"\x03"))


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_refuses_close_code_not_valid_on_the_wire(role: str, code: int) -> None:
    assert_fails(make_codec(role), incoming(role, Opcode.CLOSE, struct.pack("!H", code)))


def test_delivers_events_before_the_bad_frame(role: str) -> None:
    data = (
        incoming(role, Opcode.TEXT, b"ok")
        + incoming(role, Opcode.PING, b"")
        + incoming(role, Opcode.CONTINUATION, b"bad")
    )
    events = assert_fails(make_codec(role), data)
    assert events == [TextMessage("ok"), Ping(b"")]


def test_ignores_bytes_after_a_protocol_error(role: str) -> None:
    codec = make_codec(role)
    assert_fails(codec, incoming(role, Opcode.CONTINUATION, b"bad"))
    assert receive(codec, incoming(role, Opcode.TEXT, b"late")) == []


# -- receiving: UTF-8 (1007) ----------------------------------------------------------


def test_refuses_invalid_utf8_in_a_single_frame(role: str) -> None:
    assert_fails(make_codec(role), incoming(role, Opcode.TEXT, b"ok\xff"), 1007, InvalidUTF8)


def test_refuses_invalid_utf8_in_a_long_single_frame(role: str) -> None:
    frame = incoming(role, Opcode.TEXT, b"x" * 200 + b"\xff")
    assert_fails(make_codec(role), frame, 1007, InvalidUTF8)


def test_refuses_invalid_utf8_as_soon_as_its_fragment_arrives(role: str) -> None:
    # The message is not finished: the error must not wait for its end.
    data = incoming(role, Opcode.TEXT, b"ok", fin=False) + incoming(
        role, Opcode.CONTINUATION, b"\xc0\xaf", fin=False
    )
    assert_fails(make_codec(role), data, 1007, InvalidUTF8)


def test_refuses_invalid_utf8_within_a_partly_received_frame(role: str) -> None:
    frame = incoming(role, Opcode.TEXT, b"ok\xed\xa0\x80" + b"x" * 1000)
    codec = make_codec(role)
    header = parse_frame_header(frame)
    assert header is not None
    assert_fails(codec, frame[: header.header_length + 5], 1007, InvalidUTF8)


def test_refuses_utf8_cut_short_at_the_end_of_a_message(role: str) -> None:
    data = incoming(role, Opcode.TEXT, b"ok\xe2\x82", fin=False) + incoming(
        role, Opcode.CONTINUATION, b""
    )
    assert_fails(make_codec(role), data, 1007, InvalidUTF8)


def test_accepts_code_points_split_across_fragments(role: str) -> None:
    euro = "€".encode()
    data = (
        incoming(role, Opcode.TEXT, euro[:1], fin=False)
        + incoming(role, Opcode.CONTINUATION, euro[1:2], fin=False)
        + incoming(role, Opcode.CONTINUATION, euro[2:])
    )
    assert receive(make_codec(role), data) == [TextMessage("€")]


def test_refuses_invalid_utf8_in_close_reason(role: str) -> None:
    frame = incoming(role, Opcode.CLOSE, b"\x03\xe8\xff")
    assert_fails(make_codec(role), frame, 1007, InvalidUTF8)


def test_accepts_invalid_utf8_in_binary(role: str) -> None:
    assert receive(make_codec(role), incoming(role, Opcode.BINARY, b"\xff")) == [
        BytesMessage(b"\xff")
    ]


# -- receiving: size limits (1009, or 1004 on versions 7 and 8) -----------------------


@pytest.mark.parametrize(("version", "close_code"), [(13, 1009), (8, 1004), (7, 1004)])
def test_refuses_message_over_max_message_size(role: str, version: int, close_code: int) -> None:
    codec = make_codec(role, version=version, max_message_size=10)
    assert_fails(codec, incoming(role, Opcode.BINARY, bytes(11)), close_code, PayloadTooBig)


def test_accepts_message_of_exactly_max_message_size(role: str) -> None:
    codec = make_codec(role, max_message_size=10)
    assert receive(codec, incoming(role, Opcode.TEXT, b"x" * 10)) == [TextMessage("x" * 10)]


def test_refuses_fragmented_message_whose_total_exceeds_max_message_size(role: str) -> None:
    codec = make_codec(role, max_message_size=10)
    data = incoming(role, Opcode.BINARY, bytes(6), fin=False) + incoming(
        role, Opcode.CONTINUATION, bytes(5)
    )
    assert assert_fails(codec, data, 1009, PayloadTooBig) == []


def test_message_size_counts_from_zero_for_each_message(role: str) -> None:
    codec = make_codec(role, max_message_size=10)
    data = (
        incoming(role, Opcode.BINARY, bytes(6), fin=False)
        + incoming(role, Opcode.CONTINUATION, bytes(4))
        + incoming(role, Opcode.BINARY, bytes(10))
    )
    assert receive(codec, data) == [BytesMessage(bytes(10)), BytesMessage(bytes(10))]


@pytest.mark.parametrize(("version", "close_code"), [(13, 1009), (8, 1004), (7, 1004)])
def test_refuses_frame_over_max_frame_size(role: str, version: int, close_code: int) -> None:
    codec = make_codec(role, version=version, max_frame_size=4)
    data = incoming(role, Opcode.BINARY, bytes(4), fin=False) + incoming(
        role, Opcode.CONTINUATION, bytes(5)
    )
    assert_fails(codec, data, close_code, PayloadTooBig)


def test_refuses_huge_announced_frame_from_its_header_alone(role: str) -> None:
    codec = make_codec(role, max_message_size=2**20)
    mask_bit = 0x80 if role == "server" else 0
    header = bytes([0x82, mask_bit | 127]) + struct.pack("!Q", 2**63 - 1)
    events: list[Event] = []
    with pytest.raises(PayloadTooBig) as info:
        codec.receive(header + (KEY if role == "server" else b""), events)
    assert info.value.size == 2**63 - 1


def test_reports_size_of_message_so_far_plus_announced_frame(role: str) -> None:
    codec = make_codec(role, max_message_size=10)
    data = incoming(role, Opcode.BINARY, bytes(6), fin=False) + incoming(
        role, Opcode.CONTINUATION, bytes(7)
    )
    with pytest.raises(PayloadTooBig) as info:
        codec.receive(data, [])
    assert (info.value.size, info.value.max_size) == (13, 10)


# -- receiving: streamed messages -------------------------------------------------------


def test_streams_each_fragment_as_it_arrives(role: str) -> None:
    codec = make_codec(role, stream_messages=True)
    events = receive(
        codec,
        incoming(role, Opcode.TEXT, b"Hel", fin=False),
        incoming(role, Opcode.CONTINUATION, b"lo"),
    )
    assert events == [TextMessage("Hel", final=False), TextMessage("lo", final=True)]


def test_streams_the_available_part_of_an_incomplete_frame(role: str) -> None:
    payload = bytes(range(256)) * 40
    frame = incoming(role, Opcode.BINARY, payload)
    codec = make_codec(role, stream_messages=True)
    first = receive(codec, frame[:1000])
    header = parse_frame_header(frame)
    assert header is not None
    assert first == [BytesMessage(payload[: 1000 - header.header_length], final=False)]
    rest = receive(codec, frame[1000:5001], frame[5001:])
    assert b"".join(event.data for event in first + rest) == payload  # type: ignore[attr-defined]
    assert [event.final for event in rest] == [False, True]  # type: ignore[attr-defined]


def test_streams_whole_code_points_only(role: str) -> None:
    frame = incoming(role, Opcode.TEXT, "€€".encode())
    header = parse_frame_header(frame)
    assert header is not None
    cut = header.header_length + 4
    events = receive(make_codec(role, stream_messages=True), frame[:cut], frame[cut:])
    assert events == [TextMessage("€", final=False), TextMessage("€", final=True)]


def test_streams_an_empty_final_fragment(role: str) -> None:
    events = receive(
        make_codec(role, stream_messages=True),
        incoming(role, Opcode.BINARY, b"ab", fin=False),
        incoming(role, Opcode.CONTINUATION, b""),
    )
    assert events == [BytesMessage(b"ab", final=False), BytesMessage(b"", final=True)]


def test_streams_the_fragments_of_one_read_as_one_chunk(role: str) -> None:
    data = b"".join(
        incoming(role, Opcode.CONTINUATION if index else Opcode.TEXT, b"ab", fin=False)
        for index in range(50)
    )
    codec = make_codec(role, stream_messages=True)
    assert receive(codec, data) == [TextMessage("ab" * 50, final=False)]
    last = incoming(role, Opcode.CONTINUATION, b"c", fin=False) + incoming(
        role, Opcode.CONTINUATION, b"d"
    )
    assert receive(codec, last) == [TextMessage("cd", final=True)]


def test_streamed_chunk_comes_before_a_control_frame_after_it(role: str) -> None:
    data = (
        incoming(role, Opcode.BINARY, b"ab", fin=False)
        + incoming(role, Opcode.CONTINUATION, b"cd", fin=False)
        + incoming(role, Opcode.PING, b"p")
        + incoming(role, Opcode.CONTINUATION, b"ef", fin=False)
    )
    events = receive(make_codec(role, stream_messages=True), data)
    assert events == [
        BytesMessage(b"abcd", final=False),
        Ping(b"p"),
        BytesMessage(b"ef", final=False),
    ]


@pytest.mark.parametrize(
    "bad",
    [b"e\xff", b"e\xe2\x82", b"e\xed\xa0", b"e\xe2\x28"],
    ids=["invalid byte", "truncated at the end", "surrogate", "bad continuation"],
)
def test_streamed_text_delivers_what_precedes_the_invalid_byte(role: str, bad: bytes) -> None:
    # The fragments before the bad one, and the bad one's valid start, are one chunk.
    data = (
        incoming(role, Opcode.TEXT, b"ab", fin=False)
        + incoming(role, Opcode.CONTINUATION, "c€".encode()[:2], fin=False)
        + incoming(role, Opcode.CONTINUATION, "c€".encode()[2:] + b"d", fin=False)
        + incoming(role, Opcode.CONTINUATION, bad, fin=bad == b"e\xe2\x82")
    )
    codec = make_codec(role, stream_messages=True)
    events = assert_fails(codec, data, 1007, InvalidUTF8)
    assert events == [TextMessage("abc€de", final=False)]


def test_streams_no_empty_chunk_before_the_end(role: str) -> None:
    data = incoming(role, Opcode.TEXT, b"", fin=False) + incoming(role, Opcode.CONTINUATION, b"x")
    events = receive(make_codec(role, stream_messages=True), data)
    assert events == [TextMessage("x", final=True)]


def test_streamed_message_still_obeys_max_message_size(role: str) -> None:
    codec = make_codec(role, stream_messages=True, max_message_size=10)
    events = assert_fails(
        codec,
        incoming(role, Opcode.TEXT, b"x" * 8, fin=False)
        + incoming(role, Opcode.CONTINUATION, b"x" * 8),
        1009,
        PayloadTooBig,
    )
    assert events == [TextMessage("x" * 8, final=False)]


# -- extensions ---------------------------------------------------------------------------


class Reverse(Extension):
    """A test-only extension: reverses each data frame's payload and marks it with RSV1."""

    name = "x-reverse"
    rsv_bits = 0x40

    def __init__(self) -> None:
        self.decoded: list[tuple[int, int, bytes, bool]] = []

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        self.decoded.append((opcode, rsv, payload, fin))
        if rsv & 0x40:
            return payload[::-1]
        return payload

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0x40, payload[::-1]


class Double(Extension):
    """A test-only extension that doubles each payload (to test decoded size limits)."""

    name = "x-double"

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        return payload * 2

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0, payload[: len(payload) // 2]


def test_extension_claims_its_reserved_bit(role: str) -> None:
    codec = make_codec(role, extensions=[Reverse()])
    events = receive(codec, incoming(role, Opcode.TEXT, b"olleh", rsv=0x40))
    assert events == [TextMessage("hello")]


def test_extension_does_not_allow_other_reserved_bits(role: str) -> None:
    codec = make_codec(role, extensions=[Reverse()])
    assert_fails(codec, incoming(role, Opcode.TEXT, b"x", rsv=0x20))


def test_extension_decodes_whole_frames_in_reverse_order(role: str) -> None:
    first, second = Reverse(), Reverse()
    codec = make_codec(role, extensions=[first, second])
    frame = incoming(role, Opcode.BINARY, b"abcdef" * 50, rsv=0x40, fin=False)
    frame += incoming(role, Opcode.CONTINUATION, b"xy")
    events = receive(codec, *byte_by_byte(frame))
    assert events == [BytesMessage(b"abcdef" * 50 + b"xy")]
    assert [entry[0] for entry in second.decoded] == [Opcode.BINARY, Opcode.CONTINUATION]
    assert second.decoded[0][2] == b"abcdef" * 50
    assert first.decoded[0][2] == (b"abcdef" * 50)[::-1]


def test_extension_encodes_and_sets_its_bits(role: str) -> None:
    codec = make_codec(role, extensions=[Reverse()])
    frame = codec.send_binary(b"abc")
    header = parse_frame_header(frame)
    assert header is not None
    assert header.rsv == 0x40
    body = frame[header.header_length :]
    assert (body if header.mask_key is None else mask(body, header.mask_key)) == b"cba"


def test_extension_output_counts_against_max_message_size(role: str) -> None:
    codec = make_codec(role, extensions=[Double()], max_message_size=10)
    assert_fails(codec, incoming(role, Opcode.BINARY, bytes(6)), 1009, PayloadTooBig)


def test_extension_round_trip_between_roles() -> None:
    client = make_codec("client", extensions=[Reverse()], stream_messages=True)
    server = make_codec("server", extensions=[Reverse()])
    data = client.send_text("héllo", final=False) + client.send_text(" wörld")
    assert receive(server, data) == [TextMessage("héllo wörld")]


# -- sending -----------------------------------------------------------------------------


def test_client_masks_every_frame_with_a_fresh_key() -> None:
    keys = iter([b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"])
    codec = Rfc6455Codec(client=True, max_message_size=None, mask_key_source=lambda n: next(keys))
    first, second = codec.send_text("a"), codec.send_ping(b"")
    assert [parse_frame_header(first).mask_key, parse_frame_header(second).mask_key] == [  # type: ignore[union-attr]
        b"\x01\x02\x03\x04",
        b"\x05\x06\x07\x08",
    ]


def test_client_asks_the_key_source_for_four_bytes() -> None:
    sizes: list[int] = []

    def source(size: int) -> bytes:
        sizes.append(size)
        return KEY

    Rfc6455Codec(client=True, max_message_size=None, mask_key_source=source).send_binary(b"x")
    assert sizes == [4]


def test_client_masks_with_os_urandom_by_default() -> None:
    codec = Rfc6455Codec(client=True, max_message_size=None)
    header = parse_frame_header(codec.send_binary(b"x"))
    assert header is not None
    assert header.masked


def test_server_never_masks() -> None:
    codec = make_codec("server")
    for frame in (codec.send_binary(b"x"), codec.send_pong(b""), codec.send_close(1000, "")):
        header = parse_frame_header(frame)
        assert header is not None
        assert not header.masked


def test_sends_fragmented_text_as_text_then_continuations(role: str) -> None:
    codec = make_codec(role)
    frames = [codec.send_text("a", False), codec.send_text("b", False), codec.send_text("c")]
    headers = [parse_frame_header(frame) for frame in frames]
    assert [(h.opcode, h.fin) for h in headers] == [  # type: ignore[union-attr]
        (Opcode.TEXT, False),
        (Opcode.CONTINUATION, False),
        (Opcode.CONTINUATION, True),
    ]


def test_sends_a_new_message_after_a_fragmented_one(role: str) -> None:
    codec = make_codec(role)
    codec.send_binary(b"a", False)
    codec.send_binary(b"b")
    header = parse_frame_header(codec.send_text("c"))
    assert header is not None
    assert header.opcode == Opcode.TEXT


def test_control_frames_may_be_sent_within_a_fragmented_send(role: str) -> None:
    codec = make_codec(role)
    codec.send_text("a", False)
    codec.send_ping(b"")
    header = parse_frame_header(codec.send_text("b"))
    assert header is not None
    assert header.opcode == Opcode.CONTINUATION


def test_refuses_text_while_a_binary_fragmented_send_is_open(role: str) -> None:
    codec = make_codec(role)
    codec.send_binary(b"a", False)
    with pytest.raises(InvalidState, match="binary"):
        codec.send_text("b")


def test_refuses_binary_while_a_text_fragmented_send_is_open(role: str) -> None:
    codec = make_codec(role)
    codec.send_text("a", False)
    with pytest.raises(InvalidState, match="text"):
        codec.send_binary(b"b")


@pytest.mark.parametrize("method", ["send_ping", "send_pong"])
def test_refuses_to_send_control_payload_over_125_bytes(role: str, method: str) -> None:
    codec = make_codec(role)
    with pytest.raises(PayloadTooBig) as info:
        getattr(codec, method)(bytes(126))
    assert (info.value.size, info.value.max_size) == (126, 125)


@pytest.mark.parametrize("method", ["send_ping", "send_pong"])
def test_sends_control_payload_of_125_bytes(role: str, method: str) -> None:
    frame = getattr(make_codec(role), method)(bytes(125))
    header = parse_frame_header(frame)
    assert header is not None
    assert header.length == 125


def test_sends_close_with_code_and_reason(role: str) -> None:
    frame = make_codec(role).send_close(1001, "bye")
    assert receive(make_codec("server" if role == "client" else "client"), frame) == [
        Close(1001, "bye", by_peer=True)
    ]


def test_sends_close_without_code(role: str) -> None:
    header = parse_frame_header(make_codec(role).send_close(None, ""))
    assert header is not None
    assert (header.opcode, header.length) == (Opcode.CLOSE, 0)


@pytest.mark.parametrize("version", [7, 8])
def test_versions_7_and_8_may_send_1004(version: int) -> None:
    frame = make_codec("server", version=version).send_close(1004, "too big")
    assert frame == b"\x88\x09\x03\xectoo big"


def test_version_13_may_not_send_1004() -> None:
    with pytest.raises(InvalidCloseCode):
        make_codec("server").send_close(1004, "")


def test_refuses_unknown_version() -> None:
    with pytest.raises(ValueError, match="versions 13, 8 and 7"):
        Rfc6455Codec(client=False, version=12, max_message_size=None)


def test_version_attribute(role: str) -> None:
    assert make_codec(role, version=8).version == 8


# -- properties ----------------------------------------------------------------------------

messages = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.lists(st.text(max_size=40), min_size=1, max_size=4)),
        st.tuples(st.just("binary"), st.lists(st.binary(max_size=300), min_size=1, max_size=4)),
        st.tuples(st.just("ping"), st.binary(max_size=125)),
        st.tuples(st.just("pong"), st.binary(max_size=125)),
    ),
    max_size=8,
)


def encode_messages(
    sender: Rfc6455Codec, script: list[tuple[str, object]], close: bool
) -> tuple[bytes, list[Event]]:
    """Send ``script``; return the bytes and the events a receiver should produce."""
    out: list[bytes] = []
    expected: list[Event] = []
    for kind, value in script:
        if kind == "text":
            fragments: list[str] = value  # type: ignore[assignment]
            for index, fragment in enumerate(fragments):
                out.append(sender.send_text(fragment, index == len(fragments) - 1))
            expected.append(TextMessage("".join(fragments)))
        elif kind == "binary":
            chunks: list[bytes] = value  # type: ignore[assignment]
            for index, chunk in enumerate(chunks):
                out.append(sender.send_binary(chunk, index == len(chunks) - 1))
            expected.append(BytesMessage(b"".join(chunks)))
        elif kind == "ping":
            out.append(sender.send_ping(value))  # type: ignore[arg-type]
            expected.append(Ping(value))  # type: ignore[arg-type]
        else:
            out.append(sender.send_pong(value))  # type: ignore[arg-type]
            expected.append(Pong(value))  # type: ignore[arg-type]
    if close:
        out.append(sender.send_close(1000, "done"))
        expected.append(Close(1000, "done", by_peer=True))
    return b"".join(out), expected


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(
    script=messages,
    close=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    sender_role=st.sampled_from(ROLES),
)
def test_messages_survive_any_chunking(
    script: list[tuple[str, object]], close: bool, cuts: list[int], sender_role: str
) -> None:
    receiver_role = "server" if sender_role == "client" else "client"
    sender = Rfc6455Codec(client=sender_role == "client", max_message_size=None)
    data, expected = encode_messages(sender, script, close)
    events = receive(make_codec(receiver_role), *chunked(data, cuts))
    assert events == expected


@given(script=messages, sender_role=st.sampled_from(ROLES))
def test_messages_survive_one_byte_reads(
    script: list[tuple[str, object]], sender_role: str
) -> None:
    receiver_role = "server" if sender_role == "client" else "client"
    sender = Rfc6455Codec(client=sender_role == "client", max_message_size=None)
    data, expected = encode_messages(sender, script, True)
    events = receive(make_codec(receiver_role), *byte_by_byte(data))
    assert events == expected


@given(
    script=messages,
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    sender_role=st.sampled_from(ROLES),
)
def test_streamed_chunks_join_to_the_messages(
    script: list[tuple[str, object]], cuts: list[int], sender_role: str
) -> None:
    receiver_role = "server" if sender_role == "client" else "client"
    sender = Rfc6455Codec(client=sender_role == "client", max_message_size=None)
    data, expected = encode_messages(sender, script, False)
    events = receive(make_codec(receiver_role, stream_messages=True), *chunked(data, cuts))
    joined: list[Event] = []
    text: list[str] = []
    binary: list[bytes] = []
    for event in events:
        if isinstance(event, TextMessage):
            text.append(event.data)
            if event.final:
                joined.append(TextMessage("".join(text)))
                text.clear()
        elif isinstance(event, BytesMessage):
            binary.append(event.data)
            if event.final:
                joined.append(BytesMessage(b"".join(binary)))
                binary.clear()
        else:
            joined.append(event)
    assert joined == expected


@given(
    garbage=st.binary(max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=5),
    role=st.sampled_from(ROLES),
    stream=st.booleans(),
)
def test_garbage_raises_only_protocol_errors(
    garbage: bytes, cuts: list[int], role: str, stream: bool
) -> None:
    codec = make_codec(role, stream_messages=stream, max_message_size=1000)
    events: list[Event] = []
    try:
        for chunk in chunked(garbage, cuts):
            codec.receive(chunk, events)
    except ProtocolError:
        pass


frame_parts = st.tuples(
    st.integers(0, 15), st.binary(max_size=200), st.booleans(), st.sampled_from([0, 0x40])
)


@given(
    parts=st.lists(frame_parts, max_size=6),
    cuts=st.lists(st.integers(0, 2000), max_size=5),
    role=st.sampled_from(ROLES),
)
def test_plausible_frames_raise_only_protocol_errors(
    parts: list[tuple[int, bytes, bool, int]], cuts: list[int], role: str
) -> None:
    data = b"".join(
        incoming(role, opcode, payload, fin=fin, rsv=rsv) for opcode, payload, fin, rsv in parts
    )
    codec = make_codec(role, max_message_size=300)
    events: list[Event] = []
    try:
        for chunk in chunked(data, cuts):
            codec.receive(chunk, events)
    except ProtocolError:
        pass


# -- the fast path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opcode", "payload", "expected"),
    [
        (Opcode.TEXT, b"short", TextMessage("short", True)),
        (Opcode.BINARY, b"short", BytesMessage(b"short", True)),
    ],
)
def test_short_message_events_have_every_field(
    role: str, opcode: Opcode, payload: bytes, expected: Event
) -> None:
    # The fast path builds events without their __init__: every field must be set.
    (event,) = receive(make_codec(role), incoming(role, opcode, payload))
    assert type(event) is type(expected)
    for field in dataclasses.fields(expected):  # type: ignore[arg-type]
        assert getattr(event, field.name) == getattr(expected, field.name)


@pytest.mark.parametrize("limit", [0, 5])
def test_short_message_over_a_small_limit_is_refused(role: str, limit: int) -> None:
    codec = make_codec(role, max_message_size=limit)
    assert_fails(codec, incoming(role, Opcode.TEXT, b"x" * (limit + 1)), 1009, PayloadTooBig)


def test_short_frame_over_a_small_frame_limit_is_refused(role: str) -> None:
    codec = make_codec(role, max_frame_size=3)
    assert_fails(codec, incoming(role, Opcode.BINARY, b"four"), 1009, PayloadTooBig)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
@pytest.mark.parametrize("final", [True, False])
def test_server_frames_are_serialize_frame(size: int, final: bool) -> None:
    # The server writes its headers itself, without serialize_frame's checks: same bytes.
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    codec = Rfc6455Codec(client=False, max_message_size=None)
    assert codec.send_binary(payload, final) == serialize_frame(2, payload, fin=final)
    if not final:
        assert codec.send_binary(payload) == serialize_frame(0, payload)


class _Rsv2(Extension):
    name = "rsv2"
    rsv_bits = 0x20

    def decode(self, opcode: int, rsv: int, payload: bytes, fin: bool) -> bytes:
        return payload

    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0x20, payload[::-1]


def test_server_frames_carry_the_extensions_bits() -> None:
    codec = Rfc6455Codec(client=False, max_message_size=None, extensions=[_Rsv2()])
    assert codec.send_text("abc") == serialize_frame(1, b"cba", rsv=0x20)


class _BadBits(_Rsv2):
    def encode(self, opcode: int, payload: bytes, fin: bool) -> tuple[int, bytes]:
        return 0x80, payload


def test_an_extension_setting_bits_outside_rsv_is_refused() -> None:
    codec = Rfc6455Codec(client=False, max_message_size=None, extensions=[_BadBits()])
    with pytest.raises(ValueError, match="reserved bits"):
        codec.send_binary(b"abc")
