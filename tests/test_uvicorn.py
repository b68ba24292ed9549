"""WsprotoCoreProtocol from outside: a real uvicorn server, a small ASGI app, our clients.

uvicorn's own suite runs against the class in test_uvicorn_suite.py; these
tests check what a user of ``ws=WsprotoCoreProtocol`` relies on, with our
asyncio client (or a raw one, to misbehave).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from typing import TYPE_CHECKING, Any

import h11
import pytest

uvicorn = pytest.importorskip("uvicorn")

from asyncio_helpers import RawClient, async_test, until  # noqa: E402

from wsproto_core.asyncio import connect  # noqa: E402
from wsproto_core.errors import ConnectionClosed, HandshakeRejected  # noqa: E402
from wsproto_core.events import Close, Ping  # noqa: E402
from wsproto_core.frames import Opcode, serialize_frame  # noqa: E402
from wsproto_core.uvicorn import WsprotoCoreProtocol  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@contextlib.asynccontextmanager
async def serve(app: Any, **options: Any) -> AsyncIterator[tuple[int, uvicorn.Server]]:
    """A uvicorn server on a free port running ``app`` with our class; yields (port, server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, ws=WsprotoCoreProtocol, lifespan="off", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await until(lambda: server.started or task.done(), "the server started")
    try:
        yield sock.getsockname()[1], server
    finally:
        server.should_exit = True
        await task


async def echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    assert message["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def the_protocol(server: uvicorn.Server) -> WsprotoCoreProtocol:
    [protocol] = server.server_state.connections
    assert isinstance(protocol, WsprotoCoreProtocol)
    return protocol


# -- the ASGI spec -------------------------------------------------------------------------


@async_test
async def test_echo_text_and_bytes() -> None:
    async with serve(echo) as (port, _), connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\xff")
        assert await ws.recv() == b"\x00\xff"


@async_test
async def test_accept_with_a_subprotocol_and_headers() -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await receive()
        headers = [(b"x-room", b"42")]
        await send({"type": "websocket.accept", "subprotocol": "chat", "headers": headers})
        await receive()

    async with serve(app) as (port, _):
        url = f"ws://127.0.0.1:{port}/room?x=1"
        async with connect(url, subprotocols=["superchat", "chat"]) as ws:
            assert ws.subprotocol == "chat"
            assert ("x-room", "42") in [(k.lower(), v) for k, v in ws.response_headers]
    [scope] = scopes
    assert (scope["path"], scope["query_string"]) == ("/room", b"x=1")
    assert scope["subprotocols"] == ["superchat", "chat"]


@async_test
async def test_app_closes_with_code_and_reason() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4001, "reason": "bye now"})

    async with serve(app) as (port, _), connect(f"ws://127.0.0.1:{port}/") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert (closed.value.code, closed.value.reason) == (4001, "bye now")


@async_test
async def test_client_close_reaches_the_app_with_its_code() -> None:
    disconnects: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        disconnects.append(await receive())
        done.set()

    async with serve(app) as (port, _):
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.close(1001, "going away")
        await done.wait()
    assert disconnects == [{"type": "websocket.disconnect", "code": 1001, "reason": "going away"}]


@async_test
async def test_a_denial_response_is_streamed_as_the_app_sends_it() -> None:
    first_chunk_seen = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"one ", "more_body": True})
        await first_chunk_seen.wait()  # the client read it before the rest exists
        await send({"type": "websocket.http.response.body", "body": b"two"})

    async with serve(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        events: list[Any] = []
        while not events or type(events[-1]) is not h11.EndOfMessage:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(await reader.read(65536))
                continue
            events.append(event)
            if type(event) is h11.Data:
                first_chunk_seen.set()
        writer.close()
    response, *body, _ = events
    assert response.status_code == 403
    assert (b"content-type", b"text/plain") in response.headers
    assert (b"transfer-encoding", b"chunked") in response.headers
    assert b"".join(bytes(event.data) for event in body) == b"one two"


@async_test
async def test_a_denial_sent_whole_has_a_content_length() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"who are you?"})

    async with serve(app) as (port, _):
        with pytest.raises(HandshakeRejected) as rejected:
            await connect(f"ws://127.0.0.1:{port}/")
    assert rejected.value.status == 401
    assert rejected.value.body == b"who are you?"
    assert ("content-length", "12") in [(k.lower(), v) for k, v in rejected.value.headers]


# -- uvicorn's options ------------------------------------------------------------------------


