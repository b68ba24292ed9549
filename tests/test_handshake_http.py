"""The HTTP pieces of the handshake: h11's request reader run without h11.Connection.

:class:`~wsproto_core.handshake.http.RequestHeadReader` calls h11's own reader
for a request head and skips h11's connection state machine. These tests hold
it to what ``h11.Connection.next_event`` does with the same bytes, however they
are cut, so that a change in h11's internals shows up here.
"""

from __future__ import annotations

import itertools
from typing import Union

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.errors import HandshakeArgumentError
from wsproto_core.handshake.http import (
    H11ConnectionHeadReader,
    RequestHeadReader,
    has_token,
    new_head_reader,
    serialize_response_head,
    split_tokens,
)

MAX_SIZE = 300

REQUESTS = [
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n",
    b"GET /chat HTTP/1.1\nHost: example.com\nX: a\n\tb\n\n",  # bare LF, obsolete line folding
    b"HEAD /x?y HTTP/1.0\r\n\r\nafter the head",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",  # 501
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    b" GET / HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00",  # a TLS ClientHello: refused from its first byte
    b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_SIZE + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_SIZE,  # incomplete past the limit: 431
]

Outcome = tuple[object, ...]


def _fields(request: h11.Request) -> tuple[object, ...]:
    """What the handshake reads of a request (h11's ``==`` ignores the names' case)."""
    return (request.method, request.target, request.http_version, request.headers.raw_items())


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[start:end] for start, end in itertools.pairwise(points) if end > start]


def _by_h11_connection(chunks: list[bytes]) -> Outcome:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_SIZE)
    for chunk in chunks:
        connection.receive_data(chunk)
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as exc:
            return ("error", str(exc), exc.error_status_hint)
        if isinstance(event, h11.Request):
            return ("request", _fields(event), connection.trailing_data[0])
    return ("need data",)


READERS = [RequestHeadReader, H11ConnectionHeadReader]
"""The fast reader, and the fallback used when h11's internals are not as expected."""

Reader = Union[type[RequestHeadReader], type[H11ConnectionHeadReader]]  # noqa: UP007


def _by_reader(chunks: list[bytes], kind: Reader = RequestHeadReader) -> Outcome:
    reader = kind(MAX_SIZE)
    for chunk in chunks:
        try:
            request = reader.feed(chunk)
        except h11.ProtocolError as exc:
            return ("error", str(exc), exc.error_status_hint)
        if request is not None:
            return ("request", _fields(request), reader.unread)
    return ("need data",)


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("data", REQUESTS)
def test_the_reader_reads_a_head_as_h11_connection_does(data: bytes, kind: Reader) -> None:
    assert _by_reader([data], kind) == _by_h11_connection([data])


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("data", REQUESTS)
def test_the_reader_reads_a_head_byte_by_byte_as_h11_connection_does(
    data: bytes, kind: Reader
) -> None:
    chunks = [data[index : index + 1] for index in range(len(data))]
    assert _by_reader(chunks, kind) == _by_h11_connection(chunks)


def test_this_h11_gets_the_fast_reader() -> None:
    # h11 0.14-0.16 (what pyproject allows) keep the internals the fast reader uses.
    assert isinstance(new_head_reader(MAX_SIZE), RequestHeadReader)


@given(st.sampled_from(REQUESTS), st.lists(st.integers(min_value=0), max_size=6))
def test_any_cut_of_a_head_reads_as_h11_connection_does(data: bytes, cuts: list[int]) -> None:
    chunks = _cut(data, cuts)
    assert _by_reader(chunks) == _by_h11_connection(chunks)


@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=4))
def test_arbitrary_bytes_read_as_h11_connection_does(data: bytes, cuts: list[int]) -> None:
    chunks = _cut(b"GET / HTTP/1.1\r\n" + data, cuts)
    assert _by_reader(chunks) == _by_h11_connection(chunks)


@pytest.mark.parametrize("kind", READERS)
def test_the_bytes_after_the_head_are_left_unread(kind: Reader) -> None:
    reader = kind(MAX_SIZE)
    assert reader.feed(b"GET / HTTP/1.1\r\nHost: a\r\n") is None
    assert reader.unread == b"GET / HTTP/1.1\r\nHost: a\r\n"
    request = reader.feed(b"\r\n\x81\x00")
    assert request is not None
    assert (request.method, request.target, request.headers.raw_items()) == (
        b"GET",
        b"/",
        [(b"Host", b"a")],
    )
    assert reader.unread == b"\x81\x00"


# -- has_token and serialize_response_head -----------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["websocket"], True),
        (["WebSocket"], True),
        (["h2c, WebSocket"], True),
        (["h2c", "websocket"], True),
        (["h2c,,websocket ,"], True),
        (["websocket2"], False),
        (["h2c"], False),
        ([], False),
    ],
)
def test_has_token_agrees_with_split_tokens(values: list[str], expected: bool) -> None:
    assert has_token(values, "websocket") is expected
    assert ("websocket" in split_tokens(values)) is expected


def test_serialize_response_head_writes_start_headers_then_extra() -> None:
    head = serialize_response_head(
        b"HTTP/1.1 101 Switching Protocols\r\n", [("A", "1")], [("X-Extra", "b c\xe9")]
    )
    assert head == b"HTTP/1.1 101 Switching Protocols\r\nA: 1\r\nX-Extra: b c\xe9\r\n\r\n"


@pytest.mark.parametrize("extra", [("Bad Name", "v"), ("X", "a\r\nb"), ("X", "\u20ac")])
def test_serialize_response_head_refuses_what_http_cannot_carry(extra: tuple[str, str]) -> None:
    with pytest.raises(HandshakeArgumentError):
        serialize_response_head(b"HTTP/1.1 101 Switching Protocols\r\n", [], [extra])


def test_a_handshake_works_with_the_fallback_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # As with an h11 whose internals changed: the public h11.Connection reads the head.
    from wsproto_core import ServerConnection
    from wsproto_core.events import Request
    from wsproto_core.handshake import http

    monkeypatch.setattr(http, "_FAST_READER", False)
    assert isinstance(new_head_reader(MAX_SIZE), H11ConnectionHeadReader)
    server = ServerConnection()
    server.receive_data(
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n\x81\x80\x00\x00\x00\x00"
    )
    events = []
    for event in server.events():
        events.append(event)
        if isinstance(event, Request):
            server.accept()
    assert [type(event).__name__ for event in events] == ["Request", "TextMessage"]
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in server.data_to_send()
