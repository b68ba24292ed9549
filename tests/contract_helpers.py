"""Helpers for the handler-contract suite: either server in a thread, blocking raw clients.

Both servers run in a background thread of the test process (the asyncio one
with its own event loop), so a test body written once drives either of them
from the test thread, with blocking sockets. To measure a server's memory, the
tests run it in a child process instead (:class:`ServerProcess`) and read its RSS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from sync_helpers import WAIT, RawPeer, running

from wsproto_core import asyncio as ws_asyncio
from wsproto_core.connection import ClientConnection
from wsproto_core.events import Accept
from wsproto_core.frames import serialize_frame

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wsproto_core.events import Event

__all__ = [
    "ADAPTERS",
    "WAIT",
    "RunningServer",
    "ServerProcess",
    "client_frame",
    "events_until",
    "flood",
    "handshake_request",
    "handshake_with_frames",
    "http_exchange",
    "open_raw",
    "read_until_end",
    "run_server",
    "wait_until",
    "waits_for_io",
]

ADAPTERS = ("asyncio", "threading")
"""The two servers every contract test runs against."""

MASK = b"\x5a\xa5\x0f\xf0"


class RunningServer:
    """One server running in a background thread, seen from the test thread.

    Attributes:
        adapter: ``"asyncio"`` or ``"threading"``.
        port: The port it listens on, on 127.0.0.1.
    """

    def __init__(
        self, adapter: str, port: int, shutdown: Callable[[], None], count: Callable[[], int]
    ) -> None:
        self.adapter = adapter
        self.port = port
        self._shutdown = shutdown
        self._count = count
        self._done = False

    def url(self, path: str = "/") -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def connection_count(self) -> int:
        """How many connections the server holds, open or still in their opening handshake."""
        return self._count()

    def shutdown(self) -> None:
        """Shut the server down gracefully (1001 to every client) and wait for it; idempotent."""
        if not self._done:
            self._done = True
            self._shutdown()


@contextlib.contextmanager
def run_server(adapter: str, app: Any, **options: Any) -> Iterator[RunningServer]:
    """Serve ``app`` (a Handler or a Router) with ``adapter`` on 127.0.0.1, any free port.

    Leaving the block shuts the server down gracefully; connections still open
    after their close timeout are cut, so a hostile client cannot hang the test.
    """
    if adapter == "threading":
        with running(app, **options) as server:
            handle = RunningServer(
                adapter,
                server.port,
                server.shutdown,
                # The threading server keeps the sockets still in their handshake apart.
                lambda: len(server.connections) + len(server._handshaking),
            )
            try:
                yield handle
            finally:
                handle.shutdown()
    elif adapter == "asyncio":
        with _asyncio_server(app, **options) as handle:
            yield handle
    else:
        raise ValueError(f"unknown adapter {adapter!r}")


@contextlib.contextmanager
def _asyncio_server(app: Any, **options: Any) -> Iterator[RunningServer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="asyncio-server-loop", daemon=True)
    thread.start()

    def on_loop(coroutine: Any, timeout: float = WAIT) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    async def start() -> ws_asyncio.Server:
        return await ws_asyncio.serve(app, "127.0.0.1", 0, **options)

    async def count() -> int:
        return len(server.connections)

    async def stop() -> None:
        server.close()
        try:
            # Bounded: a connection the server fails to end would hang the test otherwise.
            await asyncio.wait_for(server.wait_closed(), options.get("close_timeout", 10) + 5)
        except TimeoutError:
            for ws in server.connections:
                if ws._transport is not None:
                    ws._transport.abort()
            await server.wait_closed()

    try:
        server: ws_asyncio.Server = on_loop(start())
        handle = RunningServer(
            "asyncio", server.port, lambda: on_loop(stop(), WAIT * 3), lambda: on_loop(count())
        )
        try:
            yield handle
        finally:
            handle.shutdown()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


# -- raw clients ---------------------------------------------------------------------------


def client_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bytes = MASK
) -> bytes:
    """A frame as a client sends it (masked, RFC 6455 §5.3)."""
    return serialize_frame(opcode, payload, fin=fin, rsv=rsv, mask_key=mask)


def handshake_request(port: int, path: str = "/", headers: str = "") -> bytes:
    """An RFC 6455 upgrade request for ``path``; ``headers``: more ``Name: value\\r\\n`` lines."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n{headers}\r\n"
    ).encode()


def open_raw(
    port: int, path: str = "/", *, receive_buffer: int | None = None, extra: bytes = b""
) -> tuple[socket.socket, bytes]:
    """Connect, send the upgrade request (and ``extra`` in the same write), read the 101 head.

    Args:
        port: The server's port.
        path: The request path.
        receive_buffer: ``SO_RCVBUF`` for the client socket, set before connecting
            (it stops the kernel from growing the buffer: a client that never reads
            then holds only this much of what the server sends).
        extra: Bytes sent right behind the request (frames pipelined with it).

    Returns:
        The socket, and whatever came after the response head in the reads
        that found it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    sock.sendall(handshake_request(port, path) + extra)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed during the handshake: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock, rest


def handshake_with_frames(port: int, path: str, frames: bytes) -> RawPeer:
    """Send the upgrade request for ``path`` and ``frames`` in one write; wait for the 101."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    conn = ClientConnection(f"ws://127.0.0.1:{port}{path}")
    sock.sendall(conn.data_to_send() + frames)
    peer = RawPeer(sock, conn)
    peer.until(Accept)
    return peer


