"""The asyncio server over real loopback sockets: messages, limits, timeouts, shutdown."""

from __future__ import annotations

import asyncio
import threading
import tracemalloc

import pytest
from asyncio_helpers import RawClient, async_test, until

from wsproto_core.asyncio import (
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeRejected,
    Server,
    WebSocket,
    connect,
    serve,
)
from wsproto_core.events import BytesMessage, Close, Ping, TextMessage
from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Handler, HandlerConnection, Refuse, Router


async def echo(ws: WebSocket) -> None:
    async for message in ws:
        await ws.send(message)


def url(server: Server, path: str = "/") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


class Recorder(Handler):
    """Records every callback; echoes messages."""

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.closed: asyncio.Future[tuple[int, str]] | None = None
        self.connected = asyncio.Event()
        self.conn: HandlerConnection | None = None

    def on_connect(self, conn: HandlerConnection) -> None:
        self.closed = asyncio.get_running_loop().create_future()
        self.conn = conn
        self.connected.set()

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        self.messages.append(message)
        conn.send(message)

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        assert self.closed is not None
        self.closed.set_result((close_code, reason))


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["coroutine", "handler"])
@async_test
async def test_text_message_is_echoed(mode: str) -> None:
    handler = echo if mode == "coroutine" else EchoHandler()
    async with serve(handler, port=0) as server, connect(url(server)) as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"


@pytest.mark.parametrize("mode", ["coroutine", "handler"])
@async_test
async def test_binary_message_is_echoed_as_binary(mode: str) -> None:
    handler = echo if mode == "coroutine" else EchoHandler()
    async with serve(handler, port=0) as server, connect(url(server)) as ws:
        await ws.send(b"\x00\xff")
        assert await ws.recv() == b"\x00\xff"


@async_test
async def test_fragmented_message_arrives_whole() -> None:
    async with serve(echo, port=0) as server, connect(url(server)) as ws:
        await ws.send(["frag", "men", "ted"])
        assert await ws.recv() == "fragmented"


@async_test
async def test_message_over_16_mib_is_echoed() -> None:
    payload = bytes(range(256)) * (17 * 4096)  # 17 MiB
    server = await serve(EchoHandler(), port=0)
    async with server, connect(url(server)) as ws:
        await ws.send(payload)
        assert await ws.recv() == payload


@async_test
async def test_message_over_the_route_limit_closes_with_1009() -> None:
    router = Router()
    handler = Recorder()
    router.route("/small", handler, max_message_size=1024)
    async with serve(router, port=0) as server:
        async with connect(url(server, "/small")) as ws:
            await ws.send("x" * 1024)
            assert await ws.recv() == "x" * 1024
            await ws.send("x" * 1025)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.code == 1009
        assert handler.closed is not None
        assert (await handler.closed)[0] == 1009


@async_test
async def test_serve_max_message_size_applies_in_coroutine_mode() -> None:
    async with serve(echo, port=0, max_message_size=10) as server, connect(url(server)) as ws:
        await ws.send("x" * 11)
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert info.value.code == 1009


# --- ping, pong, close ----------------------------------------------------------------------------


@async_test
async def test_client_ping_is_answered() -> None:
    async with serve(echo, port=0) as server, connect(url(server)) as ws:
        waiter = await ws.ping(b"abc")
        assert await waiter >= 0


@async_test
async def test_server_ping_is_answered_by_the_client() -> None:
    latencies: list[float] = []

    async def pinger(ws: WebSocket) -> None:
        latencies.append(await (await ws.ping()))

    async with serve(pinger, port=0) as server, connect(url(server)) as ws:
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
    assert len(latencies) == 1


@async_test
async def test_client_close_is_reported_to_the_handler_with_its_code() -> None:
    handler = Recorder()
    async with serve(handler, port=0) as server:
        ws = await connect(url(server))
        await ws.close(4001, "done here")
        assert ws.close_code == 4001
        assert handler.closed is not None
        assert await handler.closed == (4001, "done here")