@async_test
async def test_ws_max_size_closes_with_1009() -> None:
    async with (
        serve(echo, ws_max_size=1000) as (port, _),
        connect(f"ws://127.0.0.1:{port}/", compression=None) as ws,
    ):
        await ws.send(b"x" * 1000)
        assert await ws.recv() == b"x" * 1000
        await ws.send(b"x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.code == 1009


@pytest.mark.parametrize("deflate", [True, False])
@async_test
async def test_permessage_deflate_follows_ws_per_message_deflate(deflate: bool) -> None:
    async with (
        serve(echo, ws_per_message_deflate=deflate) as (port, _),
        connect(f"ws://127.0.0.1:{port}/") as ws,
    ):
        names = [extension.name for extension in ws.extensions]
        await ws.send("a" * 1000)
        assert await ws.recv() == "a" * 1000
    assert names == (["permessage-deflate"] if deflate else [])


@async_test
async def test_keepalive_pings_then_closes_with_1011_when_no_pong_comes() -> None:
    async with serve(echo, ws_ping_interval=0.05, ws_ping_timeout=0.05) as (port, _):
        client = await RawClient.open(port)  # never flushes: no pong goes back
        events = await client.events_until(Close)
        client.close()
    assert isinstance(events[0], Ping)
    close = events[-1]
    assert isinstance(close, Close)
    assert (close.code, close.reason) == (1011, "keepalive ping timeout")


@async_test
async def test_shutdown_closes_open_connections_with_1012() -> None:
    async with serve(echo) as (port, server), connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        server.should_exit = True
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.code == 1012


# -- flow control ------------------------------------------------------------------------------


@async_test
async def test_reading_pauses_while_messages_wait_for_the_app() -> None:
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await release.wait()
        while (await receive())["type"] == "websocket.receive":
            pass

    async with (
        serve(app, ws_max_queue=4) as (port, server),
        connect(f"ws://127.0.0.1:{port}/", compression=None) as ws,
    ):
        protocol = the_protocol(server)
        sending = asyncio.create_task(_send_forever(ws))
        await until(lambda: not protocol.transport.is_reading(), "reading paused")
        assert len(protocol._queue) <= protocol.max_queue
        release.set()
        sending.cancel()


async def _send_forever(ws: Any) -> None:
    while True:
        await ws.send(b"x" * 1024)


@async_test
async def test_a_client_that_never_reads_blocks_the_apps_send() -> None:
    sent = 0

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        nonlocal sent
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            await send({"type": "websocket.send", "bytes": b"x" * 65536})
            sent += 1

    async with serve(app, ws_per_message_deflate=False) as (port, server):
        client = await RawClient.open(port)  # reads nothing from here on
        protocol = the_protocol(server)
        await until(lambda: not protocol._writable.is_set(), "the app's send waits")
        blocked_at = sent
        for _ in range(20):
            await asyncio.sleep(0)
        assert sent == blocked_at
        assert protocol.transport.get_write_buffer_size() < 4 * 2**20
        client.close()


# -- the hand-over from uvicorn's HTTP protocol ------------------------------------------------


class _Transport(asyncio.Transport):
    """What the protocol writes, without a socket."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)


@async_test
async def test_a_frame_in_the_same_read_as_the_request_is_not_lost() -> None:
    # uvicorn's HTTP protocols pass only the request head on (bytes after it in their read
    # are dropped before the hand-over); what reaches this protocol is all parsed.
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        received.append(await receive())

    config = uvicorn.Config(app, ws=WsprotoCoreProtocol, lifespan="off")
    state = uvicorn.server.ServerState()
    protocol = WsprotoCoreProtocol(config, state, {})
    protocol.connection_made(_Transport())
    frame = serialize_frame(Opcode.TEXT, b"early", fin=True, mask_key=b"abcd")
    protocol.data_received(REQUEST + frame)
    await asyncio.gather(*state.tasks)
    assert received == [{"type": "websocket.receive", "text": "early"}]


# -- starting it -------------------------------------------------------------------------------

LAUNCHED_APP = """
import sys


async def app(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    ours = "wsproto_core.uvicorn.protocol" in sys.modules
    await send({"type": "websocket.send", "text": f"ours={ours}"})
    await receive()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "wsproto_core.uvicorn"],
        ["-m", "uvicorn", "--ws", "wsproto_core.uvicorn:WsprotoCoreProtocol"],
    ],
    ids=["launcher", "uvicorn-cli"],
)
@async_test
async def test_the_command_lines_run_our_class(tmp_path: Any, command: list[str]) -> None:
    if "--ws" in command and tuple(map(int, uvicorn.__version__.split(".")[:2])) < (0, 36):
        pytest.skip("uvicorn's --ws accepts a module:attribute since 0.36")
    (tmp_path / "chat.py").write_text(LAUNCHED_APP)
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, "chat:app", "--port", str(port), "--app-dir", str(tmp_path),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        while b"Uvicorn running on" not in (line := await process.stderr.readline()):
            assert line, "uvicorn ended before it started"
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            assert await ws.recv() == "ours=True"
    finally:
        process.terminate()
        await process.wait()
