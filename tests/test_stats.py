"""``Server.stats()`` on both adapters, the JSON endpoint, and ``serve --stats-interval``.

Counts are checked exactly against what real clients sent and received, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core.connection import ClientConnection
from wsproto_core.events import Accept, Close, TextMessage
from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Router
from wsproto_core.stats import ServerStats, rss_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WAIT = 60


class CountingClient:
    """A WebSocket client on a blocking socket that counts every byte each way."""

    def __init__(self, port: int, path: str = "/echo") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.conn = ClientConnection(f"ws://127.0.0.1:{port}{path}")
        self.sent = self.received = 0
        self._write()
        assert isinstance(self._next_event(), Accept)

    def _write(self) -> None:
        data = self.conn.data_to_send()
        self.sent += len(data)
        self.sock.sendall(data)

    def _next_event(self) -> object:
        while True:
            for event in self.conn.events():
                self._write()
                return event
            data = self.sock.recv(65536)
            self.received += len(data)
            self.conn.receive_data(data)

    def echo(self, message: str) -> None:
        self.conn.send_text(message)
        self._write()
        event = self._next_event()
        assert isinstance(event, TextMessage) and event.data == message

    def close(self) -> None:
        """Close (1000) and read until the server's EOF."""
        self.conn.close(1000)
        self._write()
        assert isinstance(self._next_event(), Close)
        while data := self.sock.recv(65536):
            self.received += len(data)
        self.sock.close()


def _asyncio_server(router: Router) -> Iterator[tuple[int, Callable[[], ServerStats]]]:
    """Serve ``router`` on a loop in another thread; yield the port and a thread-safe ``stats``."""
    from wsproto_core.asyncio import serve

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()

    async def start() -> Any:
        return await serve(router, "127.0.0.1", 0, compression=None)

    async def stats() -> ServerStats:
        return server.stats()

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)
    router.add_stats_endpoint("/stats", server.stats)  # called on the loop
    try:
        yield server.port, lambda: asyncio.run_coroutine_threadsafe(stats(), loop).result(WAIT)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _threads_server(
    router: Router, endpoint: bool = True
) -> Iterator[tuple[int, Callable[[], ServerStats]]]:
    """Serve ``router`` in a thread; yield the port and ``stats``."""
    from wsproto_core.sync import serve

    server = serve(router, "127.0.0.1", 0, compression=None)
    if endpoint:
        router.add_stats_endpoint("/stats", server.stats)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield server.port, server.stats
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(params=["asyncio", "threads"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[int, Callable[[], ServerStats]]]:
    """An echo server on ``/echo``, with ``/stats``: its port and its ``stats``."""
    router = Router()
    router.route("/echo", EchoHandler())
    runner = _asyncio_server if request.param == "asyncio" else _threads_server
    generator = runner(router)
    yield next(generator)
    next(generator, None)


def test_a_new_server_holds_nothing(served: tuple[int, Callable[[], ServerStats]]) -> None:
    _, stats = served
    snapshot = stats()
    assert (snapshot.connections, snapshot.handshaking, snapshot.accepted) == (0, 0, 0)
    assert (snapshot.messages_in, snapshot.messages_out) == (0, 0)
    assert (snapshot.bytes_in, snapshot.bytes_out, snapshot.refused) == (0, 0, 0)
    assert snapshot.uptime >= 0


def test_stats_count_connections_messages_and_bytes_exactly(
    served: tuple[int, Callable[[], ServerStats]],
) -> None:
    port, stats = served
    clients = [CountingClient(port) for _ in range(2)]
    for client in clients:
        for message in ("a", "bb" * 100, "ccc" * 30_000):  # 7-bit, 16-bit, 64-bit lengths
            client.echo(message)
    open_now = stats()
    assert (open_now.connections, open_now.handshaking, open_now.accepted) == (2, 0, 2)
    assert (open_now.messages_in, open_now.messages_out) == (6, 6)
    assert open_now.bytes_in == sum(client.sent for client in clients)
    assert open_now.bytes_out == sum(client.received for client in clients)
    for client in clients:
        client.close()  # the close frames count too
    closed = stats()
    assert (closed.accepted, closed.messages_in, closed.messages_out) == (2, 6, 6)
    assert closed.bytes_in == sum(client.sent for client in clients)
    assert closed.bytes_out == sum(client.received for client in clients)


def test_stats_report_the_memory_held(served: tuple[int, Callable[[], ServerStats]]) -> None:
    _, stats = served
    rss = stats().rss
    if sys.platform.startswith("linux"):
        assert rss is not None and 1 << 20 < rss < 1 << 34
    else:
        assert rss is None


def test_the_stats_endpoint_answers_json(served: tuple[int, Callable[[], ServerStats]]) -> None:
    port, _ = served
    client = CountingClient(port)
    client.echo("x")
    client.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=WAIT) as response:
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        body = json.load(response)
    assert set(body) == set(ServerStats.__dataclass_fields__)
    assert (body["accepted"], body["messages_in"], body["messages_out"]) == (2, 1, 1)
    assert body["handshaking"] == 1  # this very request


def test_the_stats_endpoint_refuses_other_methods(
    served: tuple[int, Callable[[], ServerStats]],
) -> None:
    port, _ = served
    request = urllib.request.Request(f"http://127.0.0.1:{port}/stats", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=WAIT)
    assert info.value.code == 405
    info.value.close()


def test_there_is_no_stats_endpoint_unless_added() -> None:
    router = Router()
    router.route("/echo", EchoHandler())
    generator = _threads_server(router, endpoint=False)
    port, _ = next(generator)
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=WAIT)
        assert info.value.code == 404
        info.value.close()
    finally:
        next(generator, None)


def test_a_stats_endpoint_path_cannot_be_taken_twice() -> None:
    router = Router()
    router.page("/stats", b"page")
    with pytest.raises(ValueError, match="already has a page"):
        router.add_stats_endpoint("/stats", lambda: None)  # type: ignore[arg-type, return-value]


def test_the_log_line_names_every_count() -> None:
    line = ServerStats(7, 12.3, 2, 1, 10, 3, 4, 5, 600, 700, 3 * 2**20).log_line()
    assert line == (
        "stats pid=7 uptime=12s connections=2 handshaking=1 accepted=10 refused=3 "
        "messages_in=4 messages_out=5 bytes_in=600 bytes_out=700 rss=3.0MiB"
    )


def test_rss_is_the_resident_set_size_of_this_process() -> None:
    rss = rss_bytes()
    if not sys.platform.startswith("linux"):
        assert rss is None
        return
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert rss is not None and abs(rss - kib * 1024) < 8 << 20


@pytest.mark.parametrize("flavour", [(), ("--threads",)], ids=["asyncio", "threads"])
def test_serve_stats_interval_logs_a_line_per_period(flavour: tuple[str, ...]) -> None:
    command = [sys.executable, "-m", "wsproto_core", "serve", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--stats-interval", "0.05", *flavour],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(2)]  # waits for two periods
        for line in lines:
            assert re.search(
                rf" stats pid={process.pid} uptime=\d+s connections=0 handshaking=0 accepted=0 "
                r"refused=0 messages_in=0 messages_out=0 bytes_in=0 bytes_out=0 "
                r"rss=\d+\.\dMiB\n$",
                line,
            ), line
    finally:
        process.terminate()
        _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    assert re.search(r"shutting down\n.* stats pid=\d+ .*\n$", err), err[-300:]