@async_test
async def test_server_close_reaches_the_client() -> None:
    async def closer(ws: WebSocket) -> None:
        await ws.close(4002, "bye")

    async with serve(closer, port=0) as server, connect(url(server)) as ws:
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert (info.value.code, info.value.reason) == (4002, "bye")


@async_test
async def test_returning_from_a_coroutine_handler_closes_with_1000() -> None:
    async def quick(ws: WebSocket) -> None:
        return None

    async with serve(quick, port=0) as server, connect(url(server)) as ws:
        with pytest.raises(ConnectionClosedOK) as info:
            await ws.recv()
        assert info.value.code == 1000


@async_test
async def test_abrupt_eof_is_reported_as_1006() -> None:
    handler = Recorder()
    async with serve(handler, port=0) as server:
        raw = await RawClient.open(server.port)
        await handler.connected.wait()
        raw.writer.transport.abort()
        assert handler.closed is not None
        assert (await handler.closed)[0] == 1006


@async_test
async def test_failing_coroutine_handler_closes_with_1011() -> None:
    async def broken(ws: WebSocket) -> None:
        raise RuntimeError("boom")

    async with serve(broken, port=0) as server, connect(url(server)) as ws:
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert info.value.code == 1011


# --- timeouts -------------------------------------------------------------------------------------


@async_test
async def test_peer_that_stops_answering_pings_is_closed_with_1011() -> None:
    async with serve(echo, port=0, ping_interval=0.05, ping_timeout=0.05) as server:
        raw = await RawClient.open(server.port)
        await raw.until(Ping)  # never answered: data_to_send() is not written
        close = await raw.until(Close)
        assert close.code == 1011
        assert await raw.eof() == b""
        raw.close()


@async_test
async def test_peer_that_answers_pings_stays_connected() -> None:
    # Three keepalive pings, each answered (the core queues the pong; flush writes it),
    # then the connection still echoes.
    async with serve(echo, port=0, ping_interval=0.02, ping_timeout=5) as server:
        raw = await RawClient.open(server.port)
        for _ in range(3):
            await raw.until(Ping)
            await raw.flush()
        raw.conn.send_text("still here")
        await raw.flush()
        assert (await raw.until(TextMessage)).data == "still here"
        raw.close()


@async_test
async def test_stalled_opening_handshake_is_cut_after_the_open_timeout() -> None:
    async with serve(echo, port=0, open_timeout=0.1) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        assert await reader.read() == b""
        writer.close()


@async_test
async def test_peer_that_never_answers_the_close_is_cut_after_the_close_timeout() -> None:
    async def closer(ws: WebSocket) -> None:
        await ws.close()

    async with serve(closer, port=0, close_timeout=0.1) as server:
        raw = await RawClient.open(server.port)
        await raw.until(Close)  # the echo is owed but never written
        assert await raw.eof() == b""
        raw.close()


# --- graceful shutdown ---------------------------------------------------------------------------


@async_test
async def test_server_close_sends_1001_to_every_client_and_waits() -> None:
    server = await serve(EchoHandler(), port=0)
    address = url(server)
    clients = [await connect(address) for _ in range(3)]
    server.close()
    for ws in clients:
        with pytest.raises(ConnectionClosedOK) as info:
            await ws.recv()
        assert info.value.code == 1001
    await server.wait_closed()
    assert server.connections == frozenset()
    with pytest.raises(OSError):
        await connect(address)


@async_test
async def test_server_close_cuts_clients_that_do_not_answer_within_the_close_timeout() -> None:
    server = await serve(echo, port=0, close_timeout=0.1)
    raw = await RawClient.open(server.port)
    await until(lambda: server.connections)
    server.close()
    close = await raw.until(Close)
    assert close.code == 1001
    await server.wait_closed()
    assert await raw.eof() == b""
    raw.close()


@async_test
async def test_cancelling_serve_forever_shuts_down_gracefully() -> None:
    server = await serve(echo, port=0)
    task = asyncio.get_running_loop().create_task(server.serve_forever())
    ws = await connect(url(server))
    task.cancel()
    with pytest.raises(ConnectionClosedOK) as info:
        await ws.recv()
    assert info.value.code == 1001
    with pytest.raises(asyncio.CancelledError):
        await task


