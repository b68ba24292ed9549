"""Benchmark: the threading server against ``websockets.sync.server``, echoing 32-byte messages.

Each server runs in its own process; this process drives N concurrent clients
over raw sockets (one thread, ``selectors``, frames encoded once), so both
servers see the same bytes and the client's cost is not counted. Reported per
server:

* CPU per round trip: the server process's user + system time (from
  ``/proc/<pid>/stat``) over the run, divided by the number of round trips;
  the median of ``--repeat`` runs, the servers taking turns so that load from
  elsewhere on the machine falls on all of them alike;
* memory per connection: the growth of its resident set (``VmRSS``) with K idle
  connections open, divided by K.

Figures are printed, not asserted. Linux only (``/proc``). Run::

    .venv/bin/python benchmarks/bench_sync_server.py [--clients 1 16 64] [--round-trips 20000]
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time

from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.connection import ClientConnection
from wsproto_core.events import Accept

SERVERS = ("wsproto_core function", "wsproto_core handler", "websockets")
MESSAGE = b"m" * 32
REPLY_SIZE = 2 + len(MESSAGE)  # an unmasked server frame: 2-byte header, payload
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the server process ---------------------------------------------------------------------


def run_server(kind: str) -> None:
    """Serve an echo on a free port, print the port, serve until killed."""
    if kind == "websockets":
        from websockets.sync.server import serve as their_serve

        def their_echo(ws: object) -> None:
            for message in ws:  # type: ignore[attr-defined]
                ws.send(message)  # type: ignore[attr-defined]

        server = their_serve(their_echo, "127.0.0.1", 0)
        port = server.socket.getsockname()[1]
    else:
        from wsproto_core.examples import EchoHandler
        from wsproto_core.sync import Connection, serve

        def echo(ws: Connection) -> None:
            for message in ws:
                ws.send(message)

        app = echo if kind == "wsproto_core function" else EchoHandler()
        server = serve(app, "127.0.0.1", 0)  # type: ignore[assignment]
        port = server.port  # type: ignore[attr-defined]
    print(port, flush=True)
    server.serve_forever()


# -- measuring ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid``."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def open_client(port: int) -> socket.socket:
    """Connect and finish a version 13 handshake; return the socket."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = ClientConnection(f"ws://127.0.0.1:{port}/")
    sock.sendall(conn.data_to_send())
    while not any(isinstance(event, Accept) for event in conn.events()):
        data = sock.recv(4096)
        if not data:
            raise ConnectionError("the server closed during the handshake")
        conn.receive_data(data)
    return sock


def echo_round_trips(socks: list[socket.socket], per_client: int) -> None:
    """Each client sends a 32-byte text message and waits for the echo, ``per_client`` times."""
    frame = Rfc6455Codec(client=True, max_message_size=None).send_text(MESSAGE.decode())
    selector = selectors.DefaultSelector()
    remaining = {}
    pending = {}
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        remaining[sock] = per_client
        pending[sock] = REPLY_SIZE
        sock.send(frame)
    active = len(socks)
    while active:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed a connection")
            pending[sock] -= len(data)
            if pending[sock] > 0:
                continue
            remaining[sock] -= 1
            pending[sock] = REPLY_SIZE
            if remaining[sock]:
                sock.send(frame)
            else:
                active -= 1
    selector.close()


def start_server(kind: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def measure_cpu(kind: str, clients: int, round_trips: int) -> float:
    """Server CPU microseconds per round trip with ``clients`` concurrent clients."""
    process, port = start_server(kind)
    try:
        socks = [open_client(port) for _ in range(clients)]
        echo_round_trips(socks, 50)  # warm up
        for sock in socks:
            sock.setblocking(True)
        per_client = max(1, round_trips // clients)
        before = cpu_seconds(process.pid)
        echo_round_trips(socks, per_client)
        used = cpu_seconds(process.pid) - before
        for sock in socks:
            sock.close()
        return used / (per_client * clients) * 1e6
    finally:
        process.kill()
        process.wait()


def measure_memory(kind: str, connections: int) -> float:
    """Growth of the server's resident set per idle connection, in KiB."""
    process, port = start_server(kind)
    try:
        socks = [open_client(port)]  # load what the first connection imports
        time.sleep(0.5)
        before = rss_bytes(process.pid)
        socks += [open_client(port) for _ in range(connections)]
        echo_round_trips(socks[1:], 1)  # every connection has carried a message
        time.sleep(0.5)
        after = rss_bytes(process.pid)
        for sock in socks:
            sock.close()
        return (after - before) / connections / 1024
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--round-trips", type=int, default=20000)
    parser.add_argument("--idle-connections", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        run_server(args.serve)
        return
    print(f"echo of {len(MESSAGE)}-byte text messages, {args.round_trips} round trips per run")
    print(f"{'server':<24}{'clients':>8}{'CPU µs/round trip':>20}{'vs websockets':>15}")
    for clients in args.clients:
        runs: dict[str, list[float]] = {kind: [] for kind in SERVERS}
        for _ in range(args.repeat):
            for kind in SERVERS:
                runs[kind].append(measure_cpu(kind, clients, args.round_trips))
        figures = {kind: statistics.median(values) for kind, values in runs.items()}
        for kind in SERVERS:
            ratio = figures[kind] / figures["websockets"]
            print(f"{kind:<24}{clients:>8}{figures[kind]:>20.1f}{ratio:>14.2f}x")
    print(f"\nmemory with {args.idle_connections} idle connections")
    print(f"{'server':<24}{'KiB/connection':>16}")
    for kind in SERVERS:
        print(f"{kind:<24}{measure_memory(kind, args.idle_connections):>16.1f}")


if __name__ == "__main__":
    main()
