"""The asyncio client: handshake outcomes, timeouts, reconnection, TLS, interop with websockets."""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

import pytest
import websockets.asyncio.client
import websockets.asyncio.server
from asyncio_helpers import async_test

from wsproto_core.asyncio import (
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeRejected,
    InvalidHandshake,
    Server,
    WebSocket,
    connect,
    serve,
)
from wsproto_core.asyncio import client as client_module
from wsproto_core.errors import InvalidURI
from wsproto_core.examples import EchoHandler

if TYPE_CHECKING:
    from pathlib import Path


async def echo(ws: WebSocket) -> None:
    async for message in ws:
        await ws.send(message)


async def echo_until_closed(ws: WebSocket) -> None:
    """Echo every message; end with the ``ConnectionClosed`` that ``recv`` raises."""
    while True:
        await ws.send(await ws.recv())


# --- handshake outcomes -------------------------------------------------------------------------


@async_test
async def test_rejection_carries_status_headers_and_body() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 418 I'm a teapot\r\nX-Why: tea\r\nContent-Length: 3\r\n\r\nno!")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(HandshakeRejected) as info:
            await connect(f"ws://127.0.0.1:{port}/")
    assert info.value.status == 418
    assert ("X-Why", "tea") in info.value.headers
    assert info.value.body == b"no!"


@async_test
async def test_invalid_handshake_response_is_reported() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        await writer.drain()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(InvalidHandshake):
            await connect(f"ws://127.0.0.1:{port}/")


@async_test
async def test_server_that_never_answers_hits_the_open_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(asyncio.TimeoutError):
            await connect(f"ws://127.0.0.1:{port}/", open_timeout=0.1)


