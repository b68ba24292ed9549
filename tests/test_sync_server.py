"""The threading server over loopback: timeouts, shutdown, functions, the handler API, routing."""

from __future__ import annotations

import gc
import os
import socket
import threading

import pytest
from sync_helpers import WAIT, RawPeer, running, wait_for

from wsproto_core.events import Close, TextMessage
from wsproto_core.examples import DumbIncrementHandler, EchoHandler, demo_router
from wsproto_core.handlers import Handler, HandlerConnection, Refuse, Router
from wsproto_core.sync import (
    Connection,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeRejected,
    PeriodicTimer,
    connect,
)

pytestmark = pytest.mark.timeout(120)


def echo(ws: Connection) -> None:
    for message in ws:
        ws.send(message)


def recv_until_closed(ws: Connection) -> ConnectionClosed:
    """Receive and drop messages until the connection closes; return why."""
    while True:
        try:
            ws.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            return closed


def http_get(port: int, target: str, headers: str = "") -> bytes:
    """Send a plain HTTP request, return the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n".encode())
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return response


# -- opening handshake ------------------------------------------------------------------


def test_open_timeout_cuts_a_client_that_sends_nothing() -> None:
    with running(echo, open_timeout=0.05) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        assert sock.recv(1) == b""
        sock.close()


def test_open_timeout_cuts_a_client_that_stalls_mid_request() -> None:
    with running(echo, open_timeout=0.05) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        assert sock.recv(1) == b""
        sock.close()


def test_invalid_request_is_answered_with_its_error_status() -> None:
    with running(echo) as server:
        response = http_get(server.port, "/")
    assert response.startswith(b"HTTP/1.1 426 ")


def test_protocol_versions_8_and_7_are_served() -> None:
    with running(echo) as server:
        for version in (8, 7):
            with connect(f"ws://127.0.0.1:{server.port}/", version=version) as client:
                client.send(f"v{version}")
                assert client.recv(timeout=WAIT) == f"v{version}"
                assert client.protocol_version == version


def test_draft76_client_is_served_by_a_function() -> None:
    with running(echo) as server:
        peer = RawPeer.connect(server.port, version="hixie-76")
        peer.conn.send_text("old school")
        peer.flush()
        message = peer.until(TextMessage)
        peer.conn.close()
        peer.flush()
        peer.until(Close)
        peer.close()
    assert message == TextMessage("old school")


def test_draft76_client_is_served_by_a_handler() -> None:
    with running(EchoHandler()) as server:
        peer = RawPeer.connect(server.port, "/anything", version="hixie-76")
        peer.conn.send_text("hybi-00")
        peer.flush()
        message = peer.until(TextMessage)
        peer.close()
    assert message == TextMessage("hybi-00")


# -- the function API ---------------------------------------------------------------------


def test_function_sees_request_subprotocol_and_remote_address() -> None:
    seen: list[object] = []

    def handler(ws: Connection) -> None:
        assert ws.request is not None
        seen.extend([ws.request.path, ws.request.query, ws.subprotocol, ws.remote_address])

    with running(handler, subprotocols=["b", "a"]) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/chat?room=1", subprotocols=["a", "b"])
        client.close()
        wait_for(lambda: seen)
    assert seen[:3] == ["/chat", "room=1", "b"]
    assert client.subprotocol == "b"
    assert seen[3][0] == "127.0.0.1"  # type: ignore[index]


def test_function_return_closes_with_1000() -> None:
    with running(lambda ws: None) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        with pytest.raises(ConnectionClosedOK) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.code == 1000


def test_function_error_closes_with_1011() -> None:
    def handler(ws: Connection) -> None:
        raise RuntimeError("bug")

    with running(handler) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        with pytest.raises(ConnectionClosedError) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.code == 1011


# -- shutdown ----------------------------------------------------------------------------


def test_shutdown_closes_every_client_with_1001() -> None:
    with running(echo) as server:
        clients = [connect(f"ws://127.0.0.1:{server.port}/") for _ in range(3)]
        wait_for(lambda: len(server.connections) == 3)
        server.shutdown()
        codes = []
        for client in clients:
            with pytest.raises(ConnectionClosedOK) as seen:
                client.recv(timeout=WAIT)
            codes.append(seen.value.code)
    assert codes == [1001, 1001, 1001]


def test_shutdown_cuts_a_client_that_never_answers_the_close() -> None:
    with running(echo, close_timeout=0.05) as server:
        peer = RawPeer.connect(server.port)
        wait_for(lambda: server.connections)
        server.shutdown()
        close = peer.until(Close)
        peer.read_to_eof()  # shutdown returned, so the server cut the stream
        peer.close()
    assert close == Close(1001, "server shutting down")


def test_shutdown_cuts_a_client_still_in_its_handshake() -> None:
    with running(echo) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        wait_for(lambda: server._handshaking)
        server.shutdown()
        assert sock.recv(1) == b""
        sock.close()


def test_shutdown_stops_accepting() -> None:
    with running(echo) as server:
        server.shutdown()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)


def test_shutdown_without_serve_forever_closes_the_listener() -> None:
    from wsproto_core.sync import serve

    with serve(echo, "127.0.0.1", 0) as server:
        port = server.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def test_serve_forever_after_shutdown_is_refused() -> None:
    with running(echo) as server:
        server.shutdown()
        with pytest.raises(RuntimeError):
            server.serve_forever()


# -- the handler API ----------------------------------------------------------------------


def test_echo_handler_echoes_text_as_text_and_binary_as_binary() -> None:
    with running(EchoHandler()) as server, connect(f"ws://127.0.0.1:{server.port}/") as client:
        client.send("text")
        client.send(b"\x00binary")
        assert [client.recv(timeout=WAIT), client.recv(timeout=WAIT)] == ["text", b"\x00binary"]


def increment_client(port: int) -> Connection:
    return connect(f"ws://127.0.0.1:{port}/", subprotocols=["dumb-increment-protocol"])


def test_dumb_increment_counts_up_from_zero() -> None:
    with running(DumbIncrementHandler(interval=0.005)) as server:
        client = increment_client(server.port)
        numbers = [client.recv(timeout=WAIT) for _ in range(5)]
        client.close()
    assert numbers == ["0", "1", "2", "3", "4"]


def test_dumb_increment_reset_starts_again_from_zero() -> None:
    with running(DumbIncrementHandler(interval=0.005)) as server:
        client = increment_client(server.port)
        while int(client.recv(timeout=WAIT)) < 5:
            pass
        client.send("reset\n")
        after = [int(client.recv(timeout=WAIT)) for _ in range(50)]
        client.close()
    restart = after.index(0)
    assert after[restart : restart + 3] == [0, 1, 2]


def test_dumb_increment_closeme_closes_with_1001() -> None:
    with running(DumbIncrementHandler(interval=0.005)) as server:
        client = increment_client(server.port)
        client.send("closeme\n")
        closed = recv_until_closed(client)
    assert isinstance(closed, ConnectionClosedOK)
    assert closed.code == 1001


def test_dumb_increment_refuses_client_without_its_subprotocol() -> None:
    with running(DumbIncrementHandler()) as server, pytest.raises(HandshakeRejected) as seen:
        connect(f"ws://127.0.0.1:{server.port}/")
    assert seen.value.status == 403


class Recorder(Handler):
    """A handler that records what happens and obeys a few commands."""

    subprotocols = ("chat", "superchat")

    def __init__(self) -> None:
        self.connections: list[HandlerConnection] = []
        self.disconnects: list[tuple[int, str, bool]] = []
        self.timer: PeriodicTimer | None = None
        self.ticks = 0

    def on_connect(self, conn: HandlerConnection) -> None:
        if conn.header("X-Refuse"):
            raise Refuse(401, "who are you")
        if conn.header("X-Crash"):
            raise RuntimeError("on_connect bug")
        if conn.header("X-Close-Early"):
            conn.close(4001, "not now")
        conn.response_headers.append(("X-Served-By", "recorder"))
        if "superchat" in conn.offered_subprotocols:
            conn.select_subprotocol("superchat")
        self.connections.append(conn)

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        if message == "crash":
            raise RuntimeError("on_message bug")
        if message == "tick":
            self.timer = conn.call_every(0.001, self.tick)  # type: ignore[assignment]
        if message == "bad tick":
            conn.call_every(0.001, self.bad_tick)
        conn.send(message)

    def tick(self) -> None:
        self.ticks += 1

    def bad_tick(self) -> None:
        raise RuntimeError("timer bug")

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        cancelled = self.timer is not None and self.timer.cancelled
        self.disconnects.append((close_code, reason, cancelled))


def test_refuse_in_on_connect_answers_with_its_status() -> None:
    with running(Recorder()) as server, pytest.raises(HandshakeRejected) as seen:
        connect(f"ws://127.0.0.1:{server.port}/", extra_headers=[("X-Refuse", "1")])
    assert seen.value.status == 401
    assert b"who are you" in seen.value.body


def test_error_in_on_connect_answers_500() -> None:
    with running(Recorder()) as server, pytest.raises(HandshakeRejected) as seen:
        connect(f"ws://127.0.0.1:{server.port}/", extra_headers=[("X-Crash", "1")])
    assert seen.value.status == 500


def test_close_in_on_connect_closes_right_after_the_handshake() -> None:
    with running(Recorder()) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/", extra_headers=[("X-Close-Early", "1")])
        with pytest.raises(ConnectionClosedError) as seen:
            client.recv(timeout=WAIT)
    assert (seen.value.code, seen.value.reason) == (4001, "not now")


def test_handler_chooses_subprotocol_and_adds_response_headers() -> None:
    with running(Recorder()) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/", subprotocols=["chat", "superchat"])
        client.close()
    assert client.subprotocol == "superchat"
    assert client.response is not None
    assert ("X-Served-By", "recorder") in client.response.headers


def test_error_in_on_message_closes_with_1011() -> None:
    recorder = Recorder()
    with running(recorder) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        client.send("crash")
        with pytest.raises(ConnectionClosedError) as seen:
            client.recv(timeout=WAIT)
        wait_for(lambda: recorder.disconnects)
    assert seen.value.code == 1011
    assert recorder.disconnects[0][0] == 1011


def test_on_disconnect_gets_the_close_code_and_reason() -> None:
    recorder = Recorder()
    with running(recorder) as server:
        connect(f"ws://127.0.0.1:{server.port}/").close(4002, "bye")
        wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][:2] == (4002, "bye")


def test_periodic_callback_runs_and_is_cancelled_before_on_disconnect() -> None:
    recorder = Recorder()
    with running(recorder) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        client.send("tick")
        wait_for(lambda: recorder.ticks >= 3)
        client.close()
        wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0] == (1000, "", True)


def test_error_in_periodic_callback_closes_with_1011() -> None:
    with running(Recorder()) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        client.send("bad tick")
        closed = recv_until_closed(client)
    assert isinstance(closed, ConnectionClosedError)
    assert closed.code == 1011


def test_handler_send_is_safe_from_other_threads() -> None:
    recorder = Recorder()
    with running(recorder) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/")
        wait_for(lambda: recorder.connections)
        conn = recorder.connections[0]
        threads = [
            threading.Thread(target=lambda t=t: [conn.send(f"{t}-{n}") for n in range(100)])
            for t in range(4)
        ]
        for thread in threads:
            thread.start()
        received = {client.recv(timeout=WAIT) for _ in range(400)}
        for thread in threads:
            thread.join(WAIT)
        client.close()
    assert received == {f"{t}-{n}" for t in range(4) for n in range(100)}


def test_handler_send_after_close_is_dropped() -> None:
    # The handler closes, then sends: once while TCP is still open (its close frame
    # queued, the peer's echo not yet in), once from on_disconnect. Neither raises, and
    # neither message reaches the peer: the close frame is the last thing on the wire.
    disconnected = threading.Event()

    class CloseThenSend(Handler):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.close(1000, "bye")
            conn.send("dropped while closing")

        def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
            conn.send("dropped after disconnect")
            disconnected.set()

    with running(CloseThenSend()) as server:
        peer = RawPeer.connect(server.port)
        peer.conn.send_text("x")
        peer.flush()
        while not any(isinstance(event, Close) for event in peer.events):
            assert peer.read(), "EOF before the close frame"
        assert [type(event) for event in peer.events] == [Close]
        peer.events.clear()
        peer.flush()  # the close echo
        peer.read_to_eof()
        peer.close()
        assert disconnected.wait(WAIT)
        assert peer.events == []


# -- routing -----------------------------------------------------------------------------


def test_router_serves_pages_over_plain_http() -> None:
    with running(demo_router()) as server:
        response = http_get(server.port, "/")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"<html" in body.lower()


def test_router_answers_plain_get_on_a_websocket_path_with_426() -> None:
    with running(demo_router()) as server:
        assert http_get(server.port, "/echo").startswith(b"HTTP/1.1 426 ")


def test_router_refuses_unknown_path_with_404() -> None:
    with running(demo_router()) as server, pytest.raises(HandshakeRejected) as seen:
        connect(f"ws://127.0.0.1:{server.port}/nowhere")
    assert seen.value.status == 404


def test_router_refuses_origin_not_allowed_with_403() -> None:
    router = Router()
    router.route("/echo", EchoHandler(), allowed_origins=["https://good.example"])
    with running(router) as server:
        with pytest.raises(HandshakeRejected) as seen:
            connect(f"ws://127.0.0.1:{server.port}/echo", origin="https://evil.example")
        connect(f"ws://127.0.0.1:{server.port}/echo", origin="https://good.example").close()
    assert seen.value.status == 403


def test_router_applies_each_route_message_limit() -> None:
    router = Router()
    router.route("/small", EchoHandler(), max_message_size=100)
    router.route("/large", EchoHandler(), max_message_size=10_000)
    with running(router) as server:
        large = connect(f"ws://127.0.0.1:{server.port}/large")
        large.send(b"x" * 1000)
        assert large.recv(timeout=WAIT) == b"x" * 1000
        large.close()
        small = connect(f"ws://127.0.0.1:{server.port}/small")
        small.send(b"x" * 1000)
        with pytest.raises(ConnectionClosedError) as seen:
            small.recv(timeout=WAIT)
    assert seen.value.code == 1009


def test_router_routes_by_path() -> None:
    with running(demo_router(increment_interval=0.005)) as server:
        with connect(f"ws://127.0.0.1:{server.port}/echo") as client:
            client.send("ping me")
            assert client.recv(timeout=WAIT) == "ping me"
        with increment_client_at(server.port, "/dumb-increment") as client:
            assert client.recv(timeout=WAIT) == "0"


def increment_client_at(port: int, path: str) -> Connection:
    return connect(f"ws://127.0.0.1:{port}{path}", subprotocols=["dumb-increment-protocol"])


# -- resources ---------------------------------------------------------------------------


def open_fds() -> int:
    """Count this process's descriptors, after collecting sockets earlier tests dropped."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(300)
