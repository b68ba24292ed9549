"""Broadcast over real sockets, for both adapters: the handler API and each adapter's own.

Each handler-API test runs against both servers (one contract, one suite),
with blocking raw clients in the test thread; ``broadcast`` is called from the
test thread (a foreign thread for both servers) or from a handler callback.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING

import pytest
from asyncio_helpers import async_test
from contract_helpers import ADAPTERS, WAIT, open_raw, run_server, wait_until, waits_for_io
from sync_helpers import RawPeer, running

from wsproto_core import asyncio as ws_asyncio
from wsproto_core import sync as ws_sync
from wsproto_core.broadcast import SLOW_CLOSE_CODE, Overflow
from wsproto_core.errors import UnsupportedOperation
from wsproto_core.events import BytesMessage, TextMessage
from wsproto_core.handlers import Handler, HandlerConnection, broadcast

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

BIG = 64 * 1024
"""A message size that fills a peer's buffers after a few sends."""


class Room(Handler):
    """Every connection joins; a text message is broadcast to all (from the callback)."""

    def __init__(self) -> None:
        self.members: list[HandlerConnection] = []
        self.lock = threading.Lock()
        self.joined = threading.Semaphore(0)
        self.left: queue.Queue[tuple[int, str]] = queue.Queue()

    def on_connect(self, conn: HandlerConnection) -> None:
        with self.lock:
            self.members.append(conn)
        self.joined.release()

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        broadcast(self.everyone(), message)

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        with self.lock:
            self.members.remove(conn)
        self.left.put((close_code, reason))

    def everyone(self) -> list[HandlerConnection]:
        with self.lock:
            return list(self.members)

    def wait_joined(self, count: int) -> None:
        for _ in range(count):
            assert self.joined.acquire(timeout=WAIT), "a client did not join"


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def room() -> Room:
    return Room()


@pytest.fixture
def port(adapter: str, room: Room) -> Iterator[int]:
    with run_server(adapter, room, close_timeout=2) as server:
        yield server.port


def join(room: Room, port: int, count: int, **options: object) -> list[RawPeer]:
    peers = [RawPeer.connect(port, **options) for _ in range(count)]
    room.wait_joined(count)
    return peers


def test_every_client_receives_a_broadcast_from_another_thread(room: Room, port: int) -> None:
    peers = join(room, port, 20)
    report = broadcast(room.everyone(), "news for all")
    assert report.sent == 20
    assert not (report.not_open or report.skipped or report.closed or report.failed)
    for peer in peers:
        assert peer.until(TextMessage) == TextMessage("news for all")


def test_a_broadcast_from_a_handler_callback_reaches_every_client(room: Room, port: int) -> None:
    peers = join(room, port, 5)
    peers[0].conn.send_binary(b"\x01\x02")
    peers[0].flush()
    for peer in peers:
        assert peer.until(BytesMessage) == BytesMessage(b"\x01\x02")


def test_compressed_connections_each_inflate_the_broadcast(room: Room, port: int) -> None:
    from wsproto_core.extensions import ClientPerMessageDeflateFactory

    peers = join(room, port, 3, extensions=[ClientPerMessageDeflateFactory()])
    text = "a compressible chat line " * 40
    for _ in range(2):  # every connection keeps its own compression context
        report = broadcast(room.everyone(), text)
        assert report.sent == 3
        assert report.encodings >= 3
        for peer in peers:
            assert peer.until(TextMessage) == TextMessage(text)


def test_errors_are_reported_per_connection_never_raised(room: Room, port: int) -> None:
    modern = join(room, port, 2)
    hixie = join(room, port, 1, version="hixie-76")
    report = broadcast(room.everyone(), b"binary")
    assert report.sent == 2
    [(_, error)] = report.failed
    assert isinstance(error, UnsupportedOperation)
    for peer in modern:
        assert peer.until(BytesMessage) == BytesMessage(b"binary")
    report = broadcast(room.everyone(), "text reaches the hixie client too")
    assert report.sent == 3
    assert hixie[0].until(TextMessage) == TextMessage("text reaches the hixie client too")


def test_a_closed_connection_is_left_out(room: Room, port: int) -> None:
    peers = join(room, port, 2)
    members = room.everyone()
    peers[1].close()
    room.left.get(timeout=WAIT)
    report = broadcast(members, "after")
    assert report.sent == 1
    assert len(report.not_open) == 1
    assert peers[0].until(TextMessage) == TextMessage("after")


def stuck_client(port: int) -> socket.socket:
    """A client with a small receive buffer that never reads after the handshake."""
    sock, _ = open_raw(port, receive_buffer=4096)
    return sock


def broadcast_until_left_out(room: Room, reader: RawPeer, overflow: Overflow) -> int:
    """Broadcast big messages (the reader keeps up) until the stuck client is left out."""
    for count in range(1, 400):
        report = broadcast(room.everyone(), b"x" * BIG, overflow=overflow)
        reader.until(BytesMessage)
        assert not report.failed
        if report.skipped or report.closed:
            return count
    raise AssertionError("the client that does not read was never left out")