@async_test
async def test_server_that_closes_during_the_handshake_is_reported() -> None:
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(rude, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(InvalidHandshake):
            await connect(f"ws://127.0.0.1:{port}/")


def test_invalid_url_is_refused_at_once() -> None:
    with pytest.raises(InvalidURI):
        connect("http://example.com/")


@async_test
async def test_subprotocol_and_version_are_reported() -> None:
    async with (
        serve(echo, port=0, subprotocols=["b", "a"]) as server,
        connect(f"ws://127.0.0.1:{server.port}/", subprotocols=["a", "b"], version=8) as ws,
    ):
        assert ws.subprotocol == "b"
        assert ws.protocol_version == 8


@async_test
async def test_client_waits_for_the_server_to_close_the_stream() -> None:
    async with serve(echo, port=0) as server:
        ws = await connect(f"ws://127.0.0.1:{server.port}/")
        await ws.close()
        assert ws.closed
        assert ws.close_code == 1000


@async_test
async def test_client_closes_the_stream_itself_when_the_server_lingers() -> None:
    async def lingering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers the handshake and the close by hand, then keeps the stream open.
        from wsproto_core.connection import ServerConnection

        conn = ServerConnection()
        while data := await reader.read(65536):
            conn.receive_data(data)
            for event in conn.events():
                if type(event).__name__ == "Request":
                    conn.accept()
            writer.write(conn.data_to_send())
        writer.close()

    server = await asyncio.start_server(lingering, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        ws = await connect(f"ws://127.0.0.1:{port}/", close_timeout=0.1)
        await ws.close()
        assert ws.closed


# --- reconnection -------------------------------------------------------------------------------


@async_test
async def test_iterating_reconnects_after_failures_then_yields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_INITIAL", 0.01)
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    url = f"ws://127.0.0.1:{port}/"

    async def start_later() -> Server:
        await asyncio.sleep(0.2)
        return await serve(echo, port=port)

    starter = asyncio.get_running_loop().create_task(start_later())
    connections = 0
    async for ws in connect(url):
        connections += 1
        await ws.send("again")
        assert await ws.recv() == "again"
        if connections == 2:
            await ws.close()
            break
    assert connections == 2
    server = await starter
    server.close()
    await server.wait_closed()


@async_test
async def test_iterating_stops_on_a_4xx_refusal() -> None:
    async def first_connection(url: str) -> None:
        async for _ in connect(url, version="hixie-76"):
            pytest.fail("no connection expected")

    async with serve(EchoHandler(), port=0, allow_draft76=False) as server:
        with pytest.raises(HandshakeRejected):
            await first_connection(f"ws://127.0.0.1:{server.port}/")


def test_backoff_is_capped() -> None:
    assert client_module.BACKOFF_MAX >= client_module.BACKOFF_INITIAL
    assert client_module.BACKOFF_FACTOR > 1


# --- TLS ----------------------------------------------------------------------------------------


@async_test
async def test_wss_round_trip(tls_certificate: tuple[Path, Path]) -> None:
    cert, key = tls_certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    async with (
        serve(EchoHandler(), port=0, ssl=server_context) as server,
        connect(f"wss://127.0.0.1:{server.port}/", ssl=client_context) as ws,
    ):
        await ws.send("secret")
        assert await ws.recv() == "secret"


# --- interop with the websockets library --------------------------------------------------------


@pytest.mark.interop
@async_test
async def test_websockets_client_against_our_server() -> None:
    async with (
        serve(EchoHandler(), port=0) as server,
        websockets.asyncio.client.connect(f"ws://127.0.0.1:{server.port}/echo") as ws,
    ):
        await ws.send("to us")
        assert await ws.recv() == "to us"
        await ws.send(b"\x00" * 70000)
        assert await ws.recv() == b"\x00" * 70000
        await ws.send(["frag", "ments"])
        assert await ws.recv() == "fragments"
        pong = await ws.ping(b"p")
        await pong
        await ws.close(4321, "theirs")
        assert ws.close_code == 4321


@pytest.mark.interop
@async_test
async def test_websockets_client_sees_our_server_close() -> None:
    async def closer(ws: WebSocket) -> None:
        await ws.close(4000, "ours")

    async with (
        serve(closer, port=0) as server,
        websockets.asyncio.client.connect(f"ws://127.0.0.1:{server.port}/") as ws,
    ):
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (4000, "ours")


@pytest.mark.interop
@async_test
async def test_our_client_against_a_websockets_server() -> None:
    async def their_echo(ws: websockets.asyncio.server.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with websockets.asyncio.server.serve(their_echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("to them")
            assert await ws.recv() == "to them"
            await ws.send(b"\xff" * 100000)
            assert await ws.recv() == b"\xff" * 100000
            await ws.send([b"a", b"b"])
            assert await ws.recv() == b"ab"
            assert await (await ws.ping()) >= 0
        assert ws.close_code == 1000


@pytest.mark.interop
@async_test
async def test_websockets_server_close_reaches_our_client() -> None:
    async def their_closer(ws: websockets.asyncio.server.ServerConnection) -> None:
        await ws.close(4001, "theirs")

    async with websockets.asyncio.server.serve(their_closer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert (info.value.code, info.value.reason) == (4001, "theirs")


@pytest.mark.interop
@async_test
async def test_websockets_server_going_away_is_a_normal_close() -> None:
    async def idle(ws: websockets.asyncio.server.ServerConnection) -> None:
        await ws.wait_closed()

    server = await websockets.asyncio.server.serve(idle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with connect(f"ws://127.0.0.1:{port}/") as ws:
        server.close()
        with pytest.raises(ConnectionClosedOK) as info:
            await ws.recv()
        assert info.value.code == 1001
    await server.wait_closed()


# --- live, ordered events: replies before the failure ------------------------------------------


@async_test
async def test_client_echoes_messages_behind_the_101_before_failing_a_bad_frame() -> None:
    from wsproto_core.connection import ServerConnection
    from wsproto_core.events import Close, Event, Request, TextMessage
    from wsproto_core.frames import serialize_frame

    seen: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection()
        events: list[Event] = []
        while not any(isinstance(e, Request) for e in events):
            conn.receive_data(await reader.read(65536))
            events.extend(conn.events())
        conn.accept()
        conn.send_text("first")
        conn.send_text("second")
        bad = serialize_frame(0x1, b"x", rsv=0x40)  # a reserved bit, no extension
        writer.write(conn.data_to_send() + bad)  # the 101, two messages, the bad frame
        got: list[Event] = []
        while not got or not isinstance(got[-1], Close):
            data = await reader.read(65536)
            assert data, "the stream ended before the client's close"
            conn.receive_data(data)
            got.extend(conn.events())
        seen.set_result(got)
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        ws = await connect(f"ws://127.0.0.1:{port}/")
        with pytest.raises(ConnectionClosedError) as info:
            await echo_until_closed(ws)
        assert info.value.code == 1002
        got = await seen
        assert got[:2] == [TextMessage("first"), TextMessage("second")]
        assert isinstance(got[2], Close) and got[2].code == 1002
        await ws.wait_closed()