def test_2000_connections_leave_no_descriptor_or_thread_behind() -> None:
    fds, threads = open_fds(), threading.active_count()
    with running(echo) as server:
        for n in range(2000):
            with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None) as client:
                client.send(str(n))
                assert client.recv(timeout=WAIT) == str(n)
        wait_for(lambda: not server.connections)
    wait_for(lambda: threading.active_count() == threads)
    assert open_fds() <= fds  # a leak would add one per connection


def test_connection_closed_carries_code_and_reason() -> None:
    closed = ConnectionClosed(4000, "why")
    assert (closed.code, closed.reason, str(closed)) == (4000, "why", "connection closed: 4000 why")


# -- live, ordered events: frames with the handshake, replies before the failure -----------

ECHO_MODES = ["handler", "function"]


def echo_app(mode: str) -> Router | object:
    """What ``python -m wsproto_core serve --threads`` serves at /echo, or an echo function."""
    return demo_router() if mode == "handler" else echo


def client_frame(opcode: int, payload: bytes, rsv: int = 0) -> bytes:
    """A frame as a client sends it (masked)."""
    from wsproto_core.frames import serialize_frame

    return serialize_frame(opcode, payload, rsv=rsv, mask_key=b"\x5a\xa5\x0f\xf0")


def handshake_with_frames(port: int, frames: bytes) -> RawPeer:
    """Write the upgrade request for /echo and ``frames`` in one ``sendall``; wait for the 101."""
    from wsproto_core.connection import ClientConnection
    from wsproto_core.events import Accept

    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    conn = ClientConnection(f"ws://127.0.0.1:{port}/echo")
    sock.sendall(conn.data_to_send() + frames)
    peer = RawPeer(sock, conn)
    peer.until(Accept)
    return peer


