"""The blocking connection over loopback: messages, limits, pings, closing, keepalive, threads."""

from __future__ import annotations

import fcntl
import socket
import termios
import threading

import pytest
from sync_helpers import WAIT, RawPeer, raw_server, running, wait_for, ws_pair

from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.connection import ClientConnection
from wsproto_core.events import Close, Ping
from wsproto_core.sync import (
    Connection,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
)

pytestmark = pytest.mark.timeout(60)

SIDES = ["client", "server"]


def sender_and_receiver(
    pair: tuple[Connection, Connection], sender: str
) -> tuple[Connection, Connection]:
    """(sending side, receiving side) of a (server, client) pair."""
    server, client = pair
    return (client, server) if sender == "client" else (server, client)


# -- messages -------------------------------------------------------------------------


@pytest.mark.parametrize("sender", SIDES)
def test_text_message_arrives_as_str(sender: str) -> None:
    with ws_pair() as pair:
        source, sink = sender_and_receiver(pair, sender)
        source.send("café ☕")
        assert sink.recv(timeout=WAIT) == "café ☕"


@pytest.mark.parametrize("sender", SIDES)
def test_binary_message_arrives_as_bytes(sender: str) -> None:
    with ws_pair() as pair:
        source, sink = sender_and_receiver(pair, sender)
        source.send(bytearray(b"\x00\xff\x80"))
        assert sink.recv(timeout=WAIT) == b"\x00\xff\x80"


@pytest.mark.parametrize("sender", SIDES)
def test_message_over_16_mib_arrives_whole(sender: str) -> None:
    payload = bytes(range(256)) * (17 * 2**12)  # 17 MiB
    with ws_pair({"max_message_size": None}, max_message_size=None) as pair:
        source, sink = sender_and_receiver(pair, sender)
        threading.Thread(target=source.send, args=(payload,), daemon=True).start()
        assert sink.recv(timeout=WAIT * 3) == payload


def test_server_receives_fragmented_message_whole() -> None:
    received: list[str | bytes] = []

    def handler(ws: Connection) -> None:
        received.append(ws.recv(timeout=WAIT))

    with running(handler) as server:
        peer = RawPeer.connect(server.port)
        peer.conn.send_text("frag", final=False)
        peer.conn.send_text("men", final=False)
        peer.conn.send_text("ted")
        peer.flush()
        peer.until(Close)
        peer.close()
    assert received == ["fragmented"]


def test_messages_pipelined_behind_the_handshake_are_received() -> None:
    received: list[str | bytes] = []

    def handler(ws: Connection) -> None:
        received.extend(ws.recv(timeout=WAIT) for _ in range(2))

    codec = Rfc6455Codec(client=True, max_message_size=None)
    frames = codec.send_text("one") + codec.send_binary(b"two")
    with running(handler) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        peer = RawPeer(sock, ClientConnection(f"ws://127.0.0.1:{server.port}/"))
        sock.sendall(peer.conn.data_to_send() + frames)
        peer.until(Close)
        peer.close()
    assert received == ["one", b"two"]


@pytest.mark.parametrize("sender", SIDES)
def test_message_over_max_size_closes_with_1009(sender: str) -> None:
    limit = {"max_message_size": 1024}
    server_options = limit if sender == "client" else {}
    client_options = limit if sender == "server" else {}
    with ws_pair(server_options, **client_options) as pair:
        source, sink = sender_and_receiver(pair, sender)
        source.send(b"x" * 2048)
        with pytest.raises(ConnectionClosedError) as received:
            sink.recv(timeout=WAIT)
        with pytest.raises(ConnectionClosedError) as sent:
            source.recv(timeout=WAIT)
    assert received.value.code == 1009
    assert sent.value.code == 1009


def test_send_refuses_what_is_neither_text_nor_bytes() -> None:
    with ws_pair() as (_, client), pytest.raises(TypeError):
        client.send(42)  # type: ignore[arg-type]


# -- pings ------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", SIDES)
def test_ping_is_answered_with_pong(sender: str) -> None:
    with ws_pair() as pair:
        source, _ = sender_and_receiver(pair, sender)
        assert source.ping(b"are you there").wait(WAIT)


def test_pong_acknowledges_earlier_pings_too() -> None:
    with ws_pair() as (_, client):
        first = client.ping(b"1")
        second = client.ping(b"2")
        assert second.wait(WAIT)
        assert first.is_set()


def test_ping_with_a_payload_already_waiting_is_refused() -> None:
    with raw_server(ping_interval=None) as (_, client):
        client.ping(b"same")
        with pytest.raises(ValueError, match="already waiting"):
            client.ping(b"same")


# -- closing ----------------------------------------------------------------------------


@pytest.mark.parametrize("closer", SIDES)
def test_close_handshake_gives_both_sides_the_code_and_reason(closer: str) -> None:
    with ws_pair() as pair:
        source, sink = sender_and_receiver(pair, closer)
        source.close(4000, "done here")
        with pytest.raises(ConnectionClosedError) as seen:
            sink.recv(timeout=WAIT)
        assert (seen.value.code, seen.value.reason) == (4000, "done here")
        assert source.close_code == 4000
        assert source.closed


