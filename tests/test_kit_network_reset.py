"""A testee that writes its close frame and then resets the TCP connection (SO_LINGER 0).

The close frame arrived before the reset: the kit must still read it and judge it.
asyncio's ``StreamReader.read`` raises a reset before handing out the bytes it
holds, so a reset that lands while the kit is not waiting at ``read`` used to
hide the close frame (the case was judged as a connection dropped without one).
And a write that fails on the reset makes asyncio's transport stop reading: a
close frame still in the kernel was lost too (seen against wsproto's echo server
in 5.11 and 5.14, which closes its socket with the kit's frames unread).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

import pytest
from asyncio_helpers import async_test, until

from wsproto_core.handshake import parse_uri
from wsproto_core.testing.cases import Case, Send, fails
from wsproto_core.testing.engine import CaseRun
from wsproto_core.testing.network import ResetTolerantReader, _unread, drive, open_connection
from wsproto_core.testing.wire import text

if TYPE_CHECKING:
    from collections.abc import Iterator

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLOSE_1002 = b"\x88\x02" + struct.pack("!H", 1002)

CASE = Case(
    "reset.1",
    "Send a text message with RSV = 2",
    "The testee fails the connection with 1002",
    steps=(Send((text("Hello", rsv=2),)),),
    close=fails(1002),
    roles=frozenset({"server"}),
)


def _accept_key(request: bytes) -> bytes:
    for line in request.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return base64.b64encode(hashlib.sha1(value.strip() + GUID).digest())
    raise AssertionError(f"no key in {request!r}")


def _read_until(conn: socket.socket, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = conn.recv(65536)
        assert chunk, data
        data += chunk
    return data


@contextlib.contextmanager
def resetting_server(*, wait_for_frame: bool) -> Iterator[tuple[int, threading.Event]]:
    """A raw testee: accept the handshake, send close 1002, then reset (SO_LINGER 0).

    With ``wait_for_frame`` it first waits for the kit's first frame (the kit is
    then waiting at ``read``); without, it sends the 101, the close and the reset
    at once. The event is set once the reset is sent.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            request = _read_until(conn, b"\r\n\r\n")
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + _accept_key(request)
                + b"\r\n\r\n"
            )
            if wait_for_frame:
                assert conn.recv(2)  # the kit's frame has begun to arrive
            conn.sendall(CLOSE_1002)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], done
    finally:
        thread.join(10)
        listener.close()


async def _start(port: int) -> tuple[CaseRun, asyncio.StreamReader, asyncio.StreamWriter]:
    run = CaseRun(CASE, "server", uri=parse_uri(f"ws://127.0.0.1:{port}/"), timeout=5.0)
    reader, writer = await open_connection("127.0.0.1", port)
    run.start()
    return run, reader, writer


def _assert_judged_close(run: CaseRun) -> None:
    result = run.result()
    assert result.testee_close == (1002, ""), result.wire
    assert result.verdict == "OK", (result.behaviour_reason, result.close_reason, result.wire)


@async_test
async def test_close_then_reset_while_the_kit_is_busy() -> None:
    """The 101, the close and the reset all arrive before the kit reads at all."""
    with resetting_server(wait_for_frame=False) as (port, done):
        run, reader, writer = await _start(port)
        for data in run.writes():  # the opening handshake, sent by hand
            writer.write(data)
        await asyncio.get_running_loop().run_in_executor(None, done.wait, 10)
        # Wait for the transport to see the reset: the reader then holds the bytes
        # that came before it, and the error.
        await until(writer.transport.is_closing, "the reset")
        await drive(run, reader, writer)
    _assert_judged_close(run)


TCP_CLOSE = 7
"""``tcpi_state`` of a Linux socket that got a reset (``TCP_INFO``'s first byte)."""


def _wait_for_reset(sock: socket.socket) -> None:
    """Block (the event loop too, on purpose) until the kernel has the testee's reset."""
    while sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] != TCP_CLOSE:
        time.sleep(0.001)


@async_test
async def test_close_then_reset_then_a_failed_write() -> None:
    """The kit writes after the reset, before its transport read the close: the write fails."""
    with resetting_server(wait_for_frame=False) as (port, done):
        run, reader, writer = await _start(port)
        for data in run.writes():  # the opening handshake, sent by hand
            writer.write(data)
        # The loop does not run meanwhile: the 101 and the close stay in the kernel.
        assert done.wait(10)
        _wait_for_reset(writer.transport.get_extra_info("socket"))
        writer.write(b"\x81\x80\x00\x00\x00\x00")  # fails: the transport stops reading
        await drive(run, reader, writer)
    _assert_judged_close(run)


@async_test
async def test_close_then_reset_while_the_kit_waits() -> None:
    """The close and the reset come while the kit waits for the testee's answer."""
    with resetting_server(wait_for_frame=True) as (port, _):
        run, reader, writer = await _start(port)
        await drive(run, reader, writer)
    _assert_judged_close(run)


@async_test
async def test_a_plain_reset_is_still_the_end_of_the_stream() -> None:
    """A reset with nothing before it: the testee dropped the connection, no close frame."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            _read_until(conn, b"\r\n\r\n")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        run, reader, writer = await _start(listener.getsockname()[1])
        await drive(run, reader, writer)
    finally:
        thread.join(10)
        listener.close()
    result = run.result()
    assert result.testee_close is None
    assert result.verdict == "FAILED"


@async_test
async def test_an_error_that_is_not_a_network_error_is_still_raised() -> None:
    reader = ResetTolerantReader()
    reader.feed_data(b"kept")
    reader.set_exception(ValueError("not a reset"))
    assert reader.reset is None
    with pytest.raises(ValueError, match="not a reset"):
        await reader.read(10)


@async_test
async def test_a_reset_ends_the_stream_after_the_bytes_before_it() -> None:
    reader = ResetTolerantReader()
    reader.feed_data(b"close frame")
    error = ConnectionResetError()
    reader.set_exception(error)
    assert reader.reset is error
    assert await reader.read(100) == b"close frame"
    assert await reader.read(100) == b""


def test_unread_takes_what_the_kernel_holds_up_to_the_end_of_the_stream() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"left in the kernel")
        theirs.close()
        assert b"".join(_unread(ours.fileno())) == b"left in the kernel"
        assert ours.fileno() >= 0  # a duplicate was read and closed, not the socket itself


def test_unread_stops_when_nothing_more_is_waiting() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert _unread(ours.fileno()) == []  # still open, nothing sent: would block