def events_until_close(peer: RawPeer) -> list[object]:
    """Read until the peer's connection reports a Close; return every event up to it."""
    while not any(isinstance(e, Close) for e in peer.events):
        if not peer.read():
            raise AssertionError("EOF before a Close event")
    index = next(i for i, e in enumerate(peer.events) if isinstance(e, Close))
    return list(peer.events[: index + 1])


@pytest.mark.parametrize("mode", ECHO_MODES)
def test_frames_in_the_same_write_as_the_handshake_are_echoed_in_order(mode: str) -> None:
    frames = b"".join(client_frame(0x1, f"message {n}".encode()) for n in range(3))
    with running(echo_app(mode)) as server:
        peer = handshake_with_frames(server.port, frames)
        for n in range(3):
            assert peer.until(TextMessage) == TextMessage(f"message {n}")
        peer.close()


@pytest.mark.parametrize("mode", ECHO_MODES)
def test_a_message_before_a_reserved_bit_frame_is_echoed_then_closed_1002(mode: str) -> None:
    with running(echo_app(mode)) as server:
        peer = RawPeer.connect(server.port, "/echo")
        peer.sock.sendall(
            client_frame(0x1, b"Hello, world!")
            + client_frame(0x1, b"Hello, world!", rsv=0x20)
            + client_frame(0x9, b"after")
        )
        seen = events_until_close(peer)
        assert seen[0] == TextMessage("Hello, world!")
        assert len(seen) == 2  # no pong for the ping after the bad frame
        assert isinstance(seen[1], Close) and seen[1].code == 1002
        peer.close()


