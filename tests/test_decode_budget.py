"""The decode budget: one read of compressed frames is inflated only as the application
takes the events (``DECODE_BUDGET`` per step), never all at once.

Sans-IO, both roles: the messages, pings and close behind the budget come out in
order, whole, whatever the chunking and however few events the application takes
at a time; what the connection holds decoded stays under the budget plus one message.
"""

from __future__ import annotations

import os
import tracemalloc
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st
from pairs import open_pair

from wsproto_core.codec.rfc6455 import DECODE_BUDGET
from wsproto_core.events import BytesMessage, Close, Ping, TextMessage
from wsproto_core.extensions import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

if TYPE_CHECKING:
    from wsproto_core import ClientConnection, ServerConnection
    from wsproto_core.events import Event

MIB = 2**20


def deflate_pair(
    max_message_size: int | None = 4 * MIB,
) -> tuple[ClientConnection, ServerConnection]:
    client, server = open_pair(
        client_options={
            "extensions": [ClientPerMessageDeflateFactory()],
            "max_message_size": max_message_size,
        },
        server_options={
            "extensions": [ServerPerMessageDeflateFactory()],
            "max_message_size": max_message_size,
        },
    )
    assert [e.name for e in server.extensions] == ["permessage-deflate"]
    return client, server


def queued_bytes(conn: ClientConnection | ServerConnection) -> int:
    """The decoded bytes of the messages the connection holds, not yet yielded."""
    return sum(len(e.data) for e in conn._events if isinstance(e, (TextMessage, BytesMessage)))


def test_one_read_of_bombs_is_inflated_a_budget_at_a_time() -> None:
    client, server = deflate_pair()
    for index in range(200):  # 200 MiB inflated, about 200 KiB on the wire
        client.send_binary(index.to_bytes(2, "big") + bytes(MIB - 2))
    wire = client.data_to_send()
    assert len(wire) < 300 * 1024
    tracemalloc.start()
    try:
        server.receive_data(wire)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < DECODE_BUDGET + 3 * MIB, peak  # one message over the budget, and the read
    assert queued_bytes(server) <= DECODE_BUDGET + MIB
    got = [int.from_bytes(e.data[:2], "big") for e in server.events()]  # type: ignore[attr-defined]
    assert got == list(range(200))


def test_the_budget_is_renewed_only_once_the_events_are_taken() -> None:
    """Reads that come while events wait add at most the frame that crosses the budget,
    also when that frame began in an earlier read."""
    client, server = deflate_pair()
    sizes = [200 * 1024, 100 * 1024, 100 * 1024, 1]
    frames = []
    for index, size in enumerate(sizes):
        client.send_binary(bytes([index]) * size)
        frames.append(client.data_to_send())  # 223, 122, 122 and 9 bytes
    wire = b"".join(frames)
    second = len(frames[0]) + len(frames[1]) // 2  # inside the second message's frame
    server.receive_data(wire[:second])
    assert queued_bytes(server) == sizes[0]  # the application takes nothing yet
    server.receive_data(wire[second:])
    assert queued_bytes(server) == sizes[0] + sizes[1]  # it crossed the budget: stop
    server.receive_data(b"")  # the EOF waits behind the frames too
    events = list(server.events())
    assert [len(e.data) for e in events[:-1]] == sizes  # type: ignore[attr-defined]
    assert isinstance(events[-1], Close) and events[-1].code == 1006


def test_the_eof_behind_buffered_frames_comes_after_them() -> None:
    client, server = deflate_pair()
    for _ in range(10):
        client.send_binary(bytes(MIB))
    server.receive_data(client.data_to_send())
    server.receive_data(b"")  # the stream ends, the frames not parsed yet
    events = list(server.events())
    assert [type(e) for e in events] == [BytesMessage] * 10 + [Close]
    assert isinstance(events[-1], Close) and events[-1].code == 1006
    assert server.should_close_transport


def test_a_ping_and_the_close_behind_the_budget_are_answered_in_their_turn() -> None:
    client, server = deflate_pair()
    for _ in range(3):
        client.send_binary(bytes(MIB))
    client.ping(b"p")
    client.close(1000, "bye")
    server.receive_data(client.data_to_send())
    assert server.data_to_send() == b""  # nothing answered before it is reached
    taken: list[Event] = []
    for event in server.events():
        taken.append(event)
        if isinstance(event, BytesMessage):
            server.send_text("ack")
    assert [type(e) for e in taken] == [BytesMessage] * 3 + [Ping, Close]
    client.receive_data(server.data_to_send())
    replies = list(client.events())
    # The acks, then the pong, then the close echo: in the order the events came.
    assert [type(e).__name__ for e in replies] == ["TextMessage"] * 3 + ["Pong", "Close"]


def test_frames_behind_the_budget_are_parsed_while_closing() -> None:
    client, server = deflate_pair()
    for _ in range(5):
        client.send_binary(bytes(MIB))
    server.receive_data(client.data_to_send())
    server.close(1001, "going away")  # sent before the application took the messages
    assert len([e for e in server.events() if isinstance(e, BytesMessage)]) == 5


def test_a_failure_behind_the_budget_comes_in_its_turn() -> None:
    client, server = deflate_pair(max_message_size=MIB)
    for _ in range(3):
        client.send_binary(bytes(MIB))
    client.send_binary(bytes(MIB + 1))  # over the limit once inflated
    server.receive_data(client.data_to_send())
    events = list(server.events())
    assert [type(e) for e in events] == [BytesMessage] * 3 + [Close]
    assert isinstance(events[-1], Close) and events[-1].code == 1009


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300_000), min_size=1, max_size=12),
    random_payloads=st.lists(st.booleans(), min_size=12, max_size=12),
    cuts=st.lists(st.integers(1, 200_000), max_size=8),
    takes=st.lists(st.integers(0, 3), min_size=1, max_size=20),
    client_sends=st.booleans(),
)
def test_any_chunking_and_any_pace_of_the_application_gives_every_message(
    sizes: list[int],
    random_payloads: list[bool],
    cuts: list[int],
    takes: list[int],
    client_sends: bool,
) -> None:
    client, server = deflate_pair()
    sender, receiver = (client, server) if client_sends else (server, client)
    sent = []
    for index, size in enumerate(sizes):
        payload = os.urandom(size) if random_payloads[index] else bytes([index]) * size
        sent.append(payload)
        sender.send_binary(payload)
    wire = sender.data_to_send()
    got: list[bytes] = []
    pace = iter(takes * 100)
    position = 0
    for cut in [*cuts, len(wire)]:
        receiver.receive_data(wire[position : position + cut])
        position += cut
        assert queued_bytes(receiver) <= DECODE_BUDGET + max(sizes)
        events = receiver.events()
        for _ in range(next(pace, 1)):  # the application takes a few, then reads on
            event = next(events, None)
            if event is None:
                break
            assert isinstance(event, BytesMessage)
            got.append(event.data)
        if position >= len(wire):
            break
    got.extend(e.data for e in receiver.events())  # type: ignore[attr-defined]
    assert got == sent
