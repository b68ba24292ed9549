"""The RFC 6455 wire format: opcodes, masking, frame serialization and header parsing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.frames import (
    CONTROL_OPCODES,
    DATA_OPCODES,
    FrameHeader,
    Opcode,
    mask,
    parse_frame_header,
    parse_frame_length,
    serialize_frame,
)

KEY = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 §5.7

keys = st.binary(min_size=4, max_size=4)


# -- Opcode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opcode", "value"),
    [
        (Opcode.CONTINUATION, 0),
        (Opcode.TEXT, 1),
        (Opcode.BINARY, 2),
        (Opcode.CLOSE, 8),
        (Opcode.PING, 9),
        (Opcode.PONG, 10),
    ],
)
def test_opcode_values_are_those_of_rfc_6455(opcode: Opcode, value: int) -> None:
    assert opcode == value


@pytest.mark.parametrize("opcode", [Opcode.CLOSE, Opcode.PING, Opcode.PONG])
def test_close_ping_pong_are_control_opcodes(opcode: Opcode) -> None:
    assert opcode.is_control
    assert not opcode.is_data
    assert opcode in CONTROL_OPCODES
    assert opcode not in DATA_OPCODES


@pytest.mark.parametrize("opcode", [Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY])
def test_continuation_text_binary_are_data_opcodes(opcode: Opcode) -> None:
    assert opcode.is_data
    assert not opcode.is_control
    assert opcode in DATA_OPCODES
    assert opcode not in CONTROL_OPCODES


# -- mask ----------------------------------------------------------------------------


def test_mask_matches_the_rfc_example() -> None:
    assert mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")


def test_mask_of_empty_data_is_empty() -> None:
    assert mask(b"", KEY) == b""


def test_mask_offset_starts_within_the_key() -> None:
    assert mask(b"llo", KEY, 2) == bytes.fromhex("4d5158")


def test_mask_offset_counts_modulo_four() -> None:
    assert mask(b"llo", KEY, 6) == mask(b"llo", KEY, 2)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 255, 256, 257, 300, 511, 512, 513, 1000, 70001])
def test_mask_xors_each_byte_with_the_key_byte_at_its_position(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    expected = bytes(byte ^ KEY[index % 4] for index, byte in enumerate(data))
    assert mask(data, KEY) == expected


@pytest.mark.parametrize("data", [bytearray(b"Hello" * 100), memoryview(b"Hello" * 100)])
def test_mask_accepts_bytearray_and_memoryview(data: bytearray | memoryview) -> None:
    assert mask(data, KEY) == mask(b"Hello" * 100, KEY)


@pytest.mark.parametrize("size", [300, 513])
def test_mask_accepts_a_bytearray_key(size: int) -> None:
    assert mask(bytes(size), bytearray(KEY)) == mask(bytes(size), KEY)


def test_mask_returns_bytes_for_large_data() -> None:
    assert type(mask(bytearray(1000), KEY)) is bytes


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_mask_refuses_a_key_that_is_not_four_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        mask(b"data", key)


@given(data=st.binary(max_size=2000), key=keys, offset=st.integers(0, 7))
def test_masking_is_an_involution(data: bytes, key: bytes, offset: int) -> None:
    assert mask(mask(data, key, offset), key, offset) == data


@given(data=st.binary(max_size=2000), key=keys, cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_masking_in_pieces_equals_masking_the_whole(
    data: bytes, key: bytes, cuts: list[int]
) -> None:
    bounds = [0, *sorted(min(cut, len(data)) for cut in cuts), len(data)]
    pieces = [mask(data[a:b], key, a) for a, b in itertools.pairwise(bounds)]
    assert b"".join(pieces) == mask(data, key)


# -- serialize_frame -------------------------------------------------------------------


def test_serialize_unmasked_text_matches_the_rfc_example() -> None:
    assert serialize_frame(Opcode.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")


def test_serialize_masked_text_matches_the_rfc_example() -> None:
    frame = serialize_frame(Opcode.TEXT, b"Hello", mask_key=KEY)
    assert frame == bytes.fromhex("818537fa213d7f9f4d5158")


def test_serialize_fragments_match_the_rfc_example() -> None:
    assert serialize_frame(Opcode.TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert serialize_frame(Opcode.CONTINUATION, b"lo") == bytes.fromhex("80026c6f")


def test_serialize_ping_matches_the_rfc_example() -> None:
    assert serialize_frame(Opcode.PING, b"Hello") == bytes.fromhex("890548656c6c6f")


def test_serialize_masked_pong_matches_the_rfc_example() -> None:
    frame = serialize_frame(Opcode.PONG, b"Hello", mask_key=KEY)
    assert frame == bytes.fromhex("8a8537fa213d7f9f4d5158")


def test_serialize_256_bytes_uses_the_16_bit_length() -> None:
    frame = serialize_frame(Opcode.BINARY, bytes(256))
    assert frame[:4] == bytes.fromhex("827e0100")
    assert len(frame) == 4 + 256


def test_serialize_64_kib_uses_the_64_bit_length() -> None:
    frame = serialize_frame(Opcode.BINARY, bytes(65536))
    assert frame[:10] == bytes.fromhex("827f0000000000010000")
    assert len(frame) == 10 + 65536


@pytest.mark.parametrize(("size", "header_length"), [(125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_serialize_uses_the_minimal_length_encoding(size: int, header_length: int) -> None:
    frame = serialize_frame(Opcode.BINARY, bytes(size))
    assert len(frame) == header_length + size


def test_serialize_sets_reserved_bits() -> None:
    assert serialize_frame(Opcode.TEXT, b"", rsv=0x70)[0] == 0xF1


def test_serialize_accepts_a_memoryview_payload() -> None:
    assert serialize_frame(Opcode.BINARY, memoryview(b"ab")) == b"\x82\x02ab"


@pytest.mark.parametrize("opcode", [-1, 16])
def test_serialize_refuses_an_opcode_over_four_bits(opcode: int) -> None:
    with pytest.raises(ValueError, match="opcode"):
        serialize_frame(opcode, b"")


@pytest.mark.parametrize("rsv", [0x80, 0x01, 0x100])
def test_serialize_refuses_bits_outside_the_reserved_ones(rsv: int) -> None:
    with pytest.raises(ValueError, match="reserved bits"):
        serialize_frame(Opcode.TEXT, b"", rsv=rsv)


# -- parse_frame_header --------------------------------------------------------------


def test_parse_header_of_the_rfc_masked_example() -> None:
    header = parse_frame_header(bytes.fromhex("818537fa213d7f9f4d5158"))
    assert header == FrameHeader(
        fin=True, rsv=0, opcode=1, masked=True, length=5, mask_key=KEY, header_length=6
    )


def test_parse_header_of_a_non_final_unmasked_frame() -> None:
    header = parse_frame_header(bytes.fromhex("010348656c"))
    assert header == FrameHeader(
        fin=False, rsv=0, opcode=1, masked=False, length=3, mask_key=None, header_length=2
    )


def test_parse_header_at_an_offset() -> None:
    data = b"xx" + serialize_frame(Opcode.PING, b"Hello")
    header = parse_frame_header(data, 2)
    assert header is not None
    assert header.opcode == Opcode.PING
    assert header.length == 5


def test_parse_header_reads_16_bit_length() -> None:
    header = parse_frame_header(bytes.fromhex("827e0100"))
    assert header is not None
    assert (header.length, header.header_length) == (256, 4)


def test_parse_header_reads_64_bit_length() -> None:
    header = parse_frame_header(bytes.fromhex("827f0000000000010000"))
    assert header is not None
    assert (header.length, header.header_length) == (65536, 10)


def test_parse_header_reports_a_non_minimal_length_as_sent() -> None:
    header = parse_frame_header(bytes.fromhex("827e0005"))
    assert header is not None
    assert header.length == 5


def test_parse_header_keeps_reserved_bits_and_opcodes() -> None:
    header = parse_frame_header(b"\xf3\x00")
    assert header is not None
    assert (header.rsv, header.opcode) == (0x70, 3)


@pytest.mark.parametrize(
    "frame",
    [
        serialize_frame(Opcode.TEXT, b"Hello", mask_key=KEY),
        serialize_frame(Opcode.BINARY, bytes(256), mask_key=KEY),
        serialize_frame(Opcode.BINARY, bytes(65536), mask_key=KEY),
    ],
)
def test_parse_header_returns_none_until_the_header_is_complete(frame: bytes) -> None:
    header = parse_frame_header(frame)
    assert header is not None
    for size in range(header.header_length):
        assert parse_frame_header(frame[:size]) is None
    assert parse_frame_header(frame[: header.header_length]) == header


# -- parse_frame_length --------------------------------------------------------------


def test_parse_length_gives_the_payload_length_and_where_the_header_ends() -> None:
    data = b"xx" + serialize_frame(Opcode.BINARY, bytes(300), mask_key=KEY)
    assert parse_frame_length(data, 2) == (300, 2 + 8)


@pytest.mark.parametrize(
    "frame",
    [
        serialize_frame(Opcode.TEXT, b"Hello", mask_key=KEY),
        serialize_frame(Opcode.BINARY, bytes(256)),
        serialize_frame(Opcode.BINARY, bytes(65536), mask_key=KEY),
    ],
)
def test_parse_length_returns_none_until_the_header_is_complete(frame: bytes) -> None:
    header = parse_frame_header(frame)
    assert header is not None
    for size in range(header.header_length):
        assert parse_frame_length(frame[:size]) is None
    assert parse_frame_length(frame[: header.header_length]) == (
        header.length,
        header.header_length,
    )


frames = st.builds(
    lambda opcode, payload, fin, rsv, mask_key: (opcode, payload, fin, rsv, mask_key),
    st.integers(0, 15),
    st.one_of(st.binary(max_size=300), st.integers(65530, 65540).map(bytes)),
    st.booleans(),
    st.sampled_from([0, 0x10, 0x20, 0x40, 0x70]),
    st.none() | keys,
)


@given(frames)
def test_serialized_frames_parse_back(frame: tuple[int, bytes, bool, int, bytes | None]) -> None:
    opcode, payload, fin, rsv, mask_key = frame
    data = serialize_frame(opcode, payload, fin=fin, rsv=rsv, mask_key=mask_key)
    header = parse_frame_header(data)
    assert header is not None
    assert (header.opcode, header.fin, header.rsv) == (opcode, fin, rsv)
    assert (header.masked, header.mask_key, header.length) == (
        mask_key is not None,
        mask_key,
        len(payload),
    )
    body = data[header.header_length :]
    assert len(body) == header.length
    assert (body if mask_key is None else mask(body, mask_key)) == payload
