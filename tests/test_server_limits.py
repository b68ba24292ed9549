"""Server limits from outside: the connection cap's 503, and running out of file descriptors.

Each test runs ``python -m wsproto_core serve`` in a subprocess, once per adapter, and
talks to it over raw sockets. Nothing waits a fixed time for an event: every wait polls
for its condition, bounded by :data:`WAIT`.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest
from sync_helpers import running

from wsproto_core.__main__ import FD_RESERVE, main
from wsproto_core.examples import demo_router

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(180)

WAIT = 60.0
"""The bound on every wait, generous for a loaded machine."""
ADAPTERS = {"asyncio": (), "threads": ("--threads",)}
"""The ``serve`` options of each adapter, by test id."""

# The server: an open-file limit (0: unchanged), then the command line's own arguments.
# Only warnings and errors are logged: the accept failures, not a line per connection.
CHILD = """\
import logging, sys
limit = int(sys.argv.pop(1))
if limit:
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
from wsproto_core.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


class Served:
    """``serve --port 0 OPTIONS`` in a subprocess, its standard error in a file."""

    def __init__(self, tmp_path: Path, *options: str, nofile: int = 0) -> None:
        self.started = time.monotonic()
        self.stderr_path = tmp_path / "stderr.txt"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(nofile), "serve", "--port", "0", *options],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.fullmatch(r"serving on https?://127\.0\.0\.1:(\d+)/\n", line)
        if not match:
            self.stop()
            raise AssertionError(f"unexpected first line {line!r}; stderr:\n{self.stderr()}")
        self.port = int(match.group(1))

    def stderr(self) -> str:
        """What the server wrote to standard error so far."""
        return self.stderr_path.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """The server's CPU time so far, user and system."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_fds(self) -> int:
        """How many file descriptors the server holds."""
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def stop(self) -> None:
        """Stop the server: SIGTERM (its coverage is saved as it exits), SIGKILL if need be."""
        self.process.terminate()
        try:
            self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture(params=list(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The ``serve`` options of one adapter."""
    return ADAPTERS[request.param]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start a server with ``start(*options, nofile=N)``; each is killed at the end."""
    servers: list[Served] = []

    def start_one(*options: str, nofile: int = 0) -> Served:
        servers.append(Served(tmp_path, *options, nofile=nofile))
        return servers[-1]

    yield start_one
    for served in servers:
        served.stop()


def until(condition: Callable[[], object], what: str) -> None:
    """Poll ``condition`` until it holds, for :data:`WAIT` seconds at most."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {WAIT:g} s"
        time.sleep(0.05)


def request(path: str = "/echo") -> bytes:
    """A WebSocket opening handshake request."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def open_handshake(port: int, context: ssl.SSLContext | None = None) -> tuple[socket.socket, bytes]:
    """Connect (over TLS with ``context``) and send a handshake request; return the
    socket and the response head."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(request())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def read_to_eof(sock: socket.socket) -> bytes:
    """Read until the server's EOF; a reset fails the test (``ConnectionResetError``)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def served(port: int) -> bool:
    """Whether a new connection gets its 101 now (it is closed at once)."""
    sock, head = open_handshake(port)
    with sock:
        return head.startswith(b"HTTP/1.1 101 ")


def assert_unavailable(response: bytes) -> None:
    """``response`` is the whole 503 the servers send beyond their cap."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 Service Unavailable"
    assert b"Retry-After: 5" in lines[1:]
    assert b"Connection: close" in lines[1:]
    assert body == b"Too many connections: try again later.\n"


# -- the cap --------------------------------------------------------------------------------


def test_a_connection_over_the_cap_gets_503_and_eof_until_one_closes(
    start: Callable[..., Served], adapter: tuple[str, ...]
) -> None:
    server = start("--max-connections", "2", *adapter)
    first, head = open_handshake(server.port)
    assert head.startswith(b"HTTP/1.1 101 ")
    second, head = open_handshake(server.port)
    assert head.startswith(b"HTTP/1.1 101 ")

    third, head = open_handshake(server.port)
    with third:
        assert_unavailable(head + read_to_eof(third))  # then EOF, not a reset
    assert "max_connections (2) reached: 1 connection answered 503" in server.stderr()

    first.close()
    until(lambda: served(server.port), "101 once a connection closed")
    second.close()


def test_connections_still_handshaking_count_toward_the_cap(
    start: Callable[..., Served], adapter: tuple[str, ...]
) -> None:
    server = start("--max-connections", "2", *adapter)
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) for _ in "ab"]
    try:
        third, head = open_handshake(server.port)
        with third:
            assert_unavailable(head + read_to_eof(third))
    finally:
        for sock in silent:
            sock.close()
    until(lambda: served(server.port), "101 once the silent connections closed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_refused_clients_that_stay_connected_are_let_go(
    start: Callable[..., Served], adapter: tuple[str, ...]
) -> None:
    server = start("--max-connections", "1", *adapter)
    before = server.open_fds()
    first, head = open_handshake(server.port)
    with first:
        assert head.startswith(b"HTTP/1.1 101 ")
        refused = []
        try:
            for _ in range(5):
                sock, head = open_handshake(server.port)
                refused.append(sock)
                assert_unavailable(head + read_to_eof(sock))
            # They neither close nor send: the server closes them after a while.
            until(lambda: server.open_fds() == before + 1, "refused sockets closed")
        finally:
            for sock in refused:
                sock.close()


