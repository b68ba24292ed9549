"""Benchmarks of the RFC 6455 wire format and codec (pytest-benchmark).

Disabled in the normal test run; run them with::

    .venv/bin/pytest benchmarks/test_bench_frames.py --benchmark-enable -p no:cacheprovider --no-cov

Speed is measured here, never asserted; ``benchmarks/compare.py`` puts the
figures beside those of websockets, wsproto and aiohttp.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.events import BytesMessage, TextMessage
from wsproto_core.frames import SMALL_MASK_SIZE, Opcode, mask, serialize_frame

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

    from wsproto_core.events import Event

KEY = os.urandom(4)


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return serialize_frame(opcode, payload, fin=fin, mask_key=os.urandom(4))


def server_receive(reads: list[bytes]) -> list[Event]:
    codec = Rfc6455Codec(client=False, max_message_size=None)
    events: list[Event] = []
    for data in reads:
        codec.receive(data, events)
    return events


def test_parse_1000_masked_16_byte_text_frames(benchmark: BenchmarkFixture) -> None:
    data = b"".join(masked(Opcode.TEXT, b"0123456789abcdef") for _ in range(1000))
    events = benchmark(server_receive, [data])
    assert events == [TextMessage("0123456789abcdef")] * 1000


def test_parse_1_mib_masked_binary_frame(benchmark: BenchmarkFixture) -> None:
    payload = os.urandom(2**20)
    events = benchmark(server_receive, [masked(Opcode.BINARY, payload)])
    assert events == [BytesMessage(payload)]


def test_parse_1_mib_masked_binary_frame_in_64_kib_reads(benchmark: BenchmarkFixture) -> None:
    payload = os.urandom(2**20)
    frame = masked(Opcode.BINARY, payload)
    reads = [frame[index : index + 2**16] for index in range(0, len(frame), 2**16)]
    events = benchmark(server_receive, reads)
    assert events == [BytesMessage(payload)]


def test_parse_64_kib_text_in_16_masked_frames(benchmark: BenchmarkFixture) -> None:
    text = "wsproto_core \u00e9\u20ac" * 4096
    pieces = [
        text[index : index + len(text) // 16] for index in range(0, len(text), len(text) // 16)
    ]
    data = b"".join(
        masked(Opcode.CONTINUATION if index else Opcode.TEXT, piece.encode(), index == 15)
        for index, piece in enumerate(pieces)
    )
    events = benchmark(server_receive, [data])
    assert events == [TextMessage(text)]


@pytest.mark.parametrize("size", [16, 2**16])
def test_serialize_client_masked_binary(benchmark: BenchmarkFixture, size: int) -> None:
    codec = Rfc6455Codec(client=True, max_message_size=None)
    payload = os.urandom(size)
    frame = benchmark(codec.send_binary, payload)
    assert len(frame) == size + (6 if size < 126 else 14)


@pytest.mark.parametrize("size", [16, 2**16])
def test_serialize_server_binary(benchmark: BenchmarkFixture, size: int) -> None:
    codec = Rfc6455Codec(client=False, max_message_size=None)
    payload = os.urandom(size)
    frame = benchmark(codec.send_binary, payload)
    assert frame.endswith(payload)


@pytest.mark.parametrize("size", [16, SMALL_MASK_SIZE, SMALL_MASK_SIZE + 4, 4096, 2**16, 2**20])
def test_mask(benchmark: BenchmarkFixture, size: int) -> None:
    data = os.urandom(size)
    result = benchmark(mask, data, KEY)
    assert mask(result, KEY) == data