# --- flow control -------------------------------------------------------------------------------


@async_test
async def test_send_holds_the_write_buffer_flat_against_a_slow_reader() -> None:
    limit = 64 * 1024
    buffered: list[int] = []
    sent = 0

    async def flood(ws: WebSocket) -> None:
        nonlocal sent
        transport = ws._transport
        assert transport is not None
        for _ in range(2000):
            await ws.send(b"x" * 4096)
            sent += 1
            buffered.append(transport.get_write_buffer_size())

    async with serve(flood, port=0, write_limit=limit) as server:
        raw = await RawClient.open(server.port)
        # The client reads nothing: the kernel's buffers fill, then the transport's,
        # and the handler's send waits.
        await until(lambda: [ws for ws in server.connections if ws._writing_paused])
        assert 0 < sent < 2000
        assert max(buffered) <= limit + 4096 + 16
        # Reading everything lets the handler finish: send waited, it did not fail.
        await raw.discard_until(lambda: sent == 2000)
        assert max(buffered) <= limit + 4096 + 16
        raw.close()


@async_test
async def test_compressed_messages_wait_compressed_while_the_queue_is_full() -> None:
    """300 messages of 1 MiB of zeros, about 1 KiB each on the wire, to a server that
    does not read yet: at most the queue is inflated, never a whole read of them
    (about 256 of them, 256 MiB, before the core's decode budget); all arrive after."""
    count, size = 300, 2**20
    go = asyncio.Event()
    holder: list[WebSocket] = []
    received: list[bytes] = []

    async def late_reader(ws: WebSocket) -> None:
        holder.append(ws)
        await go.wait()
        received.extend([await ws.recv() for _ in range(count)])  # type: ignore[misc]

    server = await serve(late_reader, port=0, max_queue=4, max_message_size=size)
    async with server, connect(url(server)) as ws:
        assert [e.name for e in ws.extensions] == ["permessage-deflate"]
        tracemalloc.start()
        try:
            for index in range(count):
                await ws.send(index.to_bytes(2, "big") + bytes(size - 2))
            # Paused: the server took a read (up to 256 KiB: about 250 of the messages)
            # and handled what it decoded of it.
            await until(lambda: holder and holder[0]._reading_paused)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(holder[0]._messages or ()) <= 4
        # The queue (4 MiB), a message being inflated and the compressed bytes: not 256 MiB.
        assert peak < 24 * size, f"peak {peak / size:.1f} MiB"
        go.set()
        await until(lambda: len(received) == count)
    assert [int.from_bytes(m[:2], "big") for m in received] == list(range(count))
    assert all(len(m) == size and not any(m[2:]) for m in received)


@async_test
async def test_reading_pauses_when_the_receive_queue_is_full() -> None:
    started = asyncio.Event()
    holder: list[WebSocket] = []

    async def idle(ws: WebSocket) -> None:
        holder.append(ws)
        started.set()
        await asyncio.sleep(10)

    server = await serve(idle, port=0, max_queue=4, close_timeout=0.1)
    # Uncompressed: 5 MB of messages fill the kernel's buffers (see the test below for
    # compressed ones).
    async with server, connect(url(server), close_timeout=0.1, compression=None) as ws:
        await started.wait()

        async def flood() -> None:
            for _ in range(5000):
                await ws.send(b"y" * 1024)

        sender = asyncio.get_running_loop().create_task(flood())
        await until(lambda: holder[0]._reading_paused)
        # The bound plus at most one read of the transport (256 KiB) past it.
        assert len(holder[0]._messages or ()) <= 4 + 256
        assert not sender.done()  # the client's sends wait on TCP backpressure
        sender.cancel()


@async_test
async def test_recv_resumes_reading_once_the_queue_drains() -> None:
    release = asyncio.Event()

    async def slow(ws: WebSocket) -> None:
        await release.wait()
        async for message in ws:
            await ws.send(message)

    async with serve(slow, port=0, max_queue=2) as server, connect(url(server)) as ws:
        for i in range(50):
            await ws.send(str(i))
        release.set()
        assert [await ws.recv() for _ in range(50)] == [str(i) for i in range(50)]