@pytest.mark.parametrize("mode", ECHO_MODES)
def test_a_message_and_a_bad_frame_with_the_handshake_are_echoed_then_closed_1002(
    mode: str,
) -> None:
    frames = client_frame(0x1, b"early") + client_frame(0x3, b"reserved opcode")
    with running(echo_app(mode)) as server:
        peer = handshake_with_frames(server.port, frames)
        seen = events_until_close(peer)
        assert seen[0] == TextMessage("early")
        assert isinstance(seen[1], Close) and seen[1].code == 1002
        peer.close()


def test_a_failure_held_for_a_function_that_never_reads_goes_out_after_the_close_timeout() -> None:
    done = threading.Event()

    def deaf(ws: Connection) -> None:
        done.wait(WAIT)

    with running(deaf, close_timeout=0.2) as server:
        peer = RawPeer.connect(server.port, "/")
        peer.sock.sendall(client_frame(0x1, b"unread") + client_frame(0x1, b"x", rsv=0x40))
        closed = peer.until(Close)
        assert isinstance(closed, Close) and closed.code == 1002
        done.set()
        peer.close()


def test_closing_while_a_failure_is_held_ends_the_connection() -> None:
    def reads_one_then_closes(ws: Connection) -> None:
        assert ws.recv(WAIT) == "one"
        ws.close(4000, "enough")

    with running(reads_one_then_closes) as server:
        peer = RawPeer.connect(server.port, "/")
        peer.sock.sendall(
            client_frame(0x1, b"one") + client_frame(0x1, b"two") + client_frame(0x3, b"bad")
        )
        closed = peer.until(Close)
        assert isinstance(closed, Close) and (closed.code, closed.reason) == (4000, "enough")
        peer.read_to_eof()
        peer.close()
