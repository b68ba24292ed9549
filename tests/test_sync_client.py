"""The threading client: connecting, refusals, timeouts, TLS, the legacy drafts."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import TYPE_CHECKING

import pytest
from sync_helpers import WAIT, running

from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.connection import ServerConnection
from wsproto_core.errors import InvalidURI
from wsproto_core.events import Request
from wsproto_core.sync import Connection, HandshakeRejected, InvalidHandshake, connect

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)


def echo(ws: Connection) -> None:
    for message in ws:
        ws.send(message)


def echo_until_closed(ws: Connection) -> None:
    """Echo every message; end with the ``ConnectionClosed`` that ``recv`` raises."""
    while True:
        ws.send(ws.recv(WAIT))


def one_shot_server(answer: Callable[[socket.socket], None]) -> tuple[int, threading.Thread]:
    """Listen, accept one client, let ``answer`` talk to it; return the port and the thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)

    def run() -> None:
        with listener, listener.accept()[0] as sock:
            sock.settimeout(WAIT)
            answer(sock)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def read_request(sock: socket.socket) -> ServerConnection:
    conn = ServerConnection()
    while not any(isinstance(event, Request) for event in conn.events()):
        conn.receive_data(sock.recv(65536))
    return conn


def test_refused_handshake_raises_with_status_headers_and_body() -> None:
    def answer(sock: socket.socket) -> None:
        conn = read_request(sock)
        conn.reject(418, [("X-Why", "teapot")], b"short and stout")
        sock.sendall(conn.data_to_send())

    port, thread = one_shot_server(answer)
    with pytest.raises(HandshakeRejected) as seen:
        connect(f"ws://127.0.0.1:{port}/")
    thread.join(WAIT)
    assert seen.value.status == 418
    assert ("X-Why", "teapot") in seen.value.headers
    assert seen.value.body == b"short and stout"


def test_invalid_handshake_response_raises_invalid_handshake() -> None:
    def answer(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"
        )

    port, thread = one_shot_server(answer)
    with pytest.raises(InvalidHandshake) as seen:
        connect(f"ws://127.0.0.1:{port}/")
    thread.join(WAIT)
    assert not isinstance(seen.value, HandshakeRejected)


def test_open_timeout_raises_when_server_never_answers() -> None:
    stop = threading.Event()
    port, thread = one_shot_server(lambda sock: stop.wait(WAIT))
    with pytest.raises(TimeoutError):
        connect(f"ws://127.0.0.1:{port}/", open_timeout=0.05)
    stop.set()
    thread.join(WAIT)


def test_messages_sent_right_behind_the_101_are_received() -> None:
    def answer(sock: socket.socket) -> None:
        conn = read_request(sock)
        conn.accept()
        codec = Rfc6455Codec(client=False, max_message_size=None)
        sock.sendall(conn.data_to_send() + codec.send_text("early") + codec.send_binary(b"bird"))
        sock.recv(65536)  # the client's close

    port, thread = one_shot_server(answer)
    with connect(f"ws://127.0.0.1:{port}/", close_timeout=0.05) as client:
        assert [client.recv(timeout=WAIT), client.recv(timeout=WAIT)] == ["early", b"bird"]
    thread.join(WAIT)


def test_connection_refused_raises_os_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        connect(f"ws://127.0.0.1:{port}/")


def test_invalid_url_raises_invalid_uri() -> None:
    with pytest.raises(InvalidURI):
        connect("http://127.0.0.1/")


def test_ssl_context_with_plain_ws_url_is_refused() -> None:
    with pytest.raises(ValueError, match="wss://"):
        connect("ws://127.0.0.1:1/", ssl=ssl.create_default_context())


def test_draft76_client_keeps_connection_without_keepalive_pings() -> None:
    with running(echo) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/", version="hixie-76", ping_interval=0.001)
        client.send("draft 76")  # keepalive found no pings in this draft and stopped
        assert client.recv(timeout=WAIT) == "draft 76"
        client.close()
    assert client.protocol_version == "hixie-76"
    assert client.close_code == 1005


# -- TLS -----------------------------------------------------------------------------------


def tls_contexts(tls_certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = tls_certificate
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_wss_round_trip(tls_certificate: tuple[Path, Path]) -> None:
    server_tls, client_tls = tls_contexts(tls_certificate)
    with (
        running(echo, ssl=server_tls) as server,
        connect(f"wss://127.0.0.1:{server.port}/", ssl=client_tls) as client,
    ):
        client.send("secret")
        client.send(b"\x00" * 200_000)
        assert client.recv(timeout=WAIT) == "secret"
        assert client.recv(timeout=WAIT) == b"\x00" * 200_000
        assert client.ping().wait(WAIT)
    assert client.close_code == 1000


def test_wss_server_refuses_a_failed_tls_handshake(tls_certificate: tuple[Path, Path]) -> None:
    server_tls, _ = tls_contexts(tls_certificate)
    untrusting = ssl.create_default_context()
    with running(echo, ssl=server_tls) as server, pytest.raises(ssl.SSLError):
        connect(f"wss://127.0.0.1:{server.port}/", ssl=untrusting)


def test_wss_open_timeout_covers_a_stalled_tls_handshake(
    tls_certificate: tuple[Path, Path],
) -> None:
    server_tls, _ = tls_contexts(tls_certificate)
    with running(echo, ssl=server_tls, open_timeout=0.05) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        assert sock.recv(1) == b""
        sock.close()


# -- live, ordered events: replies before the failure --------------------------------------


def test_client_echoes_messages_behind_the_101_before_failing_a_bad_frame() -> None:
    from wsproto_core.events import Close, Event, TextMessage
    from wsproto_core.frames import serialize_frame
    from wsproto_core.sync import ConnectionClosedError

    got: list[Event] = []

    def answer(sock: socket.socket) -> None:
        conn = ServerConnection()
        while conn.request is None:
            conn.receive_data(sock.recv(65536))
        list(conn.events())
        conn.accept()
        conn.send_text("first")
        conn.send_text("second")
        bad = serialize_frame(0x1, b"x", rsv=0x40)  # a reserved bit, no extension
        sock.sendall(conn.data_to_send() + bad)  # the 101, two messages, the bad frame
        while not got or not isinstance(got[-1], Close):
            data = sock.recv(65536)
            assert data, "the stream ended before the client's close"
            conn.receive_data(data)
            got.extend(conn.events())

    port, thread = one_shot_server(answer)
    ws = connect(f"ws://127.0.0.1:{port}/")
    with pytest.raises(ConnectionClosedError) as info:
        echo_until_closed(ws)
    assert info.value.code == 1002
    thread.join(WAIT)
    assert got[:2] == [TextMessage("first"), TextMessage("second")]
    assert isinstance(got[2], Close) and got[2].code == 1002
    ws.close()
