"""Interop with the ``websockets`` library's threading implementation, both ways."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import pytest
from sync_helpers import WAIT, running, wait_for
from websockets.exceptions import ConnectionClosedError as TheirClosedError
from websockets.exceptions import ConnectionClosedOK as TheirClosedOK
from websockets.sync.client import connect as their_connect
from websockets.sync.server import serve as their_serve

from wsproto_core.examples import EchoHandler
from wsproto_core.sync import Connection, ConnectionClosed, ConnectionClosedOK, connect

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from websockets.sync.server import ServerConnection as TheirConnection

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def echo(ws: Connection) -> None:
    for message in ws:
        ws.send(message)


@contextlib.contextmanager
def their_server(handler: Callable[[TheirConnection], None], **options: Any) -> Iterator[str]:
    """Run a ``websockets`` threading server; yield its URL."""
    with their_serve(handler, "127.0.0.1", 0, **options) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
        finally:
            server.shutdown()
            thread.join(WAIT)


def their_echo(ws: TheirConnection) -> None:
    for message in ws:
        ws.send(message)


# -- their client, our server -------------------------------------------------------------


@pytest.mark.parametrize("app", [echo, EchoHandler()], ids=["function", "handler"])
def test_their_client_gets_text_and_binary_echoed(app: object) -> None:
    with running(app) as server, their_connect(f"ws://127.0.0.1:{server.port}/") as client:
        client.send("hello")
        client.send(b"\x01\x02")
        assert client.recv(timeout=WAIT) == "hello"
        assert client.recv(timeout=WAIT) == b"\x01\x02"


def test_their_client_fragmented_message_arrives_whole() -> None:
    with running(echo) as server, their_connect(f"ws://127.0.0.1:{server.port}/") as client:
        client.send(["frag", "men", "ted"])
        assert client.recv(timeout=WAIT) == "fragmented"


def test_their_client_large_message_round_trip() -> None:
    payload = b"\xab" * (17 * 2**20)
    with (
        running(echo, max_message_size=None) as server,
        their_connect(f"ws://127.0.0.1:{server.port}/", max_size=None) as client,
    ):
        client.send(payload)
        assert client.recv(timeout=WAIT * 3) == payload


def test_their_client_close_code_reaches_our_server() -> None:
    closes: list[ConnectionClosed] = []

    def handler(ws: Connection) -> None:
        try:
            ws.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            closes.append(closed)

    with running(handler) as server:
        with their_connect(f"ws://127.0.0.1:{server.port}/") as client:
            client.close(4321, "their reason")
        wait_for(lambda: closes)
    assert (closes[0].code, closes[0].reason) == (4321, "their reason")


def test_their_client_ping_is_answered() -> None:
    with running(echo) as server, their_connect(f"ws://127.0.0.1:{server.port}/") as client:
        assert client.ping(b"hi").wait(WAIT)


def test_their_client_sees_1009_over_our_limit() -> None:
    with (
        running(echo, max_message_size=1000) as server,
        their_connect(f"ws://127.0.0.1:{server.port}/") as client,
    ):
        client.send(b"x" * 2000)
        with pytest.raises(TheirClosedError) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.rcvd is not None
    assert seen.value.rcvd.code == 1009


def test_their_client_sees_1001_on_our_shutdown() -> None:
    with running(echo) as server, their_connect(f"ws://127.0.0.1:{server.port}/") as client:
        wait_for(lambda: server.connections)
        server.shutdown()
        with pytest.raises(TheirClosedOK) as seen:
            client.recv(timeout=WAIT)
    assert seen.value.rcvd is not None
    assert seen.value.rcvd.code == 1001


def test_their_client_negotiates_our_subprotocol() -> None:
    with (
        running(echo, subprotocols=["v2", "v1"]) as server,
        their_connect(f"ws://127.0.0.1:{server.port}/", subprotocols=["v1", "v2"]) as client,
    ):
        assert client.subprotocol == "v2"


# -- our client, their server -------------------------------------------------------------


def test_our_client_gets_text_and_binary_echoed() -> None:
    with their_server(their_echo) as url, connect(url) as client:
        client.send("hello")
        client.send(b"\x01\x02")
        assert client.recv(timeout=WAIT) == "hello"
        assert client.recv(timeout=WAIT) == b"\x01\x02"


def test_our_client_receives_their_fragmented_message_whole() -> None:
    def handler(ws: TheirConnection) -> None:
        ws.send([b"frag", b"men", b"ted"])
        ws.recv()

    with their_server(handler) as url, connect(url) as client:
        assert client.recv(timeout=WAIT) == b"fragmented"


def test_our_client_large_message_round_trip() -> None:
    payload = "é" * (9 * 2**20)  # 18 MiB of UTF-8
    with their_server(their_echo, max_size=None) as url, connect(url, max_message_size=None) as c:
        c.send(payload)
        assert c.recv(timeout=WAIT * 3) == payload


def test_our_client_answers_their_ping() -> None:
    pongs: list[bool] = []

    def handler(ws: TheirConnection) -> None:
        pongs.append(ws.ping(b"yo").wait(WAIT))
        ws.send("done")
        ws.recv()

    with their_server(handler) as url, connect(url) as client:
        assert client.recv(timeout=WAIT) == "done"
    assert pongs == [True]


def test_our_client_sees_their_close_code() -> None:
    def handler(ws: TheirConnection) -> None:
        ws.close(1001, "going away")

    with their_server(handler) as url:
        client = connect(url)
        with pytest.raises(ConnectionClosedOK) as seen:
            client.recv(timeout=WAIT)
    assert (seen.value.code, seen.value.reason) == (1001, "going away")


def test_our_close_reaches_their_server() -> None:
    codes: list[int | None] = []

    def handler(ws: TheirConnection) -> None:
        try:
            ws.recv()
        except TheirClosedError as closed:
            codes.append(None if closed.rcvd is None else closed.rcvd.code)

    with their_server(handler) as url:
        connect(url).close(4000, "our reason")
        wait_for(lambda: codes)
    assert codes == [4000]


def test_our_client_negotiates_their_subprotocol() -> None:
    with (
        their_server(their_echo, subprotocols=["v2", "v1"]) as url,
        connect(url, subprotocols=["v1", "v2"]) as client,
    ):
        assert client.subprotocol in ("v1", "v2")
        assert client.response is not None
        assert client.response.subprotocol == client.subprotocol
