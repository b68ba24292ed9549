"""A message in many fragments, measured from outside: a server connection fed a client's frames.

RFC 6455 §5.4 bounds neither how many fragments a message has nor how small they
are. A message must cost about its bytes however it is cut: at most twice its
payload in memory (the message delivered and one copy of it being gathered),
whole or streamed, and little time per fragment. Its text is still refused at
the fragment that brings the first invalid byte (RFC 6455 §8.1).

The frames are built here byte by byte (one-byte fragments) or with
:mod:`conformance_helpers`, not with the code under test.
"""

from __future__ import annotations

import tracemalloc
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest
from conformance_helpers import (
    BINARY,
    CONTINUATION,
    PEER_MASK_KEY,
    TEXT,
    Frame,
    encode,
    ping,
)
from hypothesis import given
from hypothesis import strategies as st
from pairs import open_pair

from wsproto_core import ConnectionState
from wsproto_core.events import BytesMessage, Close, Event, Ping, TextMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from wsproto_core import ServerConnection

FRAGMENTS = 200_000
"""How many one-byte fragments the big messages have."""

TRACED_FRAGMENTS = 100_000
"""How many when memory is traced (tracemalloc makes each allocation 20 to 30 times slower)."""

READ = 65536
"""The size of each read the server is fed, as an adapter reads the socket."""

SLACK = 256 * 1024
"""Memory allowed on top of twice the payload: buffers, the events, the interpreter's own."""

TEXT_SAMPLE = "aé€"
"""Text of 1, 2 and 3-byte code points whose str (2 bytes a character) is as long as its UTF-8.

(Mostly ASCII text with a few "€" would take up to twice its UTF-8 as a str, three
times with an emoji: that is the cost of the str, cut or not.)"""


