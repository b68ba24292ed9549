"""Closing after a failure, from outside: both servers over loopback, a raw client.

RFC 6455 §7.1.7: the server sends its close frame at once, then closes the TCP
stream with a FIN (not a reset, which can destroy the close frame before the
client reads it):

* after the client's close, when the framing is still in step;
* at once, when the framing is lost (a frame announcing more than will ever be read);
* after a brief grace (``FAILURE_GRACE``), when the client's close is hidden in a
  frame it never finishes.

Each server runs with a close timeout far longer than the test waits, so an EOF
seen here comes from the failure handling, not from the timeout.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from typing import TYPE_CHECKING

import pytest
from contract_helpers import run_server

from wsproto_core.examples import EchoHandler
from wsproto_core.state import FAILURE_GRACE

if TYPE_CHECKING:
    from collections.abc import Iterator

LIMIT = 1024
"""The servers' max_message_size."""

CLOSE_TIMEOUT = 120.0
"""The servers' close timeout: never reached while a test waits."""

WAIT = 30.0
"""The bound on each socket read here (far below CLOSE_TIMEOUT)."""


ADAPTERS = ("asyncio", "threading")


def frame(opcode: int, payload: bytes = b"", *, length: int | None = None) -> bytes:
    """A masked client frame (RFC 6455 §5.2), announcing ``length`` when given."""
    size = len(payload) if length is None else length
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 2**16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    key = os.urandom(4)
    masked = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return header + key + masked


def client_close(code: int = 1000) -> bytes:
    return frame(0x8, struct.pack("!H", code))


def open_socket(port: int) -> socket.socket:
    """Connect and complete the opening handshake; return the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 ")
    return sock


def read_until_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until its FIN; a reset or a silence of WAIT s fails."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            pytest.fail(f"the server reset the stream after sending {received!r}")
        except TimeoutError:
            pytest.fail(f"no EOF within {WAIT} s; received {received[:64]!r}")
        if not chunk:
            return received
        received += chunk


def close_code(data: bytes) -> int:
    """The status code of the one close frame (unmasked, from a server) in ``data``."""
    assert data[0] == 0x88, data
    length = data[1]
    assert length >= 2 and len(data) == 2 + length, data
    code: int = struct.unpack("!H", data[2:4])[0]
    return code


@pytest.fixture(params=ADAPTERS)
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A server of each adapter, serving the echo handler (the Handler API, as the CLI does)."""
    options = {"max_message_size": LIMIT, "close_timeout": CLOSE_TIMEOUT}
    with run_server(request.param, EchoHandler(), **options) as server:
        yield server.port


def test_a_frame_too_big_to_skip_gets_1009_then_fin_at_once(port: int) -> None:
    # A header announcing 2^63 - 1 bytes, then a little of that payload: the framing
    # is given up, so the server closes its side without waiting for our close.
    with open_socket(port) as sock:
        sock.sendall(frame(0x2, length=2**63 - 1)[:14] + b"x" * 16)
        assert close_code(read_until_eof(sock)) == 1009


def test_the_client_close_after_an_over_size_frame_is_found_in_step(port: int) -> None:
    # The client finishes its over-size frame, then answers with its close: the server
    # finds that close in step and ends the closing handshake with a FIN.
    with open_socket(port) as sock:
        sock.sendall(frame(0x2, b"x" * (LIMIT + 1)))
        assert close_code(read_one_frame(sock)) == 1009
        sock.sendall(client_close(1009))
        assert read_until_eof(sock) == b""


def test_a_close_hidden_in_an_unfinished_frame_ends_after_the_grace(port: int) -> None:
    # The client announces LIMIT + 1 bytes, gets the 1009 and answers with its close
    # without finishing the frame: the close is payload to the server, which can only
    # give up waiting. It does so after FAILURE_GRACE, not after its close timeout.
    assert FAILURE_GRACE < WAIT < CLOSE_TIMEOUT
    with open_socket(port) as sock:
        header = frame(0x2, length=LIMIT + 1)[:8]
        sock.sendall(header)
        reply = read_one_frame(sock)
        assert close_code(reply) == 1009
        sock.sendall(client_close(1009))
        assert read_until_eof(sock) == b""


def test_a_protocol_error_gets_1002_then_fin(port: int) -> None:
    # The framing is lost (a reserved bit): close frame and FIN at once; the client's
    # own bytes after it are read and discarded, so there is no reset.
    with open_socket(port) as sock:
        bad = bytearray(frame(0x1, b"hello"))
        bad[0] |= 0x40
        sock.sendall(bytes(bad) + frame(0x1, b"more") * 100)
        assert close_code(read_until_eof(sock)) == 1002


def read_one_frame(sock: socket.socket) -> bytes:
    """One short unmasked frame from the server."""
    head = read_exactly(sock, 2)
    return head + read_exactly(sock, head[1])


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "EOF before a whole frame"
        data += chunk
    return data


def test_a_refused_handshake_reaches_a_client_that_kept_sending(port: int) -> None:
    # The client pipelines data behind a request the server refuses (426: an unknown
    # version). The server writes its response, then half-closes and reads the rest:
    # closing with those bytes unread would reset the stream under the response.
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        request = (
            f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 99\r\n\r\n"
        ).encode()
        sock.sendall(request + frame(0x1, b"x" * 60000) * 4)
        response = read_until_eof(sock)
    assert response.startswith(b"HTTP/1.1 426 "), response[:80]
    assert b"Sec-WebSocket-Version: 13, 8, 7" in response
