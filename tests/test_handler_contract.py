"""The Handler API's contract, one suite run against both servers (issue 10).

Every test here runs once against the asyncio server and once against the
threading server, serving the same :class:`~wsproto_core.handlers.Handler` or
:class:`~wsproto_core.handlers.Router`, and drives it from the test thread with
the same client: :func:`wsproto_core.sync.connect`, or a blocking raw socket
when the bytes on the wire matter. Where the two servers legitimately differ,
the test says so in its expectations.

The hostile clients at the end (issue 10's list) assert memory and that the
connection ends, never timings: every wait is a bounded poll. To measure a
server's memory, those tests run it in a process of its own and read its RSS.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from contract_helpers import (
    ADAPTERS,
    WAIT,
    RunningServer,
    ServerProcess,
    client_frame,
    events_until,
    flood,
    handshake_request,
    handshake_with_frames,
    http_exchange,
    open_raw,
    read_until_end,
    run_server,
    wait_until,
    waits_for_io,
)
from contract_server import Sender
from sync_helpers import RawPeer, wait_for

from wsproto_core import asyncio as ws_asyncio
from wsproto_core import sync as ws_sync
from wsproto_core.events import BytesMessage, Close, Ping, Pong, TextMessage
from wsproto_core.examples import demo_router, read_page
from wsproto_core.handlers import Handler, Refuse, Router
from wsproto_core.sync import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeRejected,
    connect,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wsproto_core.handlers import HandlerConnection, Timer
    from wsproto_core.sync import Connection

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process's state in /proc"
)


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    """Which server the test runs against."""
    name: str = request.param
    return name


@pytest.fixture
def start_server(adapter: str) -> Iterator[Callable[..., RunningServer]]:
    """Start ``adapter``'s server for ``app`` (keyword arguments: ``serve()`` options).

    Each server runs in a background thread on 127.0.0.1, any free port; it is
    shut down at the end of the test.
    """
    with contextlib.ExitStack() as stack:

        def start(app: Handler | Router, **options: Any) -> RunningServer:
            return stack.enter_context(run_server(adapter, app, **options))

        yield start


def client(server: RunningServer, path: str = "/", **options: Any) -> Connection:
    """A threading client, keepalive off (the tests' own pings are explicit)."""
    options.setdefault("ping_interval", None)
    return connect(server.url(path), **options)


class Recorder(Handler):
    """Echoes every message and records each callback, from whichever thread calls it."""

    subprotocols = ("chat", "superchat")

    def __init__(self) -> None:
        self.connections: list[HandlerConnection] = []
        self.messages: list[str | bytes] = []
        self.disconnects: list[tuple[int, str]] = []

    def on_connect(self, conn: HandlerConnection) -> None:
        self.connections.append(conn)

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        self.messages.append(message)
        conn.send(message)

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        self.disconnects.append((close_code, reason))


def closed_by(ws: Connection, timeout: float = WAIT) -> ConnectionClosed:
    """Receive (dropping messages) until the connection closes; return the exception."""
    while True:
        try:
            ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed


# -- the opening handshake and on_connect ----------------------------------------------------


def test_on_connect_sees_the_request(start_server: Callable[..., RunningServer]) -> None:
    seen: dict[str, object] = {}

    class Inspector(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            seen.update(
                path=conn.path,
                query=conn.query,
                request_path=conn.request.path,
                user=conn.header("X-USER"),
                absent=conn.header("X-Absent", "default"),
                names={name.lower() for name, _ in conn.headers},
                offered=conn.offered_subprotocols,
                version=conn.protocol_version,
                remote=conn.remote_address,
                context=conn.context,
            )
            conn.context = f"user {conn.header('x-user')}"

        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.send(f"{conn.context}: {message!s}")

    server = start_server(Inspector())
    with client(
        server, "/room/1?name=ann", subprotocols=["x", "y"], extra_headers=[("X-User", "ann")]
    ) as ws:
        ws.send("hi")
        assert ws.recv(timeout=WAIT) == "user ann: hi"
        assert ws.subprotocol is None  # the handler speaks none of them
    assert seen["path"] == seen["request_path"] == "/room/1"
    assert seen["query"] == "name=ann"
    assert seen["user"] == "ann"
    assert seen["absent"] == "default"
    assert {"host", "upgrade", "x-user"} <= seen["names"]  # type: ignore[operator]
    assert seen["offered"] == ("x", "y")
    assert seen["version"] == 13
    assert seen["remote"][0] == "127.0.0.1"  # type: ignore[index]
    assert seen["context"] is None


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["superchat", "chat"], "chat"),  # the server's order of preference wins
        (["other", "superchat"], "superchat"),
        (["other"], None),  # accepted without a subprotocol
    ],
)
def test_the_handlers_preferred_subprotocol_is_chosen_before_on_connect(
    start_server: Callable[..., RunningServer], offered: list[str], chosen: str | None
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    with client(server, subprotocols=offered) as ws:
        assert ws.subprotocol == chosen
    assert recorder.connections[0].subprotocol == chosen


def test_on_connect_selects_a_subprotocol_and_adds_response_headers(
    start_server: Callable[..., RunningServer],
) -> None:
    notes: list[str] = []

    class Chooser(Recorder):
        def on_connect(self, conn: HandlerConnection) -> None:
            with contextlib.suppress(ValueError):
                conn.select_subprotocol("never-offered")
                notes.append("not refused")
            notes.append(str(conn.subprotocol))
            if "superchat" in conn.offered_subprotocols:
                conn.select_subprotocol("superchat")
            conn.response_headers.append(("X-Served-By", "chooser"))

    server = start_server(Chooser())
    with client(server, subprotocols=["chat", "superchat"]) as ws:
        assert ws.subprotocol == "superchat"
        assert ws.response is not None
        assert ("X-Served-By", "chooser") in ws.response.headers
    assert notes == ["chat"]  # the bad choice raised ValueError and changed nothing


def test_refuse_answers_with_its_status_headers_and_body(
    start_server: Callable[..., RunningServer],
) -> None:
    # Issue 10 (g): a 401 with WWW-Authenticate. Only a Handler's on_connect can refuse
    # today: a coroutine (asyncio) or function (threads) handler is called after the 101.
    recorder = Recorder()

    class Guarded(Recorder):
        def on_connect(self, conn: HandlerConnection) -> None:
            if conn.header("Authorization") != "Bearer good":
                raise Refuse(401, "log in first", [("WWW-Authenticate", 'Bearer realm="chat"')])
            recorder.on_connect(conn)

        def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
            recorder.on_disconnect(conn, close_code, reason)

    server = start_server(Guarded())
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(handshake_request(server.port, "/chat"))
        response, ending = read_until_end(sock)
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 401 ")
    assert b'WWW-Authenticate: Bearer realm="chat"' in lines
    assert b"Content-Type: text/plain; charset=utf-8" in lines
    assert body == b"log in first\n"
    assert ending == "eof"
    # The refused client was never connected: on_disconnect is for accepted ones only.
    with client(server, extra_headers=[("Authorization", "Bearer good")]):
        pass
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects == [(1000, "")]
    assert len(recorder.connections) == 1


def test_an_error_in_on_connect_refuses_with_500(
    start_server: Callable[..., RunningServer],
) -> None:
    class Broken(Recorder):
        def on_connect(self, conn: HandlerConnection) -> None:
            raise RuntimeError("on_connect bug")

    server = start_server(Broken())
    with pytest.raises(HandshakeRejected) as seen:
        client(server)
    assert seen.value.status == 500
    assert seen.value.body == b"Internal Server Error\n"


def test_close_in_on_connect_closes_right_after_the_handshake(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()

    class Closer(Recorder):
        def on_connect(self, conn: HandlerConnection) -> None:
            conn.close(4001, "not now")

        def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
            recorder.on_disconnect(conn, close_code, reason)

    server = start_server(Closer())
    with client(server) as ws:
        closed = closed_by(ws)
    assert (closed.code, closed.reason) == (4001, "not now")
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 4001


def test_each_route_applies_its_message_limit(start_server: Callable[..., RunningServer]) -> None:
    small, large = Recorder(), Recorder()
    router = Router()
    router.route("/small", small, max_message_size=1024)
    router.route("/large", large, max_message_size=10_000)
    server = start_server(router)
    with client(server, "/large") as ws:
        ws.send(b"x" * 5000)
        assert ws.recv(timeout=WAIT) == b"x" * 5000
    with client(server, "/small") as ws:
        ws.send("x" * 1024)
        assert ws.recv(timeout=WAIT) == "x" * 1024
        ws.send("x" * 1025)
        closed = closed_by(ws)
    assert isinstance(closed, ConnectionClosedError)
    assert closed.code == 1009
    wait_for(lambda: small.disconnects)
    assert small.disconnects[0][0] == 1009
    assert small.messages == ["x" * 1024]


def test_serve_max_message_size_applies_to_a_handler(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(Recorder(), max_message_size=10)
    with client(server) as ws:
        ws.send("x" * 10)
        assert ws.recv(timeout=WAIT) == "x" * 10
        ws.send("x" * 11)
        assert closed_by(ws).code == 1009


@pytest.mark.parametrize("version", [13, 8, 7])
def test_rfc6455_versions_are_served(
    start_server: Callable[..., RunningServer], version: int
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    with client(server, version=version) as ws:
        ws.send(f"v{version}")
        assert ws.recv(timeout=WAIT) == f"v{version}"
    assert recorder.connections[0].protocol_version == version


def test_a_draft76_client_is_served(start_server: Callable[..., RunningServer]) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    peer = RawPeer.connect(server.port, "/old", version="hixie-76")
    peer.conn.send_text("hybi-00")
    peer.flush()
    assert peer.until(TextMessage) == TextMessage("hybi-00")
    peer.conn.close()
    peer.flush()
    peer.until(Close)
    peer.close()
    assert recorder.connections[0].protocol_version == "hixie-76"


def test_a_draft75_client_is_refused_unless_allowed(
    start_server: Callable[..., RunningServer],
) -> None:
    default = start_server(Recorder())
    with pytest.raises(HandshakeRejected) as seen:
        client(default, version="hixie-75")
    assert seen.value.status == 400
    allowing = start_server(Recorder(), allow_draft75=True)
    with client(allowing, version="hixie-75") as ws:
        ws.send("seventy-five")
        assert ws.recv(timeout=WAIT) == "seventy-five"


def test_a_stalled_opening_handshake_is_cut_after_the_open_timeout(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(Recorder(), open_timeout=0.1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # and nothing more
        assert read_until_end(sock) == (b"", "eof")


# -- messages ------------------------------------------------------------------------------------


def test_text_is_echoed_as_text_and_binary_as_binary(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    with client(server) as ws:
        ws.send("héllo")
        ws.send(b"\x00\xff")
        assert [ws.recv(timeout=WAIT), ws.recv(timeout=WAIT)] == ["héllo", b"\x00\xff"]
    assert recorder.messages == ["héllo", b"\x00\xff"]


def test_a_fragmented_message_reaches_on_message_whole(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    peer = RawPeer.connect(server.port)
    peer.sock.sendall(
        client_frame(0x1, b"frag", fin=False)
        + client_frame(0x9, b"between")  # a control frame may come between fragments
        + client_frame(0x0, b"men", fin=False)
        + client_frame(0x0, b"ted")
    )
    assert events_until(peer, TextMessage) == [Pong(b"between"), TextMessage("fragmented")]
    peer.close()
    assert recorder.messages == ["fragmented"]


def test_a_message_over_16_mib_is_echoed(start_server: Callable[..., RunningServer]) -> None:
    payload = bytes(range(256)) * (17 * 4096)  # 17 MiB, under the default 32 MiB limit
    server = start_server(Recorder())
    with client(server) as ws:
        ws.send(payload)
        assert ws.recv(timeout=WAIT) == payload


def test_on_message_calls_come_one_at_a_time_in_arrival_order(
    start_server: Callable[..., RunningServer],
) -> None:
    overlaps: list[str | bytes] = []
    running = threading.Lock()

    class Careful(Recorder):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            if not running.acquire(blocking=False):
                overlaps.append(message)
                return
            try:
                super().on_message(conn, message)
            finally:
                running.release()

    recorder = Careful()
    server = start_server(recorder)
    with client(server) as ws:
        for n in range(100):
            ws.send(str(n))
        assert [ws.recv(timeout=WAIT) for _ in range(100)] == [str(n) for n in range(100)]
    assert recorder.messages == [str(n) for n in range(100)]
    assert overlaps == []


def test_an_error_in_on_message_closes_with_1011(
    start_server: Callable[..., RunningServer],
) -> None:
    class Fragile(Recorder):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            if message == "crash":
                raise RuntimeError("on_message bug")
            super().on_message(conn, message)

    recorder = Fragile()
    server = start_server(recorder)
    with client(server) as ws:
        ws.send("crash")
        closed = closed_by(ws)
    assert isinstance(closed, ConnectionClosedError)
    assert closed.code == 1011
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 1011
    with client(server) as ws:  # the server goes on serving
        ws.send("fine")
        assert ws.recv(timeout=WAIT) == "fine"


# -- the frames with the handshake, and the replies before a failure ----------------------------


def test_frames_in_the_same_write_as_the_handshake_are_echoed_in_order(
    start_server: Callable[..., RunningServer],
) -> None:
    frames = b"".join(client_frame(0x1, f"message {n}".encode()) for n in range(5))
    server = start_server(demo_router())
    peer = handshake_with_frames(server.port, "/echo", frames)
    for n in range(5):
        assert peer.until(TextMessage) == TextMessage(f"message {n}")
    peer.close()


def test_a_message_before_a_reserved_bit_frame_is_echoed_then_closed_1002(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(demo_router())
    peer = RawPeer.connect(server.port, "/echo")
    peer.sock.sendall(
        client_frame(0x1, b"Hello, world!")
        + client_frame(0x1, b"Hello, world!", rsv=0x20)
        + client_frame(0x9, b"after")
    )
    seen = events_until(peer, Close)
    assert seen[0] == TextMessage("Hello, world!")
    assert len(seen) == 2  # no pong for the ping after the bad frame
    assert isinstance(seen[1], Close) and seen[1].code == 1002
    peer.close()


def test_a_message_and_a_bad_frame_with_the_handshake_are_echoed_then_closed_1002(
    start_server: Callable[..., RunningServer],
) -> None:
    frames = client_frame(0x2, b"\x00early") + client_frame(0x3, b"reserved opcode")
    server = start_server(demo_router())
    peer = handshake_with_frames(server.port, "/echo", frames)
    seen = events_until(peer, Close)
    assert seen[0] == BytesMessage(b"\x00early")
    assert isinstance(seen[1], Close) and seen[1].code == 1002
    peer.close()


# -- closing -------------------------------------------------------------------------------------


def test_on_disconnect_gets_the_clients_close_code_and_reason(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    ws = client(server)
    ws.close(4002, "bye")
    assert ws.close_code == 4002
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects == [(4002, "bye")]


def test_on_disconnect_gets_1006_when_the_stream_ends_without_a_close(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    sock, _ = open_raw(server.port)
    wait_for(lambda: recorder.connections)
    sock.close()
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 1006


def test_the_handler_closes_with_its_code_and_reason(
    start_server: Callable[..., RunningServer],
) -> None:
    class Obedient(Recorder):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.close(4000, str(message))

    recorder = Obedient()
    server = start_server(recorder)
    with client(server) as ws:
        ws.send("asked to")
        closed = closed_by(ws)
    assert (closed.code, closed.reason) == (4000, "asked to")
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 4000


def test_the_handler_closes_from_another_thread(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    with client(server) as ws:
        wait_for(lambda: recorder.connections)
        conn = recorder.connections[0]
        thread = threading.Thread(target=conn.close, args=(4003, "from a thread"))
        thread.start()
        thread.join(WAIT)
        closed = closed_by(ws)
    assert (closed.code, closed.reason) == (4003, "from a thread")


def test_the_handler_sends_from_other_threads(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    with client(server) as ws:
        wait_for(lambda: recorder.connections)
        conn = recorder.connections[0]

        def send_many(t: int) -> None:
            for n in range(100):
                conn.send(f"{t}-{n}")

        threads = [threading.Thread(target=send_many, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        received = [ws.recv(timeout=WAIT) for _ in range(400)]
        for thread in threads:
            thread.join(WAIT)
    assert set(received) == {f"{t}-{n}" for t in range(4) for n in range(100)}
    for t in range(4):  # each thread's messages in its order
        assert [m for m in received if str(m).startswith(f"{t}-")] == [
            f"{t}-{n}" for n in range(100)
        ]


def test_a_send_after_close_is_dropped(start_server: Callable[..., RunningServer]) -> None:
    # The handler closes, then sends: once while TCP is still open (its close frame
    # queued, the peer's echo not yet in), once from on_disconnect. Neither raises, and
    # neither message reaches the peer: the close frame is the last thing on the wire.
    disconnected = threading.Event()
    errors: list[BaseException] = []

    class CloseThenSend(Handler):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.close(1000, "bye")
            try:
                conn.send("dropped while closing")
            except BaseException as error:
                errors.append(error)

        def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
            try:
                conn.send("dropped after disconnect")
            except BaseException as error:
                errors.append(error)
            disconnected.set()

    server = start_server(CloseThenSend())
    peer = RawPeer.connect(server.port)
    peer.conn.send_text("x")
    peer.flush()
    assert events_until(peer, Close) == [Close(1000, "bye")]
    peer.flush()  # the close echo
    peer.read_to_eof()
    peer.close()
    assert disconnected.wait(WAIT)
    assert peer.events == []
    assert errors == []


def test_a_client_that_never_answers_the_handlers_close_is_cut_after_the_close_timeout(
    start_server: Callable[..., RunningServer],
) -> None:
    class Closer(Recorder):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.close(4000, "go")

    recorder = Closer()
    server = start_server(recorder, close_timeout=0.2)
    peer = RawPeer.connect(server.port)
    peer.conn.send_text("close please")
    peer.flush()
    assert events_until(peer, Close) == [Close(4000, "go")]  # our echo is never written
    _, ending = read_until_end(peer.sock)
    peer.close()
    assert ending == "eof"
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 1006  # the closing handshake never finished


# -- keepalive -------------------------------------------------------------------------------


def test_keepalive_closes_a_client_that_never_answers_pings_with_1011(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder, ping_interval=0.05, ping_timeout=0.05, close_timeout=1)
    peer = RawPeer.connect(server.port)
    seen = events_until(peer, Close)  # the pings are never answered: nothing is flushed
    assert isinstance(seen[0], Ping)
    assert seen[-1] == Close(1011, "keepalive ping timeout", by_peer=True)
    _, ending = read_until_end(peer.sock)
    peer.close()
    assert ending == "eof"
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 1006  # the closing handshake never finished


def test_keepalive_keeps_a_client_that_answers_pings(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder, ping_interval=0.02, ping_timeout=WAIT)
    peer = RawPeer.connect(server.port)
    for _ in range(3):
        peer.until(Ping)
        peer.flush()  # the pong
    peer.conn.send_text("still here")
    peer.flush()
    assert peer.until(TextMessage) == TextMessage("still here")
    assert recorder.disconnects == []
    peer.close()


# -- call_every ---------------------------------------------------------------------------------


class Ticker(Recorder):
    """Ticks every 10 ms for each connection, counting per connection (named by the query)."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: dict[str, int] = {}
        self.at_disconnect: dict[str, int] = {}
        self.tick_threads: set[threading.Thread] = set()
        self.message_threads: set[threading.Thread] = set()

    def on_connect(self, conn: HandlerConnection) -> None:
        super().on_connect(conn)
        self.ticks[conn.query] = 0
        self.start(conn)

    def start(self, conn: HandlerConnection) -> Timer:
        def tick() -> None:
            self.tick_threads.add(threading.current_thread())
            self.ticks[conn.query] += 1

        return conn.call_every(0.01, tick)

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        self.message_threads.add(threading.current_thread())
        super().on_message(conn, message)

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        self.at_disconnect[conn.query] = self.ticks[conn.query]
        super().on_disconnect(conn, close_code, reason)


def test_call_every_ticks_until_the_connection_closes(
    start_server: Callable[..., RunningServer],
) -> None:
    ticker = Ticker()
    server = start_server(ticker)
    with client(server, "/?witness"):
        with client(server, "/?closing"):
            wait_for(lambda: ticker.ticks["closing"] >= 3)
        wait_for(lambda: "closing" in ticker.at_disconnect)
        # A timer left running would tick along with the witness's.
        seen = ticker.ticks["witness"]
        wait_for(lambda: ticker.ticks["witness"] >= seen + 5)
    assert ticker.ticks["closing"] == ticker.at_disconnect["closing"]


def test_a_call_every_timer_can_be_cancelled(start_server: Callable[..., RunningServer]) -> None:
    class Once(Ticker):
        def start(self, conn: HandlerConnection) -> Timer:
            if conn.query == "witness":
                return super().start(conn)

            def tick() -> None:
                self.ticks[conn.query] += 1
                timer.cancel()
                timer.cancel()  # a second call does nothing

            timer = conn.call_every(0.01, tick)
            return timer

    ticker = Once()
    server = start_server(ticker)
    with client(server, "/?witness"), client(server, "/?once"):
        wait_for(lambda: ticker.ticks["once"] == 1)
        seen = ticker.ticks["witness"]
        wait_for(lambda: ticker.ticks["witness"] >= seen + 5)
        assert ticker.ticks["once"] == 1


def test_call_every_runs_on_the_thread_that_runs_on_message(
    adapter: str, start_server: Callable[..., RunningServer]
) -> None:
    # Issue 10 (f). The docs (handlers.HandlerConnection.call_every, howto/handlers):
    # asyncio runs callbacks on the loop; threading on the connection's reader thread,
    # never at the same time as on_message.
    ticker = Ticker()
    server = start_server(ticker)
    with client(server, "/?a") as a, client(server, "/?b") as b:
        for ws in (a, b):
            ws.send("where")
            assert ws.recv(timeout=WAIT) == "where"
        wait_for(lambda: ticker.ticks["a"] >= 2 and ticker.ticks["b"] >= 2)
    assert ticker.tick_threads == ticker.message_threads
    assert threading.current_thread() not in ticker.tick_threads
    # One thread for every connection (the loop's), or one thread each.
    assert len(ticker.tick_threads) == {"asyncio": 1, "threading": 2}[adapter]


@linux_only
def test_call_every_from_another_thread_ticks_on_an_idle_connection(
    adapter: str, start_server: Callable[..., RunningServer]
) -> None:
    # Documented (HandlerConnection.call_every, threads): a timer added from another
    # thread while the connection's thread waits for bytes starts when that thread
    # next wakes up, here on the client's next message; asyncio's loop starts it at once.
    class Idle(Ticker):
        def on_connect(self, conn: HandlerConnection) -> None:
            Recorder.on_connect(self, conn)
            self.ticks[conn.query] = 0

    ticker = Idle()
    server = start_server(ticker, ping_interval=None)  # nothing else wakes the server up
    with client(server, "/?idle") as ws:
        ws.send("first")
        assert ws.recv(timeout=WAIT) == "first"
        (server_thread,) = ticker.message_threads
        wait_for(lambda: waits_for_io(server_thread))  # idle: it waits for bytes
        ticker.start(ticker.connections[0])  # from the test's thread
        if adapter == "threading":
            ws.send("wake up")
            assert ws.recv(timeout=WAIT) == "wake up"
        ticked = wait_until(lambda: ticker.ticks["idle"] >= 3, timeout=WAIT)
    assert ticked
    assert ticker.tick_threads == ticker.message_threads


def test_an_error_in_a_call_every_callback_closes_with_1011(
    start_server: Callable[..., RunningServer],
) -> None:
    class Faulty(Recorder):
        def on_connect(self, conn: HandlerConnection) -> None:
            super().on_connect(conn)

            def tick() -> None:
                raise RuntimeError("timer bug")

            conn.call_every(0.01, tick)

    recorder = Faulty()
    server = start_server(recorder)
    with client(server) as ws:
        closed = closed_by(ws, timeout=5)
    assert isinstance(closed, ConnectionClosedError)
    assert closed.code == 1011
    wait_for(lambda: recorder.disconnects)
    assert recorder.disconnects[0][0] == 1011


# -- the router -----------------------------------------------------------------------------


def test_the_router_routes_by_path(start_server: Callable[..., RunningServer]) -> None:
    server = start_server(demo_router(increment_interval=0.005))
    with client(server, "/echo") as ws:
        ws.send("echo me")
        assert ws.recv(timeout=WAIT) == "echo me"
    with client(server, "/dumb-increment", subprotocols=["dumb-increment-protocol"]) as ws:
        assert ws.subprotocol == "dumb-increment-protocol"
        assert [ws.recv(timeout=WAIT) for _ in range(3)] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("path", "origin", "status"),
    [
        ("/nowhere", None, 404),
        ("/private", "https://evil.example", 403),
        ("/private", None, 403),
        ("/dumb-increment", None, 403),  # the handler refuses: no subprotocol offered
    ],
)
def test_the_router_refuses_a_websocket_request(
    start_server: Callable[..., RunningServer], path: str, origin: str | None, status: int
) -> None:
    router = demo_router()
    router.route("/private", Recorder(), allowed_origins=["https://ok.example"])
    server = start_server(router)
    with pytest.raises(HandshakeRejected) as seen:
        client(server, path, origin=origin)
    assert seen.value.status == status
    with client(server, "/private", origin="https://ok.example") as ws:
        ws.send("ok")
        assert ws.recv(timeout=WAIT) == "ok"


@pytest.mark.parametrize(
    ("method", "path", "status", "header"),
    [
        ("GET", "/", 200, b"Content-Type: text/html; charset=utf-8"),
        ("HEAD", "/", 200, b"Content-Type: text/html; charset=utf-8"),
        ("GET", "/style.css", 200, b"Content-Type: text/css; charset=utf-8"),
        ("GET", "/echo", 426, b"Upgrade: websocket"),
        ("POST", "/", 405, b"Allow: GET, HEAD"),
        ("GET", "/favicon.ico", 204, None),
        ("GET", "/nowhere", 404, None),
    ],
)
def test_the_router_answers_plain_http(
    start_server: Callable[..., RunningServer],
    method: str,
    path: str,
    status: int,
    header: bytes | None,
) -> None:
    server = start_server(demo_router())
    request = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    got, head, body, ending = http_exchange(server.port, request.encode())
    assert got == status
    if header is not None:
        assert header in head.split(b"\r\n")
    assert ending == "eof"
    if status == 200:
        page = read_page({"/": "index.html", "/style.css": "style.css"}[path])
        assert f"Content-Length: {len(page)}".encode() in head.split(b"\r\n")
        assert body == (b"" if method == "HEAD" else page)


def test_dumb_increment_counts_resets_and_closes_with_1001(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(demo_router(increment_interval=0.005))
    with client(server, "/dumb-increment", subprotocols=["dumb-increment-protocol"]) as ws:
        assert [ws.recv(timeout=WAIT) for _ in range(5)] == ["0", "1", "2", "3", "4"]
        ws.send("reset\n")
        after = [int(ws.recv(timeout=WAIT)) for _ in range(50)]
        restart = after.index(0)  # numbers sent before the reset arrived come first
        assert after[restart : restart + 3] == [0, 1, 2]
        ws.send("closeme\n")
        closed = closed_by(ws)
    assert isinstance(closed, ConnectionClosedOK)
    assert closed.code == 1001


# -- shutdown -------------------------------------------------------------------------------


def test_shutdown_closes_every_client_with_1001(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder)
    clients = [client(server) for _ in range(3)]
    wait_for(lambda: len(recorder.connections) == 3)
    server.shutdown()
    for ws in clients:
        closed = closed_by(ws)
        assert isinstance(closed, ConnectionClosedOK)
        assert closed.code == 1001
    assert [code for code, _ in recorder.disconnects] == [1001] * 3
    assert server.connection_count() == 0


def test_shutdown_cuts_a_client_that_never_answers_the_close(
    start_server: Callable[..., RunningServer],
) -> None:
    recorder = Recorder()
    server = start_server(recorder, close_timeout=0.05)
    peer = RawPeer.connect(server.port)
    wait_for(lambda: recorder.connections)
    server.shutdown()
    assert events_until(peer, Close) == [Close(1001, "server shutting down")]
    _, ending = read_until_end(peer.sock)
    peer.close()
    assert ending == "eof"
    assert len(recorder.disconnects) == 1


def test_shutdown_cuts_a_client_still_in_its_handshake(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(Recorder())
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        wait_for(lambda: server.connection_count() == 1)
        server.shutdown()
        assert read_until_end(sock) == (b"", "eof")


def test_shutdown_stops_accepting(start_server: Callable[..., RunningServer]) -> None:
    server = start_server(Recorder())
    server.shutdown()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)


def test_serve_refuses_something_that_is_neither_a_handler_nor_callable(adapter: str) -> None:
    serve: Any = {"asyncio": ws_asyncio.serve, "threading": ws_sync.serve}[adapter]

    def serve_a_number() -> None:
        server = serve(42, "127.0.0.1", 0)
        if adapter == "threading":  # not refused: close the listening socket
            server.shutdown()

    with pytest.raises(TypeError, match="cannot serve"):
        serve_a_number()


# -- hostile clients (issue 10) --------------------------------------------------------------
#
# The memory tests run the server in a process of its own and read its peak RSS
# (ServerProcess); the baseline is taken before the client connects, so the growth
# includes what the connection itself costs. The kernel's socket buffers are not in
# the RSS: a client that never reads shrinks its receive buffer, so the kernel holds
# little of what the server sends and the rest has to be held, or not, by the server.
#
# The tests of the end run the server in a thread, to see on_disconnect.

MEMORY_BOUND = 8 * MiB
"""The most a server may grow against one hostile client: its write limit and a few messages."""

SMALL_BUFFER = 64 * 1024
"""The receive buffer of a client that never reads."""

KEEPALIVE = {"ping_interval": 0.3, "ping_timeout": 0.3, "close_timeout": 0.5}
"""Tests of the end: a client that never reads never answers a ping either."""

GIVE_UP = 60.0
"""How long those tests wait for the server to give up on such a client: about a
second normally (interval, timeout, close timeout), several on a loaded machine; the
wait ends as soon as it does, so this is only the bound of a server that never does."""


class Echo(Recorder):
    """Echoes without keeping the messages (a flood of them would fill the test's memory)."""

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        conn.send(message)


def megabytes(size: int) -> str:
    return f"{size / MiB:.1f} MiB"


@linux_only
def test_an_echo_flood_from_a_client_that_never_reads_keeps_memory_bounded(adapter: str) -> None:
    # Issue 10 (a): 1 MiB echo requests, never reading. The server may hold its write
    # limit and a few messages; then it has to stop reading, and the client's sends block.
    request = client_frame(0x2, b"x" * MiB)
    with ServerProcess(adapter, "echo") as server:
        baseline = server.mark()
        sock, _ = open_raw(server.port, receive_buffer=SMALL_BUFFER)
        sent, why = flood(
            sock, request, 64 * MiB, stop=lambda: server.peak() - baseline > MEMORY_BOUND
        )
        growth = server.peak() - baseline
        sock.close()
    # Why the flood ended does not matter (blocked, cut, all sent): what it cost does.
    assert growth <= MEMORY_BOUND, f"grew {megabytes(growth)} after {megabytes(sent)} sent ({why})"


def test_an_echo_flood_from_a_client_that_never_reads_is_cut(
    start_server: Callable[..., RunningServer],
) -> None:
    # Issue 10 (a): with keepalive on, a client that never reads never answers a ping:
    # the server must give up on it, whatever it is doing.
    echo = Echo()
    server = start_server(echo, **KEEPALIVE)
    request = client_frame(0x2, b"x" * MiB)
    sock, _ = open_raw(server.port, receive_buffer=SMALL_BUFFER)
    flood(sock, request, 64 * MiB, stop=lambda: bool(echo.disconnects))
    ended = wait_until(lambda: echo.disconnects, timeout=GIVE_UP)
    _, ending = read_until_end(sock, timeout=WAIT if ended else 1)
    sock.close()
    assert ended, "the server still holds the connection"
    assert ending in ("eof", "reset")


@linux_only
def test_a_ping_flood_from_a_client_that_never_reads_keeps_memory_bounded(adapter: str) -> None:
    # Issue 10 (b): pings with 125-byte payloads, never reading the pongs.
    ping = client_frame(0x9, b"p" * 125)
    pings = ping * (MiB // len(ping))
    with ServerProcess(adapter, "echo") as server:
        baseline = server.mark()
        sock, _ = open_raw(server.port, receive_buffer=SMALL_BUFFER)
        sent, why = flood(
            sock, pings, 64 * MiB, stop=lambda: server.peak() - baseline > MEMORY_BOUND
        )
        growth = server.peak() - baseline
        sock.close()
    # Why the flood ended does not matter (blocked, cut, all sent): what it cost does.
    assert growth <= MEMORY_BOUND, f"grew {megabytes(growth)} after {megabytes(sent)} sent ({why})"


FRAGMENTS = 200_000


@linux_only
@pytest.mark.parametrize(
    "fragments",
    [
        1,  # the control: the same message in one frame
        FRAGMENTS,
    ],
)
def test_a_message_in_one_byte_fragments_is_echoed_in_bounded_memory(
    adapter: str, fragments: int
) -> None:
    # Issue 10 (c): 200,000 fragments of one byte. The server may grow by twice the
    # payload, and a little for its reads and the connection.
    payload = bytes(n % 251 for n in range(FRAGMENTS))
    if fragments == 1:
        frames = client_frame(0x2, payload)
    else:
        key = b"\x5a\xa5\x0f\xf0"
        last = FRAGMENTS - 1
        frames = b"".join(
            bytes(((0x80 if n == last else 0) | (0x2 if n == 0 else 0x0), 0x81))
            + key
            + bytes((payload[n] ^ key[0],))
            for n in range(FRAGMENTS)
        )
    with ServerProcess(adapter, "echo") as server:
        baseline = server.mark()
        sock, received = open_raw(server.port)
        sock.sendall(frames)
        echo = bytearray(received)
        while len(echo) < 10 + FRAGMENTS:
            chunk = sock.recv(65536)
            assert chunk, "EOF before the echo"
            echo += chunk
        growth = server.peak() - baseline
        sock.close()
    assert echo[:2] == b"\x82\x7f"  # unmasked binary, FIN, 64-bit length
    assert struct.unpack("!Q", echo[2:10])[0] == FRAGMENTS
    assert echo[10:] == payload
    assert growth <= 2 * FRAGMENTS + MiB, f"grew {megabytes(growth)}"


@linux_only
def test_a_handler_sending_to_a_client_that_never_reads_keeps_memory_bounded(
    adapter: str,
) -> None:
    # Issue 10 (d): 50,000 messages of 1 KiB from a call_every tick. The sender may
    # wait, or the connection may fail (1008/1013): either way memory stays bounded.
    with ServerProcess(adapter, "sender") as server:
        baseline = server.mark()
        sock, _ = open_raw(server.port, receive_buffer=SMALL_BUFFER)
        settle(server, lambda: server.peak() - baseline > MEMORY_BOUND)
        growth = server.peak() - baseline
        sent, done = server.sent()
        sock.close()
    assert growth <= MEMORY_BOUND, f"grew {megabytes(growth)}; {sent} messages sent, done: {done}"


def settle(server: ServerProcess, over: Callable[[], bool]) -> None:
    """Wait until the sender is done, sent nothing for 2 s (it waits), ``over()``, or 8 s."""
    deadline = time.monotonic() + 8
    last, changed = -1, time.monotonic()
    while time.monotonic() < deadline:
        count, done = server.sent()
        if done or over():
            return
        if count != last:
            last, changed = count, time.monotonic()
        elif time.monotonic() - changed > 2:
            return  # stalled: the sender waits for the client to read
        time.sleep(0.01)


class RecordingSender(Sender):
    """:class:`contract_server.Sender`, recording its disconnect."""

    def __init__(self) -> None:
        super().__init__()
        self.disconnects: list[tuple[int, str]] = []

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        self.disconnects.append((close_code, reason))


def test_a_handler_sending_to_a_client_that_never_reads_ends(
    start_server: Callable[..., RunningServer],
) -> None:
    # Issue 10 (d): the client never reads, so it never answers a ping either.
    sender = RecordingSender()
    server = start_server(sender, **KEEPALIVE)
    sock, _ = open_raw(server.port, receive_buffer=SMALL_BUFFER)
    ended = wait_until(lambda: sender.disconnects, timeout=GIVE_UP)
    sent = sender.sent
    _, ending = read_until_end(sock, timeout=WAIT if ended else 1)
    sock.close()
    assert ended, f"the server still holds the connection ({sent} messages sent)"
    assert ending in ("eof", "reset")


def test_a_431_reaches_a_client_that_keeps_sending_with_a_clean_eof(
    start_server: Callable[..., RunningServer],
) -> None:
    # Issue 10 (e): a request head over 16 KiB, bytes behind it, more bytes after the
    # response arrived: the client reads the whole response, then the server's FIN.
    server = start_server(Recorder())
    filler = "X-Filler: " + "a" * 20_000 + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(handshake_request(server.port, "/", filler) + b"z" * 65536)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            assert chunk, f"EOF in the response head: {head!r}"
            head += chunk
        sock.sendall(b"z" * 65536)  # the server still reads (and drops) what comes
        body, ending = read_until_end(sock)
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"Content-Length"))
    assert len(body) == length
    assert ending == "eof"
