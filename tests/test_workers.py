"""``serve --workers N``, from outside: real processes, real sockets, bytes on the wire.

Both adapters (asyncio, ``--threads``) and both ways of sharing the port
(``SO_REUSEPORT``, and the listening socket inherited from the parent, forced
with ``WSPROTO_CORE_NO_REUSEPORT=1``). Which worker holds a connection is read
from ``/proc`` (Linux): the server end's socket inode, found in a worker's file
descriptors. Nothing sleeps: each wait is for a line, a byte or an exit.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from wsproto_core.connection import ClientConnection
from wsproto_core.events import Accept, TextMessage

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to see the workers"
)

PYTHON = [sys.executable, "-m", "wsproto_core"]
WAIT = 60
"""Seconds any step may take: generous, for a loaded machine."""
CLOSE_1001 = b"\x88\x16\x03\xe9server shutting down"
"""The server's close frame at shutdown, byte for byte: FIN + close, 22 bytes, 1001, reason."""
FLAVOURS = {
    "asyncio-reuseport": ((), "0"),
    "asyncio-inherited": ((), "1"),
    "threads-reuseport": (("--threads",), "0"),
    "threads-inherited": (("--threads",), "1"),
}


class Workers:
    """``serve --workers 2 --port 0 ...`` running."""

    def __init__(self, *options: str, no_reuseport: str = "0") -> None:
        env = {**os.environ, "WSPROTO_CORE_NO_REUSEPORT": no_reuseport}
        self.process = subprocess.Popen(
            [*PYTHON, "serve", "--port", "0", "--workers", "2", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a process group of its own: killed whole after a failure
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.fullmatch(r"serving on http://127\.0\.0\.1:(\d+)/\n", line)
        if not match:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(f"unexpected {line!r}; stderr: {self.process.communicate()[1]}")
        self.port = int(match.group(1))

    def workers(self) -> set[int]:
        """The pids of the server's child processes."""
        children = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # gone meanwhile
                if int(fields[1]) == self.process.pid:
                    children.add(int(entry))
        return children

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signum``; return the exit status and stderr."""
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, err


@contextmanager
def workers(*options: str, no_reuseport: str = "0") -> Iterator[Workers]:
    server = Workers(*options, no_reuseport=no_reuseport)
    try:
        yield server
    finally:
        if server.process.poll() is None or server.workers():
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.communicate()


def _tcp_table() -> list[list[str]]:
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            rows += [line.split() for line in list(lines)[1:]]
    return rows


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port`` (state 0A)."""
    return {row[9] for row in _tcp_table() if _port(row[1]) == port and row[3] == "0A"}


def holder(server: Workers, client: Client) -> int:
    """The pid of the worker holding the server end of ``client``'s connection."""
    client_port = client.sock.getsockname()[1]
    inodes = {
        row[9]
        for row in _tcp_table()
        if _port(row[1]) == server.port and _port(row[2]) == client_port
    }
    for pid in server.workers():
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return pid
    raise AssertionError("no worker holds the connection")


class Client:
    """A WebSocket client on a blocking socket, without compression: frames stay readable."""

    def __init__(self, port: int, path: str = "/echo") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.conn = ClientConnection(f"ws://127.0.0.1:{port}{path}")
        self.sock.sendall(self.conn.data_to_send())
        while True:
            self.conn.receive_data(self.sock.recv(65536))
            events = list(self.conn.events())
            if events:
                assert isinstance(events[0], Accept), events
                break

    def send(self, *messages: str) -> None:
        """Send ``messages`` in one write."""
        for message in messages:
            self.conn.send_text(message)
        self.sock.sendall(self.conn.data_to_send())

    def recv(self) -> str:
        """The next message."""
        while True:
            for event in self.conn.events():
                assert isinstance(event, TextMessage), event
                return event.data
            self.conn.receive_data(self.sock.recv(65536))

    def until_eof(self) -> bytes:
        """Every byte until the server ends the stream (answering its close); then close."""
        received = bytearray()
        while data := self.sock.recv(65536):
            received += data
            self.conn.receive_data(data)
            for _ in self.conn.events():
                pass  # the server's close queues our echo
            self.sock.sendall(self.conn.data_to_send())
        self.sock.close()
        return bytes(received)

    def close(self) -> None:
        self.sock.close()


def spread(server: Workers, count: int = 200) -> dict[int, list[Client]]:
    """Connect until both workers hold a client; return them by worker pid."""
    by_worker: dict[int, list[Client]] = {}
    for _ in range(count):
        client = Client(server.port)
        by_worker.setdefault(holder(server, client), []).append(client)
        if len(by_worker) == 2:
            return by_worker
    raise AssertionError(f"all {count} connections went to one worker")


# -- sharing the port ----------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_workers_share_the_port_and_both_serve(flavour: str) -> None:
    options, no_reuseport = FLAVOURS[flavour]
    with workers(*options, "--stats-path", "/stats", no_reuseport=no_reuseport) as server:
        pids = server.workers()
        assert len(pids) == 2
        # SO_REUSEPORT: a listening socket per worker; else the one both inherited.
        assert len(listening_sockets(server.port)) == (1 if no_reuseport == "1" else 2)
        by_worker = spread(server)
        assert set(by_worker) == pids
        for clients in by_worker.values():
            for client in clients:
                client.send("ping")
                assert client.recv() == "ping"
                client.close()
        answered = set()
        for _ in range(200):  # each GET is a new connection: the kernel spreads them too
            url = f"http://127.0.0.1:{server.port}/stats"
            with urllib.request.urlopen(url, timeout=WAIT) as response:
                answered.add(json.load(response)["pid"])
            if answered == pids:
                break
        assert answered == pids
        status, err = server.stop()
    assert status == 0, err


# -- graceful shutdown -----------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_sigterm_closes_every_client_of_every_worker_with_1001(flavour: str) -> None:
    options, no_reuseport = FLAVOURS[flavour]
    with workers(*options, "--stats-interval", "3600", no_reuseport=no_reuseport) as server:
        by_worker = spread(server)
        clients = [client for group in by_worker.values() for client in group]
        sent = [f"message {i:04}" for i in range(300)]
        for client in clients:
            client.send(*sent)  # in flight when SIGTERM comes
        server.process.send_signal(signal.SIGTERM)
        echoed = 0
        for client in clients:
            received = client.until_eof()
            # What came back: echoes of the first k messages in order, then the close frame.
            assert received.endswith(CLOSE_1001), received[-40:]
            frames = received[: -len(CLOSE_1001)]
            k = 0
            while frames:
                expected = b"\x81\x0c" + sent[k].encode()
                assert frames.startswith(expected), (k, frames[:20])
                frames = frames[len(expected) :]
                k += 1
            echoed += k
            client.close()
        _, err = server.process.communicate(timeout=WAIT)
    assert server.process.returncode == 0, err
    # One last stats line per worker: every echo it counted reached its client.
    finals = re.findall(r"stats pid=(\d+) .* messages_out=(\d+) ", err)
    assert {int(pid) for pid, _ in finals} == set(by_worker)
    assert sum(int(out) for _, out in finals) == echoed


@pytest.mark.parametrize("flavour", ["asyncio-reuseport", "threads-inherited"])
def test_a_worker_that_dies_is_logged_and_the_parent_exits_1(flavour: str) -> None:
    options, no_reuseport = FLAVOURS[flavour]
    with workers(*options, no_reuseport=no_reuseport) as server:
        by_worker = spread(server)
        victim, survivor = sorted(by_worker)
        os.kill(victim, signal.SIGKILL)
        for client in by_worker[survivor]:
            assert client.until_eof().endswith(CLOSE_1001)  # the others stop gracefully
        _, err = server.process.communicate(timeout=WAIT)
    assert server.process.returncode == 1, err
    assert f"worker {victim} died (killed by SIGKILL): stopping the others" in err


def test_sigint_stops_the_workers_too() -> None:
    with workers("--threads") as server:
        by_worker = spread(server)
        server.process.send_signal(signal.SIGINT)
        for clients in by_worker.values():
            for client in clients:
                assert client.until_eof().endswith(CLOSE_1001)
        status, err = server.stop(signal.SIGINT)  # a second one changes nothing
    assert status == 0, err


_AFTER_THE_STOP = """
import os, signal, sys
from wsproto_core._workers import run_workers

def target(listening, ready):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ready()
    while not stop:
        signal.pause()

def serving(port):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once every worker serves

status = run_workers(2, target, "127.0.0.1", 0, serving)
os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C, the workers gone
print("exit", status, signal.getsignal(signal.SIGINT) is signal.SIG_IGN, flush=True)
"""


def test_a_second_sigint_after_the_workers_stopped_changes_nothing() -> None:
    # The race behind test_sigint_stops_the_workers_too, made certain: the second
    # signal arrives once run_workers has returned, not while it waits for the workers.
    done = subprocess.run(
        [sys.executable, "-c", _AFTER_THE_STOP], capture_output=True, text=True, timeout=WAIT
    )
    assert (done.returncode, done.stdout) == (0, "exit 0 True\n"), done.stderr


# -- what a worker had read is answered before its close ----------------------------------


def test_threads_a_close_from_another_thread_waits_for_the_messages_read() -> None:
    from wsproto_core.handlers import Handler, HandlerConnection
    from wsproto_core.sync import serve

    entered, release = threading.Event(), threading.Event()
    connections: list[HandlerConnection] = []

    class Slow(Handler):
        def on_connect(self, conn: HandlerConnection) -> None:
            connections.append(conn)

        def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
            if message == "slow":
                entered.set()
                release.wait(WAIT)
            conn.send(message)

    with serve(Slow(), "127.0.0.1", 0, compression=None) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        client = Client(server.port)
        client.send("slow", "a", "b")  # one write: read at once
        assert entered.wait(WAIT)
        connections[0].close(1001, "server shutting down")  # while "slow" is handled
        release.set()
        assert client.until_eof() == (b"\x81\x04slow" + b"\x81\x01a" + b"\x81\x01b" + CLOSE_1001)
        server.shutdown()
        thread.join()


def test_asyncio_shutdown_waits_for_the_messages_read() -> None:
    import asyncio

    from wsproto_core.asyncio import serve
    from wsproto_core.handlers import Handler, HandlerConnection

    async def main() -> bytes:
        entered, release = asyncio.Event(), asyncio.Event()

        class Slow(Handler):
            async def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
                if message == "slow":
                    entered.set()
                    await release.wait()
                conn.send(message)

        server = await serve(Slow(), "127.0.0.1", 0, compression=None)
        client = await asyncio.to_thread(Client, server.port)
        client.send("slow", "a", "b")
        await asyncio.wait_for(entered.wait(), WAIT)
        server.close()  # while "slow" is handled, "a" and "b" wait behind it
        release.set()
        received = await asyncio.to_thread(client.until_eof)
        await server.wait_closed()
        return received

    assert asyncio.run(main()) == b"\x81\x04slow" + b"\x81\x01a" + b"\x81\x01b" + CLOSE_1001