@async_test
async def test_concurrent_recv_is_refused() -> None:
    async with serve(echo, port=0) as server, connect(url(server)) as ws:
        first = asyncio.get_running_loop().create_task(ws.recv())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already waiting"):
            await ws.recv()
        first.cancel()


# --- sending from elsewhere -----------------------------------------------------------------------


@async_test
async def test_handler_send_from_another_thread() -> None:
    handler = Recorder()
    async with serve(handler, port=0) as server, connect(url(server)) as ws:
        await handler.connected.wait()
        conn = handler.conn
        assert conn is not None
        thread = threading.Thread(target=lambda: conn.send("from a thread"))
        thread.start()
        thread.join()
        assert await ws.recv() == "from a thread"


@async_test
async def test_handler_close_from_another_thread() -> None:
    handler = Recorder()
    async with serve(handler, port=0) as server, connect(url(server)) as ws:
        await handler.connected.wait()
        conn = handler.conn
        assert conn is not None
        thread = threading.Thread(target=lambda: conn.close(4000, "thread"))
        thread.start()
        thread.join()
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert info.value.code == 4000


@async_test
async def test_send_from_another_task() -> None:
    async def two_tasks(ws: WebSocket) -> None:
        other = asyncio.get_running_loop().create_task(ws.send("from a task"))
        await other
        await ws.recv()

    async with serve(two_tasks, port=0) as server, connect(url(server)) as ws:
        assert await ws.recv() == "from a task"


@async_test
async def test_send_after_close_raises_connection_closed() -> None:
    async with serve(echo, port=0) as server:
        ws = await connect(url(server))
        await ws.close()
        with pytest.raises(ConnectionClosedOK):
            await ws.send("late")


@async_test
async def test_handler_send_after_close_is_dropped() -> None:
    # The handler closes, then sends: once while TCP is still open (its close frame
    # queued, the peer's echo not yet in), once from on_disconnect. Neither raises, and
    # neither message reaches the peer: the close frame is the last thing on the wire.
    disconnected = asyncio.Event()

    class CloseThenSend(Handler):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.close(1000, "bye")
            conn.send("dropped while closing")

        def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
            conn.send("dropped after disconnect")
            disconnected.set()

    async with serve(CloseThenSend(), port=0) as server:
        raw = await RawClient.open(server.port)
        raw.conn.send_text("x")
        await raw.flush()
        events = await raw.events_until(Close)
        assert [type(event) for event in events] == [Close]
        await raw.flush()  # the close echo
        await disconnected.wait()
        assert await raw.eof() == b""
        raw.close()


# --- legacy drafts ------------------------------------------------------------------------------


@async_test
async def test_draft76_client_is_echoed() -> None:
    async with serve(EchoHandler(), port=0) as server:
        raw = await RawClient.open(server.port, "/echo", version="hixie-76")
        raw.conn.send_text("old but gold")
        await raw.flush()
        message = await raw.until(TextMessage)
        assert message.data == "old but gold"
        raw.conn.close()
        await raw.flush()
        await raw.until(Close)
        raw.close()


@async_test
async def test_draft75_client_is_refused_by_default() -> None:
    async with serve(EchoHandler(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server), version="hixie-75")
        assert info.value.status == 400


@async_test
async def test_draft75_client_is_served_when_allowed() -> None:
    server = await serve(EchoHandler(), port=0, allow_draft75=True)
    async with server, connect(url(server), version="hixie-75") as ws:
        await ws.send("seventy-five")
        assert await ws.recv() == "seventy-five"


# --- handler semantics --------------------------------------------------------------------------


@async_test
async def test_async_callbacks_are_serialized_in_arrival_order() -> None:
    seen: list[str] = []

    class Slow(Handler):
        async def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            assert isinstance(message, str)
            await asyncio.sleep(0.01 if int(message) % 2 else 0)
            seen.append(message)
            conn.send(message)

    async with serve(Slow(), port=0) as server, connect(url(server)) as ws:
        for i in range(10):
            await ws.send(str(i))
        assert [await ws.recv() for _ in range(10)] == [str(i) for i in range(10)]
    assert seen == [str(i) for i in range(10)]


