"""Our clients, asyncio and threading, against Node's ws as the server (``ws_server.mjs``).

The ws server reports what it saw (messages by length and SHA-256, pings, pongs, close
codes), so each test checks both sides.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from interop_harness import BACKEND_FLAVOURS, binary_payload, sha256, text_payload

import wsproto_core.asyncio
import wsproto_core.sync

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from interop_harness import NodeWsServer, Peers

pytestmark = pytest.mark.interop

MIB = 2**20
TIMEOUT = 15.0


class Client(Protocol):
    """What a test does with one of our clients, the same for both adapters."""

    def send(self, message: str | bytes) -> None:
        """Send one message."""

    def recv(self) -> str | bytes:
        """Receive one message."""

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""


class ThreadingClient:
    """``wsproto_core.sync.connect``."""

    __slots__ = ("ws",)

    def __init__(self, url: str) -> None:
        self.ws = wsproto_core.sync.connect(url, ping_interval=None)

    def send(self, message: str | bytes) -> None:
        """Send one message."""
        self.ws.send(message)

    def recv(self) -> str | bytes:
        """Receive one message."""
        message: str | bytes = self.ws.recv(TIMEOUT)
        return message

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""
        assert self.ws.ping(payload).wait(TIMEOUT), "no pong"

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""
        self.ws.close(code, reason)

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""
        while True:
            try:
                self.ws.recv(TIMEOUT)
            except wsproto_core.sync.ConnectionClosed as closed:
                return closed.code, closed.reason


class AsyncioClient:
    """``wsproto_core.asyncio.connect``, on an event loop running in a thread of its own.

    The loop keeps running between the test's calls, as in an application, so the
    client answers pings and closes while the test is busy with the peer.
    """

    __slots__ = ("loop", "thread", "ws")

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="asyncio-client")
        self.thread.start()
        self.ws = self.run(wsproto_core.asyncio.connect(url, ping_interval=None))

    def run(self, awaitable: Any) -> Any:
        """Run ``awaitable`` on this client's loop and wait for it, up to the test's timeout."""

        async def bounded() -> Any:
            return await asyncio.wait_for(awaitable, TIMEOUT)

        return asyncio.run_coroutine_threadsafe(bounded(), self.loop).result()

    def send(self, message: str | bytes) -> None:
        """Send one message."""
        self.run(self.ws.send(message))

    def send_fragments(self, fragments: list[str | bytes]) -> None:
        """Send one message as several frames."""
        self.run(self.ws.send(fragments))

    def recv(self) -> str | bytes:
        """Receive one message."""
        message: str | bytes = self.run(self.ws.recv())
        return message

    def ping(self, payload: bytes) -> None:
        """Ping and wait for the pong."""
        pong = self.run(self.ws.ping(payload))
        self.run(pong)

    def close(self, code: int, reason: str) -> None:
        """Close and wait for the closing handshake."""
        self.run(self.ws.close(code, reason))

    def recv_until_closed(self) -> tuple[int, str]:
        """Receive until the peer closes; return its close code and reason."""
        while True:
            try:
                self.run(self.ws.recv())
            except wsproto_core.asyncio.ConnectionClosed as closed:
                return closed.code, closed.reason

    def shut(self) -> None:
        """Close the connection, then stop and close the client's loop."""
        self.run(self.ws.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


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
