"""The draft-hixie-76 / draft-hixie-75 data framing codec."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.codec.hixie import HixieCodec
from wsproto_core.errors import (
    InvalidUTF8,
    PayloadTooBig,
    ProtocolError,
    UnsupportedOperation,
)
from wsproto_core.events import Close, TextMessage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from wsproto_core.events import Event

HixieVersion = Literal["hixie-76", "hixie-75"]
VERSIONS: tuple[HixieVersion, ...] = ("hixie-76", "hixie-75")

both_versions = pytest.mark.parametrize("version", VERSIONS)


def make(
    version: HixieVersion = "hixie-76",
    max_message_size: int | None = None,
    stream_messages: bool = False,
) -> HixieCodec:
    return HixieCodec(
        version=version, max_message_size=max_message_size, stream_messages=stream_messages
    )


def feed(codec: HixieCodec, *reads: bytes) -> list[Event]:
    events: list[Event] = []
    for data in reads:
        codec.receive(data, events)
    return events


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points)]


# -- text frames ------------------------------------------------------------------------------


@both_versions
def test_sent_text_is_received_as_the_same_text(version: HixieVersion) -> None:
    codec = make(version)
    assert feed(codec, codec.send_text("héllo ☃ 🎉")) == [TextMessage("héllo ☃ 🎉")]


@both_versions
def test_text_frame_is_zero_byte_utf8_and_ff(version: HixieVersion) -> None:
    assert make(version).send_text("hé") == b"\x00h\xc3\xa9\xff"


@both_versions
def test_empty_text_frame_is_an_empty_message(version: HixieVersion) -> None:
    assert feed(make(version), b"\x00\xff") == [TextMessage("")]


@both_versions
def test_every_complete_frame_in_one_read_is_parsed(version: HixieVersion) -> None:
    events = feed(make(version), b"\x00a\xff\x00b\xff\x00c\xff")
    assert events == [TextMessage("a"), TextMessage("b"), TextMessage("c")]


@both_versions
def test_text_split_across_reads_is_one_message(version: HixieVersion) -> None:
    events = feed(make(version), b"\x00he", b"ll", b"o\xff")
    assert events == [TextMessage("hello")]


@both_versions
def test_code_point_split_across_reads_is_accepted(version: HixieVersion) -> None:
    frame = b"\x00" + "🎉".encode() + b"\xff"
    events = feed(make(version), frame[:2], frame[2:3], frame[3:4], frame[4:])
    assert events == [TextMessage("🎉")]


@both_versions
def test_text_frame_of_other_type_is_discarded(version: HixieVersion) -> None:
    events = feed(make(version), b"\x01ignored\xff\x7fignored too\xff\x00kept\xff")
    assert events == [TextMessage("kept")]


@both_versions
def test_text_frame_of_other_type_is_not_checked_for_utf8(version: HixieVersion) -> None:
    assert feed(make(version), b"\x05\xc0\xc1\xff\x00ok\xff") == [TextMessage("ok")]


# -- length-prefixed frames ---------------------------------------------------------------


@both_versions
def test_length_prefixed_frame_is_discarded(version: HixieVersion) -> None:
    events = feed(make(version), b"\x80\x03abc\x00after\xff")
    assert events == [TextMessage("after")]


@both_versions
def test_length_prefixed_frame_arriving_byte_by_byte_is_discarded(version: HixieVersion) -> None:
    data = b"\x80\x81\x00" + b"x" * 128 + b"\x00after\xff"
    codec = make(version)
    events = feed(codec, *(data[i : i + 1] for i in range(len(data))))
    assert events == [TextMessage("after")]


@both_versions
def test_length_digits_are_base_128_most_significant_first(version: HixieVersion) -> None:
    # 0x82 0x01 = 2 * 128 + 1 = 257 bytes.
    events = feed(make(version), b"\x80\x82\x01" + b"\x00" * 257 + b"\x00after\xff")
    assert events == [TextMessage("after")]


@both_versions
def test_ff_frame_with_nonzero_length_is_discarded(version: HixieVersion) -> None:
    events = feed(make(version), b"\xff\x02\xff\x00\x00after\xff")
    assert events == [TextMessage("after")]


@both_versions
def test_discarded_bytes_are_not_kept_in_memory(version: HixieVersion) -> None:
    codec = make(version)
    feed(codec, b"\x80\x84\x80\x00")  # 65536 bytes announced
    for _ in range(16):
        feed(codec, b"z" * 4096)
        assert len(codec._buffer) == 0
    assert feed(codec, b"\x00after\xff") == [TextMessage("after")]


@both_versions
def test_nine_length_digits_are_accepted(version: HixieVersion) -> None:
    events = feed(make(version), b"\x80" + b"\x80" * 8 + b"\x01" + b"x" + b"\x00ok\xff")
    assert events == [TextMessage("ok")]


@both_versions
def test_length_with_more_than_nine_digits_is_a_protocol_error(version: HixieVersion) -> None:
    with pytest.raises(ProtocolError) as caught:
        feed(make(version), b"\x80" + b"\x81" * 9)
    assert type(caught.value) is ProtocolError
    assert caught.value.close_code == 1002


# -- the closing handshake ----------------------------------------------------------------


def test_ff_00_is_the_closing_handshake_in_hixie_76() -> None:
    assert feed(make("hixie-76"), b"\xff\x00") == [Close(1005, "", by_peer=True)]


def test_ff_00_split_across_reads_is_the_closing_handshake_in_hixie_76() -> None:
    assert feed(make("hixie-76"), b"\xff", b"\x00") == [Close(1005, "", by_peer=True)]


def test_ff_00_is_an_empty_discarded_frame_in_hixie_75() -> None:
    events = feed(make("hixie-75"), b"\xff\x00\x00after\xff")
    assert events == [TextMessage("after")]


def test_bytes_after_the_close_in_the_same_read_are_ignored() -> None:
    events = feed(make("hixie-76"), b"\x00a\xff\xff\x00\x00b\xff\xc0\xc0")
    assert events == [TextMessage("a"), Close(1005, "", by_peer=True)]


def test_bytes_after_the_close_in_later_reads_are_ignored() -> None:
    codec = make("hixie-76")
    feed(codec, b"\xff\x00")
    assert feed(codec, b"\x00b\xff", b"\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff") == []
    assert len(codec._buffer) == 0


def test_close_frame_is_ff_00_whatever_the_code_and_reason() -> None:
    codec = make("hixie-76")
    assert codec.send_close(1000, "bye") == b"\xff\x00"
    assert codec.send_close(None, "") == b"\xff\x00"


def test_close_frame_is_unsupported_in_hixie_75() -> None:
    with pytest.raises(UnsupportedOperation, match="hixie-75 has no closing handshake") as caught:
        make("hixie-75").send_close(1000, "")
    assert caught.value.version == "hixie-75"


# -- limits -----------------------------------------------------------------------------------


@both_versions
def test_text_at_the_limit_is_accepted(version: HixieVersion) -> None:
    assert feed(make(version, max_message_size=5), b"\x00hello\xff") == [TextMessage("hello")]


@both_versions
@pytest.mark.parametrize("stream_messages", [False, True])
def test_oversize_text_is_refused_before_its_ff_arrives(
    version: HixieVersion, stream_messages: bool
) -> None:
    codec = make(version, max_message_size=10, stream_messages=stream_messages)
    feed(codec, b"\x00" + b"a" * 6)
    with pytest.raises(PayloadTooBig) as caught:
        feed(codec, b"a" * 5)
    assert caught.value.close_code == 1009
    assert (caught.value.size, caught.value.max_size) == (11, 10)


@both_versions
def test_oversize_text_arriving_whole_is_refused(version: HixieVersion) -> None:
    with pytest.raises(PayloadTooBig) as caught:
        feed(make(version, max_message_size=3), b"\x00abcd\xff")
    assert (caught.value.size, caught.value.max_size) == (4, 3)


@both_versions
def test_oversize_text_of_other_type_is_refused(version: HixieVersion) -> None:
    with pytest.raises(PayloadTooBig):
        feed(make(version, max_message_size=3), b"\x01abcd")


@both_versions
def test_limit_counts_each_text_frame_afresh(version: HixieVersion) -> None:
    events = feed(make(version, max_message_size=3), b"\x00abc\xff\x00def\xff")
    assert events == [TextMessage("abc"), TextMessage("def")]


@both_versions
def test_length_prefixed_frame_at_the_limit_is_accepted(version: HixieVersion) -> None:
    events = feed(make(version, max_message_size=3), b"\x80\x03abc\x00ok\xff")
    assert events == [TextMessage("ok")]


@both_versions
def test_length_prefixed_frame_one_byte_over_the_limit_is_refused(version: HixieVersion) -> None:
    with pytest.raises(PayloadTooBig) as caught:
        feed(make(version, max_message_size=3), b"\x80\x04")
    assert (caught.value.size, caught.value.max_size) == (4, 3)


@both_versions
def test_oversize_length_prefixed_frame_is_refused_from_its_header(version: HixieVersion) -> None:
    codec = make(version, max_message_size=1000)
    # 2^40 bytes announced; not one of them has arrived.
    with pytest.raises(PayloadTooBig) as caught:
        feed(codec, b"\x80\xa0\x80\x80\x80\x80\x00")
    assert caught.value.close_code == 1009
    assert (caught.value.size, caught.value.max_size) == (2**40, 1000)


# -- invalid UTF-8 ----------------------------------------------------------------------------


@both_versions
def test_invalid_utf8_fails_at_the_first_bad_byte_before_the_ff(version: HixieVersion) -> None:
    codec = make(version)
    feed(codec, b"\x00valid so far")
    with pytest.raises(InvalidUTF8) as caught:
        feed(codec, b"\xc0")
    assert caught.value.close_code == 1007


@both_versions
def test_encoded_surrogate_fails_before_the_code_point_is_complete(version: HixieVersion) -> None:
    with pytest.raises(InvalidUTF8):
        feed(make(version), b"\x00\xed\xa0")


@both_versions
def test_code_point_just_below_the_surrogates_is_accepted(version: HixieVersion) -> None:
    codec = make(version)
    assert feed(codec, b"\x00\xed\x9f", b"\xbf\xff") == [TextMessage("\ud7ff")]


@both_versions
def test_invalid_utf8_in_a_complete_frame_fails(version: HixieVersion) -> None:
    with pytest.raises(InvalidUTF8):
        feed(make(version), b"\x00ab\x80\xff")


@both_versions
def test_encoded_surrogate_in_a_complete_frame_fails(version: HixieVersion) -> None:
    with pytest.raises(InvalidUTF8):
        feed(make(version), b"\x00\xed\xa0\x80\xff")


@both_versions
def test_truncated_code_point_at_the_ff_fails(version: HixieVersion) -> None:
    with pytest.raises(InvalidUTF8):
        feed(make(version), b"\x00\xe2\x98", b"\xff")


@both_versions
def test_events_before_a_bad_frame_are_delivered(version: HixieVersion) -> None:
    codec = make(version)
    events: list[Event] = []
    with pytest.raises(InvalidUTF8):
        codec.receive(b"\x00one\xff\x00two\xff\x00\xc0\xff", events)
    assert events == [TextMessage("one"), TextMessage("two")]


@both_versions
def test_bytes_after_a_protocol_error_are_ignored(version: HixieVersion) -> None:
    codec = make(version)
    with pytest.raises(InvalidUTF8):
        feed(codec, b"\x00\xc0")
    assert feed(codec, b"\x00fine\xff") == []
    assert len(codec._buffer) == 0


# -- streaming --------------------------------------------------------------------------------


@both_versions
def test_streaming_delivers_chunks_as_they_arrive(version: HixieVersion) -> None:
    codec = make(version, stream_messages=True)
    assert feed(codec, b"\x00hel") == [TextMessage("hel", final=False)]
    assert feed(codec, b"lo") == [TextMessage("lo", final=False)]
    assert feed(codec, b"\xff") == [TextMessage("", final=True)]


@both_versions
def test_streaming_ends_with_the_last_piece_marked_final(version: HixieVersion) -> None:
    events = feed(make(version, stream_messages=True), b"\x00hel", b"lo\xff")
    assert events == [TextMessage("hel", final=False), TextMessage("lo", final=True)]


@both_versions
def test_streaming_a_whole_frame_in_one_read_gives_one_final_event(version: HixieVersion) -> None:
    assert feed(make(version, stream_messages=True), b"\x00hi\xff") == [TextMessage("hi")]


@both_versions
def test_streaming_holds_back_a_partial_code_point(version: HixieVersion) -> None:
    codec = make(version, stream_messages=True)
    assert feed(codec, b"\x00\xe2\x98") == []
    assert feed(codec, b"\x83\xff") == [TextMessage("☃", final=True)]


# -- unsupported operations ------------------------------------------------------------------


@both_versions
def test_fragmented_text_is_unsupported(version: HixieVersion) -> None:
    with pytest.raises(UnsupportedOperation, match=f"{version} has no fragmented") as caught:
        make(version).send_text("part", final=False)
    assert caught.value.version == version


@both_versions
def test_binary_messages_are_unsupported(version: HixieVersion) -> None:
    with pytest.raises(UnsupportedOperation, match=f"{version} has no binary") as caught:
        make(version).send_binary(b"data")
    assert caught.value.version == version


@both_versions
def test_pings_are_unsupported(version: HixieVersion) -> None:
    with pytest.raises(UnsupportedOperation, match=f"{version} has no pings") as caught:
        make(version).send_ping(b"")
    assert caught.value.version == version


@both_versions
def test_pongs_are_unsupported(version: HixieVersion) -> None:
    with pytest.raises(UnsupportedOperation, match=f"{version} has no pongs") as caught:
        make(version).send_pong(b"")
    assert caught.value.version == version


def test_a_version_that_is_not_a_hixie_draft_is_refused() -> None:
    with pytest.raises(ValueError, match="not a hixie draft"):
        HixieCodec(version=13, max_message_size=None)  # type: ignore[arg-type]


@both_versions
def test_codec_has_no_instance_dict(version: HixieVersion) -> None:
    assert not hasattr(make(version), "__dict__")


# -- properties -------------------------------------------------------------------------------

texts = st.lists(st.text(max_size=40), max_size=8)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30)


@given(version=st.sampled_from(VERSIONS), messages=texts, cut_at=cuts, bytewise=st.booleans())
def test_text_round_trips_in_any_chunking(
    version: HixieVersion, messages: list[str], cut_at: list[int], bytewise: bool
) -> None:
    codec = make(version)
    wire = b"".join(codec.send_text(message) for message in messages)
    reads = [wire[i : i + 1] for i in range(len(wire))] if bytewise else split(wire, cut_at)
    assert feed(codec, *reads) == [TextMessage(message) for message in messages]


@given(version=st.sampled_from(VERSIONS), messages=texts, cut_at=cuts)
def test_streamed_chunks_join_to_the_whole_messages(
    version: HixieVersion, messages: list[str], cut_at: list[int]
) -> None:
    wire = b"".join(make(version).send_text(message) for message in messages)
    events = feed(make(version, stream_messages=True), *split(wire, cut_at))
    joined: list[str] = []
    pieces: list[str] = []
    for event in events:
        assert isinstance(event, TextMessage)
        assert event.data or event.final
        pieces.append(event.data)
        if event.final:
            joined.append("".join(pieces))
            pieces = []
    assert pieces == []
    assert joined == messages


@given(
    version=st.sampled_from(VERSIONS),
    data=st.binary(max_size=300),
    cut_at=cuts,
    max_message_size=st.one_of(st.none(), st.integers(min_value=0, max_value=64)),
    stream_messages=st.booleans(),
)
def test_random_bytes_raise_nothing_but_protocol_errors(
    version: HixieVersion,
    data: bytes,
    cut_at: list[int],
    max_message_size: int | None,
    stream_messages: bool,
) -> None:
    codec = make(version, max_message_size, stream_messages)
    events: list[Event] = []
    try:
        for read in split(data, cut_at):
            codec.receive(read, events)
    except ProtocolError:
        pass
    assert all(isinstance(event, (TextMessage, Close)) for event in events)