@async_test
async def test_async_on_connect_can_refuse() -> None:
    class Picky(Handler):
        async def on_connect(self, conn: HandlerConnection) -> None:
            await asyncio.sleep(0)
            raise Refuse(401, "who are you")

    async with serve(Picky(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server))
        assert info.value.status == 401
        assert info.value.body == b"who are you\n"


@async_test
async def test_async_on_connect_accepts_with_headers_and_subprotocol() -> None:
    class Chat(Handler):
        subprotocols = ("chat",)

        async def on_connect(self, conn: HandlerConnection) -> None:
            await asyncio.sleep(0)
            conn.response_headers.append(("X-Room", conn.query))
            conn.context = conn.header("x-user")

        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            conn.send(f"{conn.context}: {message!s}")

    async with (
        serve(Chat(), port=0) as server,
        connect(
            url(server, "/?lobby"),
            subprotocols=["other", "chat"],
            extra_headers=[("X-User", "ann")],
        ) as ws,
    ):
        assert ws.subprotocol == "chat"
        assert ("X-Room", "lobby") in ws.response_headers
        await ws.send("hi")
        assert await ws.recv() == "ann: hi"


@async_test
async def test_failing_on_connect_refuses_with_500() -> None:
    class Broken(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            raise RuntimeError("boom")

    async with serve(Broken(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server))
        assert info.value.status == 500


@async_test
async def test_failing_on_message_closes_with_1011() -> None:
    class Broken(Handler):
        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            raise RuntimeError("boom")

    async with serve(Broken(), port=0) as server, connect(url(server)) as ws:
        await ws.send("x")
        with pytest.raises(ConnectionClosedError) as info:
            await ws.recv()
        assert info.value.code == 1011


@async_test
async def test_call_every_runs_until_the_connection_closes() -> None:
    ticks: list[int] = []

    class Ticker(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            conn.call_every(0.01, lambda: ticks.append(len(ticks)))

    async with serve(Ticker(), port=0) as server:
        ws = await connect(url(server))
        await until(lambda: len(ticks) >= 3)
        await ws.close()
        await until(lambda: not server.connections)  # the server is done with it
        count = len(ticks)
        await asyncio.sleep(0.1)  # ten intervals: a timer still running would tick
        assert len(ticks) == count


@async_test
async def test_call_every_timer_can_be_cancelled() -> None:
    ticks: list[None] = []

    class Once(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            def tick() -> None:
                ticks.append(None)
                timer.cancel()

            timer = conn.call_every(0.01, tick)

    async with serve(Once(), port=0) as server, connect(url(server)):
        await until(lambda: ticks)
        await asyncio.sleep(0.1)  # ten intervals: a timer still running would tick
    assert ticks == [None]


@async_test
async def test_call_every_with_a_coroutine_callback() -> None:
    class AsyncTicker(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            async def tick() -> None:
                await asyncio.sleep(0)
                conn.send("tick")

            conn.call_every(0.01, tick)

    async with serve(AsyncTicker(), port=0) as server, connect(url(server)) as ws:
        assert await ws.recv() == "tick"
        assert await ws.recv() == "tick"


def test_serve_refuses_something_that_is_not_a_handler() -> None:
    with pytest.raises(TypeError, match="cannot serve"):
        serve(42, port=0)  # type: ignore[arg-type]


# --- the router and the built-in handlers over sockets ----------------------------------------


async def http_get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    status, _, body = await http_exchange(port, path, method)
    return status, body


async def http_exchange(port: int, path: str, method: str = "GET") -> tuple[int, bytes, bytes]:
    """Send a plain HTTP request; return the status, the raw head and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body


def demo_router() -> Router:
    from wsproto_core.examples import demo_router as build

    router = build(increment_interval=0.01)
    router.route("/private", EchoHandler(), allowed_origins=["https://ok.example"])
    return router


@async_test
async def test_router_refuses_unknown_paths_with_404() -> None:
    async with serve(demo_router(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server, "/nowhere"))
        assert info.value.status == 404


@async_test
async def test_router_refuses_an_origin_not_allowed_with_403() -> None:
    async with serve(demo_router(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server, "/private"), origin="https://evil.example")
        assert info.value.status == 403
        async with connect(url(server, "/private"), origin="https://ok.example") as ws:
            await ws.send("ok")
            assert await ws.recv() == "ok"


@async_test
async def test_router_serves_the_pages_over_plain_http() -> None:
    async with serve(demo_router(), port=0) as server:
        status, body = await http_get(server.port, "/")
        assert status == 200
        assert b"/echo.html" in body
        status, body = await http_get(server.port, "/increment.html")
        assert status == 200
        assert b'id="reset"' in body


@async_test
async def test_router_answers_a_plain_get_of_a_websocket_path_with_426() -> None:
    async with serve(demo_router(), port=0) as server:
        status, _ = await http_get(server.port, "/echo")
        assert status == 426


@async_test
async def test_router_answers_head_with_the_pages_length_and_no_body() -> None:
    async with serve(demo_router(), port=0) as server:
        _, _, page = await http_exchange(server.port, "/")
        status, head, body = await http_exchange(server.port, "/", "HEAD")
        assert status == 200
        assert f"Content-Length: {len(page)}".encode() in head
        assert body == b""


@async_test
async def test_dumb_increment_counts_up_from_zero_and_resets() -> None:
    async with (
        serve(demo_router(), port=0) as server,
        connect(url(server, "/dumb-increment"), subprotocols=["dumb-increment-protocol"]) as ws,
    ):
        assert ws.subprotocol == "dumb-increment-protocol"
        assert [await ws.recv() for _ in range(5)] == ["0", "1", "2", "3", "4"]
        await ws.send("reset\n")
        values = [int(await ws.recv()) for _ in range(10)]
        restart = values.index(0)  # numbers sent before the reset arrived may come first
        assert values[restart:] == list(range(10 - restart))


@async_test
async def test_dumb_increment_closeme_closes_with_1001() -> None:
    async with (
        serve(demo_router(), port=0) as server,
        connect(url(server, "/dumb-increment"), subprotocols=["dumb-increment-protocol"]) as ws,
    ):
        await ws.send("closeme\n")
        await ws.wait_closed()
        assert ws.close_code == 1001


@async_test
async def test_dumb_increment_refuses_a_client_without_the_subprotocol() -> None:
    async with serve(demo_router(), port=0) as server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url(server, "/dumb-increment"), subprotocols=["other"])
        assert info.value.status == 403


# --- live, ordered events: frames with the handshake, replies before the failure ----------------

_ECHO_MODES = ["handler", "coroutine"]


def echo_app(mode: str) -> Router | object:
    """What ``python -m wsproto_core serve`` serves at /echo, or a coroutine echo handler."""
    if mode == "handler":
        from wsproto_core.examples import demo_router as build

        return build()
    return echo


def client_frame(opcode: int, payload: bytes, rsv: int = 0) -> bytes:
    """A frame as a client sends it (masked)."""
    from wsproto_core.frames import serialize_frame

    return serialize_frame(opcode, payload, rsv=rsv, mask_key=b"\x5a\xa5\x0f\xf0")


async def handshake_with_frames(port: int, frames: bytes) -> RawClient:
    """Write the upgrade request for /echo and ``frames`` in one write; wait for the 101."""
    from wsproto_core.connection import ClientConnection
    from wsproto_core.events import Accept

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = ClientConnection(f"ws://127.0.0.1:{port}/echo")
    writer.write(conn.data_to_send() + frames)
    client = RawClient(reader, writer, conn)
    await client.until(Accept)
    return client


@pytest.mark.parametrize("mode", _ECHO_MODES)
@async_test
async def test_a_frame_in_the_same_write_as_the_handshake_is_echoed(mode: str) -> None:
    async with serve(echo_app(mode), port=0) as server:  # type: ignore[arg-type]
        client = await handshake_with_frames(server.port, client_frame(0x1, b"right away"))
        assert await client.until(TextMessage) == TextMessage("right away")
        client.close()


@pytest.mark.parametrize("mode", _ECHO_MODES)
@async_test
async def test_frames_in_the_same_write_as_the_handshake_are_echoed_in_order(mode: str) -> None:
    frames = b"".join(client_frame(0x1, f"message {n}".encode()) for n in range(5))
    async with serve(echo_app(mode), port=0) as server:  # type: ignore[arg-type]
        client = await handshake_with_frames(server.port, frames)
        for n in range(5):
            assert await client.until(TextMessage) == TextMessage(f"message {n}")
        client.close()


@pytest.mark.parametrize("mode", _ECHO_MODES)
@async_test
async def test_a_message_before_a_reserved_bit_frame_is_echoed_then_closed_1002(mode: str) -> None:
    async with serve(echo_app(mode), port=0) as server:  # type: ignore[arg-type]
        client = await RawClient.open(server.port, "/echo")
        client.writer.write(
            client_frame(0x1, b"Hello, world!")
            + client_frame(0x1, b"Hello, world!", rsv=0x20)
            + client_frame(0x9, b"after")
        )
        seen = await client.events_until(Close)
        assert seen[0] == TextMessage("Hello, world!")
        assert len(seen) == 2  # no pong for the ping after the bad frame
        assert isinstance(seen[1], Close) and seen[1].code == 1002
        client.close()


@pytest.mark.parametrize("mode", _ECHO_MODES)
@async_test
async def test_a_message_and_a_bad_frame_with_the_handshake_are_echoed_then_closed_1002(
    mode: str,
) -> None:
    frames = client_frame(0x2, b"\x00early") + client_frame(0x3, b"reserved opcode")
    async with serve(echo_app(mode), port=0) as server:  # type: ignore[arg-type]
        client = await handshake_with_frames(server.port, frames)
        seen = await client.events_until(Close)
        assert [type(e) for e in seen] == [BytesMessage, Close]
        assert seen[0] == BytesMessage(b"\x00early")
        assert isinstance(seen[1], Close) and seen[1].code == 1002
        client.close()


class SlowEcho(Handler):
    """Echoes from an ``async`` callback that yields to the loop first."""

    async def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        await asyncio.sleep(0)
        conn.send(message)


@async_test
async def test_async_callbacks_answer_messages_before_a_bad_frame_is_failed() -> None:
    async with serve(SlowEcho(), port=0) as server:
        client = await RawClient.open(server.port, "/")
        client.writer.write(
            client_frame(0x1, b"one") + client_frame(0x1, b"two") + client_frame(0x1, b"x", 0x40)
        )
        seen = await client.events_until(Close)
        assert seen[:2] == [TextMessage("one"), TextMessage("two")]
        assert isinstance(seen[2], Close) and seen[2].code == 1002
        client.close()


@async_test
async def test_a_failure_held_for_a_handler_that_never_reads_ends_after_the_close_timeout() -> None:
    done = asyncio.Event()

    async def deaf(ws: WebSocket) -> None:
        await done.wait()

    async with serve(deaf, port=0, close_timeout=0.2) as server:
        client = await RawClient.open(server.port, "/")
        client.writer.write(client_frame(0x1, b"unread") + client_frame(0x1, b"x", 0x40))
        closed = await client.until(Close)
        assert closed.code == 1002
        done.set()
        client.close()


@async_test
async def test_closing_while_a_failure_is_held_ends_the_connection() -> None:
    async def reads_one_then_closes(ws: WebSocket) -> None:
        assert await ws.recv() == "one"
        await ws.close(4000, "enough")

    async with serve(reads_one_then_closes, port=0) as server:
        client = await RawClient.open(server.port, "/")
        client.writer.write(
            client_frame(0x1, b"one") + client_frame(0x1, b"two") + client_frame(0x3, b"bad")
        )
        closed = await client.until(Close)
        assert (closed.code, closed.reason) == (4000, "enough")
        assert await client.eof() == b""
        client.close()