def events_until(peer: RawPeer, kind: type[Event]) -> list[Event]:
    """Read until ``peer`` has an event of ``kind``; return (and forget) every event up to it."""
    while not any(isinstance(event, kind) for event in peer.events):
        if not peer.read():
            raise AssertionError(f"EOF before a {kind.__name__} event; got {peer.events}")
    index = next(i for i, event in enumerate(peer.events) if isinstance(event, kind))
    seen = peer.events[: index + 1]
    del peer.events[: index + 1]
    return seen


def http_exchange(port: int, request: bytes) -> tuple[int, bytes, bytes, str]:
    """Send a raw HTTP request; return the status, the head, the body and how the stream ended."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(request)
        response, ending = read_until_end(sock)
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body, ending


def read_until_end(sock: socket.socket, timeout: float = WAIT) -> tuple[bytes, str]:
    """Read until the stream ends; return what arrived and how it ended.

    The ending is ``"eof"`` (the server's FIN), ``"reset"`` (a reset) or
    ``"timeout"`` (nothing for ``timeout`` seconds: the server holds the stream).
    """
    received = bytearray()
    sock.settimeout(timeout)
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(received), "reset"
        except TimeoutError:
            return bytes(received), "timeout"
        if not chunk:
            return bytes(received), "eof"
        received += chunk


def flood(
    sock: socket.socket,
    chunk: bytes,
    total: int,
    *,
    stop: Callable[[], bool] = lambda: False,
    blocked_after: float = 2.0,
    deadline: float = 8.0,
) -> tuple[int, str]:
    """Send ``chunk`` again and again, never reading, until ``total`` bytes went out.

    Stops early when ``stop()`` is true (checked between chunks), when no byte
    could be sent for ``blocked_after`` seconds (the server stopped reading),
    when the stream fails, or after ``deadline`` seconds.

    Returns:
        The bytes sent and why it stopped: ``"total"``, ``"stop"``, ``"blocked"``,
        ``"reset"`` (or another ``OSError`` name) or ``"deadline"``.
    """
    sock.setblocking(False)
    view = memoryview(chunk)
    sent = 0
    give_up = time.monotonic() + deadline
    try:
        while sent < total:
            if stop():
                return sent, "stop"
            if time.monotonic() > give_up:
                return sent, "deadline"
            offset = 0
            while offset < len(chunk):
                try:
                    offset += sock.send(view[offset:])
                except BlockingIOError:
                    if not select.select([], [sock], [], blocked_after)[1]:
                        return sent + offset, "blocked"
                except ConnectionResetError:
                    return sent + offset, "reset"
                except OSError as error:
                    return sent + offset, type(error).__name__
            sent += len(chunk)
        return sent, "total"
    finally:
        sock.setblocking(True)
        sock.settimeout(WAIT)


def waits_for_io(thread: threading.Thread) -> bool:
    """Whether ``thread`` sleeps in a system call other than a lock's (Linux only).

    A server thread blocked in ``recv``, ``poll`` or ``epoll_wait`` is idle: it has
    done everything it knew of. One waiting for the GIL or a lock sleeps in a futex.
    """
    task = f"/proc/self/task/{thread.native_id}"

    def read(name: str) -> str:
        with open(f"{task}/{name}") as file:
            return file.read()

    # The three reads are not one snapshot: a thread seen sleeping (in a futex, waiting
    # for the GIL) may be running by the time wchan is read, which then says "0". So it
    # must sleep in the same place before and after its state is read.
    try:
        where = read("wchan")
        state = read("stat").rpartition(")")[2].split()[0]
        again = read("wchan")
    except OSError:  # the thread is gone
        return False
    return state == "S" and where == again and where not in ("", "0") and "futex" not in where


def wait_until(predicate: Callable[[], object], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return whether it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class ServerProcess:
    """A server of ``contract_server.py`` in a child process, to read its memory (RSS).

    Args:
        adapter: ``"asyncio"`` or ``"threading"``.
        handler: ``"echo"`` or ``"sender"`` (see ``contract_server.py``).

    Attributes:
        port: The port it listens on, on 127.0.0.1.
    """

    def __init__(self, adapter: str, handler: str = "echo") -> None:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract_server.py")
        self._process = subprocess.Popen(
            [sys.executable, script, adapter, handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self._ask(None, "port"))

    def _ask(self, command: str | None, answer: str) -> str:
        assert self._process.stdin is not None and self._process.stdout is not None
        if command is not None:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
        line = self._process.stdout.readline()
        name, _, value = line.strip().partition(" ")
        assert name == answer, (
            f"the server process answered {line!r} (exit code {self._process.poll()})"
        )
        return value

    def mark(self) -> int:
        """Reset the process's peak RSS; return its RSS now, in bytes."""
        return int(self._ask("mark", "rss"))

    def peak(self) -> int:
        """The process's peak RSS since :meth:`mark`, in bytes."""
        return int(self._ask("peak", "peak"))

    def sent(self) -> tuple[int, bool]:
        """How many messages the ``sender`` handler sent, and whether it is done."""
        count, _, done = self._ask("sent", "sent").partition(" ")
        return int(count), done == "1"

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        assert self._process.stdout is not None
        self._process.stdout.close()
