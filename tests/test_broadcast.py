"""The sans-IO broadcast: encode once per framing, the overflow policy, errors per connection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pairs import open_pair, transfer

from wsproto_core.broadcast import (
    SLOW_CLOSE_CODE,
    BroadcastReport,
    Delivery,
    Outcome,
    Overflow,
    PreparedMessage,
)
from wsproto_core.errors import InvalidState, UnsupportedOperation
from wsproto_core.events import BytesMessage, Close, TextMessage
from wsproto_core.extensions import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from wsproto_core.state import ConnectionState

LIMIT = 64 * 1024


def deflate_pair(**server_options: object) -> tuple:
    return open_pair(
        server_options={"extensions": [ServerPerMessageDeflateFactory(**server_options)]},
        client_options={"extensions": [ClientPerMessageDeflateFactory()]},
    )


def deliver(pairs: list, message: str | bytes) -> BroadcastReport:
    delivery: Delivery = Delivery(message)
    for _, server in pairs:
        delivery.send(server, server, 0, LIMIT)
    return delivery.finish()


def received(pairs: list) -> list:
    return [transfer(server, client) for client, server in pairs]


def test_servers_without_compression_share_one_encoding() -> None:
    pairs = [open_pair(version) for version in (13, 13, 8, 7)]
    report = deliver(pairs, "hello everyone")
    assert report.sent == 4
    assert report.encodings == 1
    assert received(pairs) == [[TextMessage("hello everyone")]] * 4


def test_the_shared_frame_is_what_send_text_writes() -> None:
    (_, server), (_, other) = open_pair(), open_pair()
    message = PreparedMessage("same bytes")
    server.send_prepared(message)
    other.send_text("same bytes")
    assert server.data_to_send() == other.data_to_send()


def test_hixie_servers_share_their_own_encoding() -> None:
    pairs = [open_pair("hixie-76"), open_pair("hixie-75"), open_pair(13)]
    report = deliver(pairs, "to all")
    assert report.sent == 3
    assert report.encodings == 2
    assert received(pairs) == [[TextMessage("to all")]] * 3


def test_deflate_without_context_takeover_is_encoded_once_and_inflates() -> None:
    pairs = [deflate_pair(server_no_context_takeover=True) for _ in range(3)]
    text = "compressible " * 100
    for _ in range(2):  # the second message starts afresh too
        report = deliver(pairs, text)
        assert report.sent == 3
        assert received(pairs) == [[TextMessage(text)]] * 3
    assert report.encodings == 1
    assert [server.extensions[0].shared_encoding is not None for _, server in pairs] == [True] * 3


def test_deflate_with_other_parameters_is_encoded_apart() -> None:
    pairs = [
        deflate_pair(server_no_context_takeover=True),
        deflate_pair(server_no_context_takeover=True, compression_level=1),
    ]
    report = deliver(pairs, "x" * 500)
    assert report.encodings == 2
    assert received(pairs) == [[TextMessage("x" * 500)]] * 2


def test_deflate_with_context_takeover_is_encoded_per_connection() -> None:
    pairs = [deflate_pair() for _ in range(3)]
    pairs[0][1].send_text("history that only the first connection has " * 10)
    transfer(pairs[0][1], pairs[0][0])
    text = "history that only the first connection has " * 10
    report = deliver(pairs, text)
    assert report.encodings == 3
    assert received(pairs) == [[TextMessage(text)]] * 3


def test_client_connections_mask_each_frame_apart() -> None:
    pairs = [open_pair() for _ in range(2)]
    prepared = PreparedMessage(b"\x00\x01")
    for client, _ in pairs:
        client.send_prepared(prepared)
    assert prepared.encodings == 2
    assert [transfer(client, server) for client, server in pairs] == [
        [BytesMessage(b"\x00\x01")]
    ] * 2


def test_a_connection_that_is_not_open_is_left_out() -> None:
    open_one, closing = open_pair(), open_pair()
    closing[1].close()
    closing[1].data_to_send()
    report = deliver([open_one, closing], "hi")
    assert report.sent == 1
    assert report.not_open == [closing[1]]
    assert closing[1].data_to_send() == b""


def test_over_the_limit_a_connection_is_skipped_by_default() -> None:
    _, server = open_pair()
    delivery: Delivery = Delivery("hi")
    assert delivery.send(server, server, LIMIT + 1, LIMIT) is Outcome.SKIPPED
    assert delivery.report.skipped == [server]
    assert server.data_to_send() == b""
    assert server.state is ConnectionState.OPEN


def test_at_the_limit_a_connection_is_still_sent_to() -> None:
    _, server = open_pair()
    delivery: Delivery = Delivery("hi")
    assert delivery.send(server, server, LIMIT, LIMIT) is Outcome.SENT


def test_over_the_limit_the_close_policy_closes_with_1013() -> None:
    client, server = open_pair()
    delivery: Delivery = Delivery("hi", Overflow.CLOSE)
    assert delivery.send(server, server, LIMIT + 1, LIMIT) is Outcome.CLOSED
    assert delivery.report.closed == [server]
    assert server.state is ConnectionState.CLOSING
    events = transfer(server, client)
    assert events == [Close(SLOW_CLOSE_CODE, events[0].reason)]


def test_binary_to_a_hixie_draft_fails_for_that_connection_only() -> None:
    pairs = [open_pair(), open_pair("hixie-76"), open_pair()]
    report = deliver(pairs, b"\xff")
    assert report.sent == 2
    [(target, error)] = report.failed
    assert target is pairs[1][1]
    assert isinstance(error, UnsupportedOperation)
    assert received(pairs) == [[BytesMessage(b"\xff")], [], [BytesMessage(b"\xff")]]


def test_a_fragmented_message_being_sent_is_not_interleaved() -> None:
    pairs = [open_pair(), open_pair()]
    pairs[0][1].send_text("half", final=False)
    pairs[0][1].data_to_send()
    report = deliver(pairs, "whole")
    [(target, error)] = report.failed
    assert target is pairs[0][1]
    assert isinstance(error, InvalidState)
    assert report.sent == 1


def test_a_prepared_message_takes_only_text_or_bytes() -> None:
    assert PreparedMessage(bytearray(b"ab")).message == b"ab"
    assert PreparedMessage(memoryview(b"cd")).message == b"cd"
    with pytest.raises(TypeError):
        PreparedMessage(42)  # type: ignore[arg-type]


def test_reports_merge_and_summarise() -> None:
    first: BroadcastReport[str] = BroadcastReport(sent=2, skipped=["a"], encodings=1)
    first.merge(BroadcastReport(sent=1, closed=["b"], failed=[("c", ValueError())]))
    assert (first.sent, first.skipped, first.closed, len(first.failed)) == (3, ["a"], ["b"], 1)
    assert first.summary().startswith("sent 3, not open 0, skipped 1, closed 1, failed 1")


@given(
    message=st.one_of(st.text(max_size=300), st.binary(max_size=70_000)),
    compress=st.booleans(),
)
def test_every_peer_receives_the_message_it_was_sent(message: str | bytes, compress: bool) -> None:
    pairs = (
        [deflate_pair(server_no_context_takeover=True) for _ in range(2)]
        if compress
        else [open_pair(), open_pair(8)]
    )
    report = deliver(pairs, message)
    assert report.sent == 2
    assert report.encodings == 1
    kind = TextMessage if isinstance(message, str) else BytesMessage
    assert received(pairs) == [[kind(message)]] * 2