def test_over_tls_the_503_comes_after_the_tls_handshake(
    start: Callable[..., Served], adapter: tuple[str, ...], tls_certificate: tuple[Path, Path]
) -> None:
    cert, key = tls_certificate
    server = start(
        "--max-connections", "1", "--tls-cert", str(cert), "--tls-key", str(key), *adapter
    )
    context = ssl.create_default_context(cafile=str(cert))

    def open_tls() -> tuple[ssl.SSLSocket, bytes]:
        sock, head = open_handshake(server.port, context)
        assert isinstance(sock, ssl.SSLSocket)
        return sock, head

    first, head = open_tls()
    with first:
        assert head.startswith(b"HTTP/1.1 101 ")
        second, head = open_tls()
        with second:
            assert_unavailable(head + read_to_eof(second))


def test_the_default_cap_answers_503_before_descriptors_run_out(
    start: Callable[..., Served], adapter: tuple[str, ...]
) -> None:
    nofile = 64
    server = start(*adapter, nofile=nofile)
    cap = nofile - FD_RESERVE
    clients = []
    try:
        for _ in range(cap):
            sock, head = open_handshake(server.port)
            clients.append(sock)
            assert head.startswith(b"HTTP/1.1 101 ")
        for _ in range(8):
            sock, head = open_handshake(server.port)
            with sock:
                assert_unavailable(head + read_to_eof(sock))
    finally:
        for sock in clients:
            sock.close()
    assert "accept failed" not in server.stderr()
    assert f"max_connections ({cap}) reached: 1 connection answered 503" in server.stderr()


def test_threads_a_connection_whose_thread_cannot_start_gets_503(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    start_thread = threading.Thread.start

    def no_connection_thread(thread: threading.Thread) -> None:
        if thread.name.startswith("wsproto-conn-"):
            raise RuntimeError("can't start new thread")
        start_thread(thread)

    with running(demo_router()) as server:
        with monkeypatch.context() as patch:
            patch.setattr(threading.Thread, "start", no_connection_thread)
            sock, head = open_handshake(server.port)
            with sock:
                assert_unavailable(head + read_to_eof(sock))
        until(lambda: served(server.port), "101 once threads start again")
    assert "cannot start a connection's thread: can't start new thread; pausing accepts" in (
        caplog.text
    )


def test_max_connections_must_be_positive() -> None:
    from wsproto_core.asyncio import serve as serve_asyncio
    from wsproto_core.sync import serve as serve_threads

    async def handler(ws: object) -> None:
        pass

    with pytest.raises(ValueError, match="max_connections must be positive"):
        serve_asyncio(handler, max_connections=0)
    with pytest.raises(ValueError, match="max_connections must be positive"):
        serve_threads(lambda ws: None, "127.0.0.1", 0, max_connections=0)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--max-connections", "-1"])
    assert info.value.code == 2


# -- out of file descriptors ------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_out_of_descriptors_logs_a_line_a_second_stays_idle_and_recovers(
    start: Callable[..., Served], adapter: tuple[str, ...]
) -> None:
    # 64 descriptors, no cap: past about 55 connections, accept() fails with EMFILE.
    server = start("--max-connections", "0", *adapter, nofile=64)
    clients = []
    try:
        for _ in range(100):  # the ones not accepted wait in the listen backlog
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
            sock.sendall(request())
            clients.append(sock)
        until(lambda: "Too many open files" in server.stderr(), "EMFILE logged")

        # While the clients stay, the server must idle, not spin on accept().
        cpu, wall = server.cpu_seconds(), time.monotonic()
        window = wall + 2.0
        while time.monotonic() < window:  # a measurement window, not a wait for an event
            time.sleep(0.1)
        cpu, wall = server.cpu_seconds() - cpu, time.monotonic() - wall
        assert cpu < 0.5 * wall, f"{cpu:.2f} s of CPU in {wall:.2f} s"
    finally:
        for sock in clients:
            sock.close()

    until(lambda: served(server.port), "101 once descriptors were free")
    lines = server.stderr().splitlines()
    elapsed = time.monotonic() - server.started
    assert len(lines) <= elapsed + 3, f"{len(lines)} lines in {elapsed:.1f} s"
    assert all("accept" in line for line in lines), lines  # no traceback
    assert "Too many open files [EMFILE]" in lines[0]