@pytest.mark.parametrize("closer", SIDES)
def test_normal_close_ends_iteration(closer: str) -> None:
    with ws_pair() as pair:
        source, sink = sender_and_receiver(pair, closer)
        source.send("last")
        source.close()
        assert list(sink) == ["last"]


def test_send_after_close_raises_connection_closed() -> None:
    with ws_pair() as (_, client):
        client.close()
        with pytest.raises(ConnectionClosedOK):
            client.send("too late")


def test_recv_after_close_raises_connection_closed() -> None:
    with ws_pair() as (_, client):
        client.close(1001)
        with pytest.raises(ConnectionClosedOK) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.code == 1001


def test_recv_times_out_without_a_message() -> None:
    with ws_pair() as (_, client), pytest.raises(TimeoutError):
        client.recv(timeout=0.01)


def test_server_sees_1006_when_client_stream_ends_without_close() -> None:
    closes: list[ConnectionClosed] = []

    def handler(ws: Connection) -> None:
        try:
            ws.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            closes.append(closed)

    with running(handler) as server:
        RawPeer.connect(server.port).close()
        wait_for(lambda: closes)
    assert closes[0].code == 1006


def test_client_sees_1006_when_server_stream_ends_without_close() -> None:
    with raw_server() as (peer, client):
        peer.close()
        with pytest.raises(ConnectionClosedError) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.code == 1006


def test_client_closes_stream_itself_when_server_keeps_it_open() -> None:
    with raw_server(close_timeout=0.2) as (peer, client):
        client.close(wait=False)
        peer.until(Close)
        peer.flush()  # the echo; the raw server never closes the stream itself
        client.wait_closed()
        assert peer.sock.recv(1) == b""
        assert client.closed


def test_close_times_out_when_peer_never_answers() -> None:
    with raw_server(close_timeout=0.2) as (_, client):
        client.close()
        assert client.closed
        assert client.close_code == 1006


# -- keepalive --------------------------------------------------------------------------


def test_keepalive_pings_an_idle_peer() -> None:
    with raw_server(ping_interval=0.02, ping_timeout=WAIT) as (peer, client):
        for _ in range(3):
            peer.until(Ping)
            peer.flush()  # the pong
        assert not client.closed


def test_server_keepalive_fails_silent_client_with_1011() -> None:
    closes: list[ConnectionClosed] = []

    def handler(ws: Connection) -> None:
        try:
            ws.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            closes.append(closed)

    with running(handler, ping_interval=0.05, ping_timeout=0.05) as server:
        peer = RawPeer.connect(server.port)  # never writes again, so never answers a ping
        close = peer.until(Close)
        wait_for(lambda: closes)
        peer.close()
    assert isinstance(close, Close)
    assert close.code == 1011
    assert isinstance(closes[0], ConnectionClosedError)


def test_client_keepalive_fails_silent_server_with_1011() -> None:
    with raw_server(ping_interval=0.05, ping_timeout=0.05) as (peer, client):
        close = peer.until(Close)
        with pytest.raises(ConnectionClosedError):
            client.recv(timeout=WAIT)
    assert isinstance(close, Close)
    assert close.code == 1011


# -- threads and backpressure -----------------------------------------------------------


@pytest.mark.parametrize("sender", SIDES)
def test_send_from_many_threads_keeps_messages_whole(sender: str) -> None:
    with ws_pair() as pair:
        source, sink = sender_and_receiver(pair, sender)

        def send_many(tag: int) -> None:
            for n in range(200):
                source.send(f"{tag}:{n}:" + "x" * 1000)

        threads = [threading.Thread(target=send_many, args=(tag,)) for tag in range(4)]
        for thread in threads:
            thread.start()
        received = [sink.recv(timeout=WAIT) for _ in range(800)]
        for thread in threads:
            thread.join(WAIT)
    by_tag: dict[str, list[int]] = {}
    for message in received:
        assert isinstance(message, str)
        tag, n, padding = message.split(":")
        assert padding == "x" * 1000
        by_tag.setdefault(tag, []).append(int(n))
    assert by_tag == {str(tag): list(range(200)) for tag in range(4)}


