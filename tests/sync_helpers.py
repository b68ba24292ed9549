"""Helpers for the threading adapter tests: running servers, connected pairs, raw peers."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from wsproto_core.connection import ClientConnection, ServerConnection
from wsproto_core.events import Accept, Request
from wsproto_core.sync import Connection, Server, connect, serve

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wsproto_core.events import Event

WAIT = 10.0
"""The bound on every wait in these tests, passed or failed."""


@contextlib.contextmanager
def running(app: Any, **options: Any) -> Iterator[Server]:
    """Serve ``app`` on 127.0.0.1 (any free port) in a thread; shut it down at the end."""
    server = serve(app, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(WAIT)


@contextlib.contextmanager
def ws_pair(
    server_options: dict[str, Any] | None = None, **client_options: Any
) -> Iterator[tuple[Connection, Connection]]:
    """A connected (server side, client side) pair of blocking connections.

    The server's function hands its connection over and waits for the end of
    the test, so the test drives both ends.
    """
    handed: queue.Queue[Connection] = queue.Queue()
    finished = threading.Event()

    def handler(ws: Connection) -> None:
        handed.put(ws)
        finished.wait(WAIT * 3)

    with running(handler, **(server_options or {})) as server:
        client = connect(f"ws://127.0.0.1:{server.port}/", **client_options)
        try:
            yield handed.get(timeout=WAIT), client
        finally:
            finished.set()
            client.close()


@contextlib.contextmanager
def raw_server(**client_options: Any) -> Iterator[tuple[RawPeer, Connection]]:
    """A hand-driven server peer and our client connected to it: ``(peer, client)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: queue.Queue[RawPeer] = queue.Queue()
    thread = threading.Thread(target=lambda: accepted.put(RawPeer.accept(listener)), daemon=True)
    thread.start()
    try:
        client = connect(f"ws://127.0.0.1:{listener.getsockname()[1]}/", **client_options)
        peer = accepted.get(timeout=WAIT)
        try:
            yield peer, client
        finally:
            client.abort()
            client.wait_closed()
            peer.close()
    finally:
        listener.close()


def wait_for(predicate: Callable[[], object], timeout: float = WAIT) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class RawPeer:
    """A peer over a raw socket driven by hand through a sans-IO connection.

    What it owes (pongs, close echoes) is written only when :meth:`flush` is
    called, so a test can choose not to answer.
    """

    def __init__(self, sock: socket.socket, conn: ClientConnection | ServerConnection) -> None:
        self.sock = sock
        self.conn = conn
        self.events: list[Event] = []
        sock.settimeout(WAIT)

    @classmethod
    def connect(cls, port: int, path: str = "/", **options: Any) -> RawPeer:
        """Open a client and finish its handshake."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        peer = cls(sock, ClientConnection(f"ws://127.0.0.1:{port}{path}", **options))
        peer.flush()
        peer.until(Accept)
        return peer

    @classmethod
    def accept(cls, listener: socket.socket, **options: Any) -> RawPeer:
        """Accept one client on ``listener`` and accept its handshake."""
        listener.settimeout(WAIT)
        sock, _ = listener.accept()
        peer = cls(sock, ServerConnection(**options))
        peer.until(Request)
        assert isinstance(peer.conn, ServerConnection)
        peer.conn.accept()
        peer.flush()
        return peer

    def flush(self) -> None:
        """Write what the connection owes."""
        self.sock.sendall(self.conn.data_to_send())

    def read(self) -> bytes:
        """Read once, feed the connection, collect its events; return the bytes."""
        data = self.sock.recv(65536)
        self.conn.receive_data(data)
        self.events.extend(self.conn.events())
        return data

    def until(self, kind: type[Event]) -> Event:
        """Read until an event of ``kind`` arrives; return it (and forget it and earlier ones)."""
        while True:
            for index, event in enumerate(self.events):
                if isinstance(event, kind):
                    del self.events[: index + 1]
                    return event
            if not self.read():
                raise AssertionError(f"EOF before a {kind.__name__} event")

    def read_to_eof(self) -> None:
        """Read (feeding the connection) until the other side closes the stream."""
        while self.read():
            pass

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