def one_byte_fragments(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """``payload`` as one masked frame per byte, as a client sends them (RFC 6455 §5.2, §5.3)."""
    key = PEER_MASK_KEY
    frame = bytearray((0, 0x81, *key, 0))
    out = bytearray()
    for index, byte in enumerate(payload):
        frame[0] = (0x80 if fin and index == len(payload) - 1 else 0) | (opcode if not index else 0)
        frame[6] = byte ^ key[0]
        out += frame
    return bytes(out)


def split(data: bytes, size: int = READ) -> list[bytes]:
    return [data[index : index + size] for index in range(0, len(data), size)]


def feed(server: ServerConnection, reads: Sequence[bytes]) -> list[Event]:
    for data in reads:
        server.receive_data(data)
    return list(server.events())


def text_payload(size: int) -> bytes:
    """About ``size`` bytes of valid UTF-8 mixing 1, 2 and 3-byte code points."""
    sample = TEXT_SAMPLE.encode()
    return sample * (size // len(sample))


def test_one_byte_fragments_are_frames_as_the_helpers_build_them() -> None:
    # The fast builder above agrees with the conformance helpers' frame encoder.
    built = one_byte_fragments(TEXT, b"abc")
    expected = b"".join(
        encode(Frame(opcode, bytes([byte]), fin), masked=True)
        for opcode, byte, fin in [(TEXT, 97, False), (CONTINUATION, 98, False), (0, 99, True)]
    )
    assert built == expected


def measured(server: ServerConnection, reads: Sequence[bytes]) -> tuple[list[Event], int]:
    """Feed ``reads``; return the events and the peak memory traced meanwhile, in bytes."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        events = feed(server, reads)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return events, peak


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_one_byte_fragments_cost_about_the_payload(opcode: int, stream: bool) -> None:
    size = TRACED_FRAGMENTS
    payload = text_payload(size) if opcode == TEXT else bytes(range(256)) * (size // 256)
    reads = split(one_byte_fragments(opcode, payload))
    _, server = open_pair(server_options={"stream_messages": stream})
    events, peak = measured(server, reads)
    assert peak <= 2 * len(payload) + SLACK, f"{peak / len(payload):.2f} bytes per fragment"
    data: str | bytes
    if opcode == TEXT:
        assert all(type(event) is TextMessage for event in events)
        data = "".join(event.data for event in events)  # type: ignore[attr-defined]
        assert data == payload.decode()
    else:
        assert all(type(event) is BytesMessage for event in events)
        data = b"".join(event.data for event in events)  # type: ignore[attr-defined]
        assert data == payload
    assert [event.final for event in events] == [False] * (len(events) - 1) + [True]  # type: ignore[attr-defined]
    # Streamed, the fragments of one read are one chunk, not one event each.
    assert len(events) <= (len(reads) + 1 if stream else 1)


@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_one_fragment_a_read_costs_about_the_payload(opcode: int) -> None:
    # Each read its own piece: the pieces gathered are packed together as they pile up.
    payload = text_payload(20_000) if opcode == TEXT else bytes(20_000)
    reads = split(one_byte_fragments(opcode, payload), 7)
    _, server = open_pair()
    events, peak = measured(server, reads)
    assert peak <= 2 * len(payload) + SLACK
    expected = TextMessage(payload.decode()) if opcode == TEXT else BytesMessage(payload)
    assert events == [expected]


# -- invalid UTF-8: refused at the fragment that brings it ---------------------------------

BAD = FRAGMENTS * 3 // 4
"""The index of the fragment with the first invalid byte."""


@pytest.mark.parametrize(
    ("before", "bad"),
    [
        (b"", b"\xff"),  # never valid in UTF-8
        (b"\xe2", b"\x28"),  # a lead byte, then no continuation byte
        (b"\xe2\x82", b"\x28"),  # the same after two bytes of three
        (b"\xed", b"\xa0"),  # an encoded surrogate (RFC 3629 §3)
        (b"\xf4", b"\x90"),  # above U+10FFFF
        (b"\xf0", b"\x80"),  # an overlong form
    ],
    ids=["ff", "e2-28", "e2-82-28", "surrogate", "above-10ffff", "overlong"],
)
def test_invalid_utf8_fails_at_its_fragment(before: bytes, bad: bytes) -> None:
    valid = b"a" * (BAD - len(before))
    payload = valid + before + bad + b"a" * (FRAGMENTS - BAD - 1)
    frames = one_byte_fragments(TEXT, payload)
    cut = 7 * BAD  # each one-byte fragment is 7 bytes on the wire
    _, server = open_pair()
    assert feed(server, split(frames[:cut])) == []
    assert server.state is ConnectionState.OPEN
    # The read with the bad fragment fails the connection; nothing after it counts.
    events = feed(server, [frames[cut : cut + 7]])
    assert events == [Close(1007, events[0].reason, by_peer=False)]  # type: ignore[attr-defined]
    assert feed(server, split(frames[cut + 7 :])) == []


def test_truncated_code_point_fails_at_the_last_fragment() -> None:
    payload = b"a" * (FRAGMENTS - 2) + "€".encode()[:2]
    frames = one_byte_fragments(TEXT, payload)
    _, server = open_pair()
    assert feed(server, split(frames[:-7])) == []
    events = feed(server, [frames[-7:]])
    assert [(type(event), event.code) for event in events] == [(Close, 1007)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("read", [READ, 7 * 1000 + 3])
def test_invalid_utf8_in_a_stream_of_reads_fails_once(read: int) -> None:
    payload = b"a" * BAD + b"\xff" + b"a" * (FRAGMENTS - BAD - 1)
    _, server = open_pair()
    events = feed(server, split(one_byte_fragments(TEXT, payload), read))
    assert [(type(event), event.code) for event in events] == [(Close, 1007)]  # type: ignore[attr-defined]


def test_streamed_text_delivers_the_text_before_the_invalid_byte() -> None:
    payload = b"ab\xe2\x82\xac" * 1000 + b"\xed\xa0" + b"z" * 1000
    _, server = open_pair(server_options={"stream_messages": True})
    events = feed(server, split(one_byte_fragments(TEXT, payload), 1000))
    *chunks, failure = events
    assert "".join(chunk.data for chunk in chunks) == "ab€" * 1000  # type: ignore[attr-defined]
    assert not any(chunk.final for chunk in chunks)  # type: ignore[attr-defined]
    assert (type(failure), failure.code) == (Close, 1007)  # type: ignore[attr-defined]


# -- any fragmentation, any reads: the message of one frame ----------------------------------


@st.composite
def fragmented(draw: st.DrawFn) -> tuple[int, bytes, list[int], list[int]]:
    """A message, where its fragments end (byte offsets), and before which fragments a ping goes.

    Text is cut at any byte, inside a code point too.
    """
    opcode = draw(st.sampled_from([TEXT, BINARY]))
    if opcode == TEXT:
        payload = draw(st.text(max_size=300)).encode()
    else:
        payload = draw(st.binary(max_size=600))
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=40)))
    fragments = len(cuts) + 1
    pings = sorted(set(draw(st.lists(st.integers(1, fragments), max_size=3))))
    return opcode, payload, cuts, [index for index in pings if index < fragments]


def frames_of(opcode: int, payload: bytes, cuts: list[int], pings: list[int]) -> list[Frame]:
    bounds = [0, *cuts, len(payload)]
    frames: list[Frame] = []
    for index in range(len(bounds) - 1):
        if index in pings:
            frames.append(ping(b"p%d" % index))
        piece = payload[bounds[index] : bounds[index + 1]]
        frames.append(Frame(opcode if not index else CONTINUATION, piece, index == len(cuts)))
    return frames


def reads_of(frames: list[Frame], read_cuts: list[int]) -> list[bytes]:
    stream = b"".join(encode(frame, masked=True) for frame in frames)
    bounds = sorted({0, len(stream), *(cut % (len(stream) + 1) for cut in read_cuts)})
    return [stream[a:b] for a, b in pairwise(bounds)]


@given(message=fragmented(), read_cuts=st.lists(st.integers(0, 20_000), max_size=30))
def test_any_fragmentation_gives_the_message_of_one_frame(
    message: tuple[int, bytes, list[int], list[int]], read_cuts: list[int]
) -> None:
    opcode, payload, cuts, pings = message
    _, one_frame = open_pair()
    expected = feed(one_frame, [encode(Frame(opcode, payload), masked=True)])
    _, server = open_pair()
    events = feed(server, reads_of(frames_of(opcode, payload, cuts, pings), read_cuts))
    # Pings are answered as they come, so they come before the message.
    assert events == [Ping(b"p%d" % index) for index in pings] + expected


@given(message=fragmented(), read_cuts=st.lists(st.integers(0, 20_000), max_size=30))
def test_any_fragmentation_streams_the_message_of_one_frame(
    message: tuple[int, bytes, list[int], list[int]], read_cuts: list[int]
) -> None:
    opcode, payload, cuts, pings = message
    _, server = open_pair(server_options={"stream_messages": True})
    events = feed(server, reads_of(frames_of(opcode, payload, cuts, pings), read_cuts))
    chunks = [event for event in events if not isinstance(event, Ping)]
    assert [type(event) for event in chunks] == [
        TextMessage if opcode == TEXT else BytesMessage
    ] * len(chunks)
    assert [chunk.final for chunk in chunks] == [False] * (len(chunks) - 1) + [True]  # type: ignore[attr-defined]
    assert all(chunk.data for chunk in chunks[:-1])  # type: ignore[attr-defined]
    empty = "" if opcode == TEXT else b""
    assert empty.join(chunk.data for chunk in chunks) == (  # type: ignore[attr-defined]
        payload.decode() if opcode == TEXT else payload
    )
    # What came before a ping is delivered before it (text: its whole code points).
    bounds = [0, *cuts, len(payload)]
    for index in pings:
        at = events.index(Ping(b"p%d" % index))
        before = empty.join(chunk.data for chunk in events[:at] if not isinstance(chunk, Ping))  # type: ignore[attr-defined]
        sent = payload[: bounds[index]]
        assert before == (sent.decode("utf-8", "ignore") if opcode == TEXT else sent)


sizes = st.sampled_from([0, 1, 2, 3, 125, 126, 300, 5000])


@given(
    opcode=st.sampled_from([TEXT, BINARY]),
    stream=st.booleans(),
    lengths=st.lists(sizes, min_size=1, max_size=300),
    read=st.sampled_from([7, 100, 4096, READ]),
)
def test_many_fragments_of_mixed_sizes(
    opcode: int, stream: bool, lengths: list[int], read: int
) -> None:
    # Enough pieces for the packing of small ones, beside big ones kept as they are.
    sample = (TEXT_SAMPLE * 500).encode() if opcode == TEXT else bytes(range(256)) * 20
    payload = (sample * (sum(lengths) // len(sample) + 1))[: sum(lengths)]
    if opcode == TEXT:  # end on a code point
        payload = payload.decode("utf-8", "ignore").encode()
    cuts = [min(sum(lengths[: index + 1]), len(payload)) for index in range(len(lengths) - 1)]
    _, server = open_pair(server_options={"stream_messages": stream})
    events = feed(server, split(reads_of(frames_of(opcode, payload, cuts, []), [])[0], read))
    empty = "" if opcode == TEXT else b""
    expected = payload.decode() if opcode == TEXT else payload
    assert empty.join(event.data for event in events) == expected  # type: ignore[attr-defined]
    assert [event.final for event in events] == [False] * (len(events) - 1) + [True]  # type: ignore[attr-defined]


@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_many_big_fragments_are_kept_as_they_are(opcode: int) -> None:
    # 200 frames of 10,000 bytes, about a piece each: big enough to be kept without packing.
    sample = TEXT_SAMPLE * 1666 if opcode == TEXT else "x" * 10_000
    payload = (sample * 200).encode()
    cuts = list(range(len(sample.encode()), len(payload), len(sample.encode())))
    _, server = open_pair()
    events = feed(server, split(reads_of(frames_of(opcode, payload, cuts, []), [])[0]))
    assert events == [TextMessage(payload.decode()) if opcode == TEXT else BytesMessage(payload)]