def _unread(sock: socket.socket) -> int:
    """Bytes in the socket's receive buffer that nobody read yet."""
    return int.from_bytes(fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"), "little")


def _unsent(sock: socket.socket) -> int:
    """Bytes in the socket's send buffer that the peer did not take yet."""
    return int.from_bytes(fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0\0\0\0"), "little")


def test_slow_reader_stops_reading_at_max_queue() -> None:
    """The queue holds max_queue messages, then TCP pushes back: the peer's writes stall."""
    handed: list[Connection] = []
    release = threading.Event()

    def handler(ws: Connection) -> None:
        handed.append(ws)
        release.wait(WAIT * 3)
        for _ in ws:
            pass

    with running(handler, max_queue=4) as server:
        peer = RawPeer.connect(server.port)
        wait_for(lambda: handed)
        peer.conn.send_binary(b"m" * 1024)
        frame = peer.conn.data_to_send()
        peer.sock.setblocking(False)
        written = 0
        stalls = 0
        while stalls < 20:  # write until the buffers on both sides are full
            try:
                written += peer.sock.send(frame[written % len(frame) :])
                stalls = 0
            except BlockingIOError:
                stalls += 1
                threading.Event().wait(0.01)
        rest_of_frame = frame[written % len(frame) :] if written % len(frame) else b""
        server_ws = handed[0]
        # The reader fills the queue, then holds one more message and reads no further.
        wait_for(lambda: server_ws._messages.qsize() == 4)
        queued = server_ws._messages.qsize()
        taken_by_server = written - _unsent(peer.sock) - _unread(server_ws._socket)
        release.set()
        peer.sock.settimeout(WAIT)
        peer.sock.sendall(rest_of_frame)
        peer.conn.close()
        peer.flush()
        peer.read_to_eof()
        peer.close()
    assert queued == 4
    # What the server read: the queue, the one message waiting for room, part of one recv().
    assert taken_by_server <= 5 * len(frame) + 65536
    assert written > taken_by_server + 65536  # the rest waits in the kernel's buffers


def test_close_unblocks_a_reader_held_by_a_full_queue() -> None:
    with ws_pair({"max_queue": 1}) as (server_ws, client):
        for n in range(5):
            client.send(str(n))
        wait_for(lambda: server_ws._messages.qsize() == 1)
        server_ws.close()
        assert server_ws.closed
        assert server_ws.close_code == 1000


# -- who reads: the reader thread or a thread blocked in recv() ---------------------------


def test_keepalive_runs_while_a_thread_reads_in_recv() -> None:
    with raw_server(ping_interval=0.02, ping_timeout=WAIT) as (peer, client):
        received: list[str | bytes] = []
        reader = threading.Thread(target=lambda: received.append(client.recv(timeout=WAIT)))
        reader.start()
        wait_for(lambda: client._reading is reader)  # the recv() caller has the turn
        for _ in range(3):
            peer.until(Ping)
            peer.flush()
        peer.conn.send_text("after the pings")
        peer.flush()
        reader.join(WAIT)
    assert received == ["after the pings"]


def test_reader_thread_takes_over_when_recv_is_not_called() -> None:
    with ws_pair() as (server_ws, client):
        server_ws.send("one")
        assert client.recv(timeout=WAIT) == "one"  # this thread read for itself
        # Nobody calls recv() now: the reader thread must still answer pings.
        assert server_ws.ping(b"still there?").wait(WAIT)


def test_concurrent_recv_callers_share_the_messages() -> None:
    with ws_pair() as (server_ws, client):
        received: list[str | bytes] = []
        lock = threading.Lock()

        def consume() -> None:
            for _ in range(100):
                message = client.recv(timeout=WAIT)
                with lock:
                    received.append(message)

        consumers = [threading.Thread(target=consume) for _ in range(3)]
        for consumer in consumers:
            consumer.start()
        for n in range(300):
            server_ws.send(str(n))
        for consumer in consumers:
            consumer.join(WAIT * 2)
    assert sorted(received, key=int) == [str(n) for n in range(300)]


def test_recv_timeout_while_holding_the_turn() -> None:
    with ws_pair() as (_, client):
        with pytest.raises(TimeoutError):
            client.recv(timeout=0.01)
        assert client._reading is not threading.current_thread()


def test_close_from_the_recv_thread_is_completed_by_the_reader_thread() -> None:
    with ws_pair() as (server_ws, client):
        server_ws.send("x")
        assert client.recv(timeout=WAIT) == "x"
        client.close()  # the reader thread may be parked: close must wake it
        assert client.closed
        assert client.close_code == 1000


def test_call_every_runs_in_the_reader_thread_while_a_thread_reads_in_recv() -> None:
    # The callbacks run in the reader thread, as documented, even while the
    # application's thread holds the turn to read (blocked in recv()). Frequent
    # keepalive pings make the reader thread hand over its turn soon.
    with raw_server(ping_interval=0.02, ping_timeout=WAIT) as (peer, client):
        threads: list[threading.Thread] = []
        ticked = threading.Event()

        def tick() -> None:
            threads.append(threading.current_thread())
            if len(threads) >= 5:
                ticked.set()

        received: list[str | bytes] = []
        reader = threading.Thread(target=lambda: received.append(client.recv(timeout=WAIT)))
        reader.start()
        wait_for(lambda: client._reading is reader)  # the recv() caller has the turn
        timer = client.call_every(0.01, tick)
        assert ticked.wait(WAIT)
        timer.cancel()
        peer.conn.send_text("done")
        peer.flush()
        reader.join(WAIT)
    assert received == ["done"]
    assert threads and all(thread is client._reader for thread in threads), threads