def test_a_client_that_does_not_read_is_skipped_and_the_others_go_on(room: Room, port: int) -> None:
    reader = join(room, port, 1)[0]
    stuck = stuck_client(port)
    room.wait_joined(1)
    sends = broadcast_until_left_out(room, reader, Overflow.SKIP)
    # Skipped, not closed, and skipped from then on: nothing more is buffered for it. (The
    # threading adapter's buffer is the kernel's, which may grow a few times before its
    # maximum: the socket is writable again meanwhile.)
    skipped_in_a_row = 0
    while skipped_in_a_row < 10:
        report = broadcast(room.everyone(), b"y" * BIG)
        assert report.sent + len(report.skipped) == 2
        skipped_in_a_row = skipped_in_a_row + 1 if report.skipped else 0
        sends += report.sent - 1
        assert sends < 400, "the kernel's buffer kept growing"
        assert reader.until(BytesMessage) == BytesMessage(b"y" * BIG)
    assert room.left.empty()
    assert sends * BIG < 64 * 2**20  # the kernel's buffers took the first ones
    held = held_for(room.everyone()[1])
    assert held <= 64 * 1024 + BIG, held  # at most the write limit and one message
    stuck.close()


def held_for(conn: HandlerConnection) -> int:
    """The bytes the server holds for ``conn`` in user space, unsent."""
    ws = conn._ws  # type: ignore[attr-defined]
    if isinstance(ws, ws_asyncio.WebSocket):
        assert ws._transport is not None
        return ws._transport.get_write_buffer_size()
    # Threading: the socket's buffer is the kernel's; a rest is held only while a write
    # holds the lock, and nothing is (the connection was skipped, not waited for).
    return BIG if ws._lock.locked() else 0


def test_the_close_policy_closes_a_client_that_does_not_read(room: Room, port: int) -> None:
    reader = join(room, port, 1)[0]
    stuck = stuck_client(port)
    room.wait_joined(1)
    broadcast_until_left_out(room, reader, Overflow.CLOSE)
    code, _ = room.left.get(timeout=WAIT)
    assert code in (SLOW_CLOSE_CODE, 1006)  # the stream is cut: the peer did not read the close
    assert room.everyone() == [room.members[0]]
    report = broadcast(room.everyone(), "still here")
    assert report.sent == 1
    assert reader.until(TextMessage) == TextMessage("still here")
    stuck.close()


# -- each adapter's own broadcast ---------------------------------------------------------


@async_test
async def test_asyncio_broadcast_to_websockets_on_the_loop() -> None:
    async def hold(ws: ws_asyncio.WebSocket) -> None:
        await ws.wait_closed()

    async with ws_asyncio.serve(hold, "127.0.0.1", 0, compression=None) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        clients = [await ws_asyncio.connect(url, compression=None) for _ in range(10)]
        await asyncio.wait_for(_until_count(server, 10), WAIT)
        report = ws_asyncio.broadcast(server.connections, "on the loop")
        assert (report.sent, report.encodings) == (10, 1)
        assert [await client.recv() for client in clients] == ["on the loop"] * 10
        # From another thread: the call hands the work to the loop and waits for it.
        report = await asyncio.to_thread(ws_asyncio.broadcast, server.connections, b"off it")
        assert report.sent == 10
        assert [await client.recv() for client in clients] == [b"off it"] * 10
        for client in clients:
            await client.close()


async def _until_count(server: ws_asyncio.Server, count: int) -> None:
    while len(server.connections) < count:
        await asyncio.sleep(0.005)


def test_sync_broadcast_to_connections_of_a_function_server() -> None:
    release = threading.Event()

    def hold(ws: ws_sync.Connection) -> None:
        release.wait(WAIT)

    with running(hold, compression=None) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        clients = [ws_sync.connect(url, compression=None) for _ in range(10)]
        assert wait_until(lambda: len(server.connections) == 10)
        report = ws_sync.broadcast(server.connections, "to each thread")
        assert (report.sent, report.encodings) == (10, 1)
        assert [client.recv(WAIT) for client in clients] == ["to each thread"] * 10
        release.set()
        for client in clients:
            client.close()


def test_a_message_bigger_than_the_socket_buffers_arrives_whole_without_waiting(
    room: Room, port: int
) -> None:
    peer = join(room, port, 1)[0]
    huge = bytes(range(256)) * (16 * 2**20 // 256)  # more than loopback's buffers hold
    # Nobody reads until broadcast returns: it must not wait for the peer.
    report = broadcast(room.everyone(), huge)
    assert report.sent == 1
    assert peer.until(BytesMessage) == BytesMessage(huge)
    report = broadcast(room.everyone(), "and the next one after it")
    assert peer.until(TextMessage) == TextMessage("and the next one after it")


@pytest.mark.parametrize("adapter", ["threading"])  # asyncio: send never holds the writer
def test_a_peer_that_another_thread_waits_to_write_to_is_left_out(
    adapter: str, room: Room, port: int
) -> None:
    reader = join(room, port, 1)[0]
    stuck = stuck_client(port)
    room.wait_joined(1)
    slow = room.everyone()[1]

    def flood() -> None:
        for _ in range(400):  # blocks once the peer's buffers are full
            slow.send(b"z" * BIG)

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    assert wait_until(lambda: waits_for_io(sender)), "the sender never waited for the peer"
    report = broadcast(room.everyone(), "the others still get it")
    assert report.sent == 1
    assert len(report.skipped) == 1
    assert reader.until(TextMessage) == TextMessage("the others still get it")
    stuck.close()
    sender.join(WAIT)
