"""Our clients, asyncio and threading, against Node's ws as the server (``ws_server.mjs``).

The ws server reports what it saw (messages by length and SHA-256, pings, pongs, close
codes), so each test checks both sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from interop_harness import BACKEND_FLAVOURS, binary_payload, sha256, text_payload
from our_peers import AsyncioClient, ThreadingClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from interop_harness import NodeWsServer, Peers
    from our_peers import Client

pytestmark = pytest.mark.interop

MIB = 2**20


@pytest.fixture(params=BACKEND_FLAVOURS)
def our_client(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Client]]:
    """Open our asyncio, then our threading, client; every one is closed afterwards."""
    opened: list[ThreadingClient | AsyncioClient] = []

    def open_client(url: str) -> Client:
        client = AsyncioClient(url) if request.param == "asyncio" else ThreadingClient(url)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        if isinstance(client, AsyncioClient):
            client.shut()
        else:
            client.ws.close()


def payload(kind: str, size: int) -> str | bytes:
    """The message of ``kind`` and ``size`` the tests send."""
    return text_payload(size) if kind == "text" else binary_payload(size)


@pytest.mark.parametrize("size", [40, MIB])
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_our_client_message_reaches_ws_intact(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer], kind: str, size: int
) -> None:
    server = ws_server()
    our_client(server.ws_url()).send(payload(kind, size))
    seen = server.wait_event("message")
    assert (seen["type"], seen["length"], seen["sha256"]) == (
        kind,
        size,
        sha256(payload(kind, size)),
    )


@pytest.mark.parametrize("size", [40, MIB])
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_our_client_receives_ws_echo_intact(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer], kind: str, size: int
) -> None:
    client = our_client(ws_server().ws_url())
    client.send(payload(kind, size))
    assert client.recv() == payload(kind, size)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_our_client_reassembles_a_fragmented_message_from_ws(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer], kind: str
) -> None:
    # ws splits the bytes of its echo in 7 frames: for text some split a code point.
    client = our_client(ws_server(fragments=7).ws_url())
    client.send(payload(kind, 100_003))
    assert client.recv() == payload(kind, 100_003)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_our_asyncio_client_fragmented_message_is_reassembled_by_ws(
    ws_server: Peers[NodeWsServer], kind: str
) -> None:
    server = ws_server()
    client = AsyncioClient(server.ws_url())
    try:
        whole = payload(kind, 100_003)
        client.send_fragments([whole[i : i + 16_384] for i in range(0, len(whole), 16_384)])
        seen = server.wait_event("message")
        assert (seen["type"], seen["sha256"]) == (kind, sha256(whole))
    finally:
        client.shut()


def test_our_client_ping_gets_a_pong_from_ws(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer]
) -> None:
    server = ws_server()
    our_client(server.ws_url()).ping(b"are you there")
    assert server.wait_event("ping")["data"] == "are you there"


def test_our_client_answers_a_ws_ping_with_its_pong(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer]
) -> None:
    server = ws_server()
    our_client(server.ws_url()).send("!ping hello ws")
    assert server.wait_event("pong")["data"] == "hello ws"


def test_our_client_close_code_and_reason_reach_ws(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer]
) -> None:
    server = ws_server()
    our_client(server.ws_url()).close(4001, "bye \u2713")
    closed = server.wait_event("close")
    assert (closed["code"], closed["reason"]) == (4001, "bye \u2713")


def test_ws_close_code_and_reason_reach_our_client(
    our_client: Callable[[str], Client], ws_server: Peers[NodeWsServer]
) -> None:
    server = ws_server()
    client = our_client(server.ws_url())
    client.send("!close 4002 going away")
    assert client.recv_until_closed() == (4002, "going away")
    assert server.wait_event("close")["code"] == 4002
