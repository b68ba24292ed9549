"""Benchmark of ``serve --workers N``: aggregate echo throughput and server CPU per round trip.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_workers.py [--quick]``

For each adapter (asyncio, ``--threads``) and 1 and 2 workers, the demo server
runs as ``python -m wsproto_core serve --no-compression`` and client processes
(separate from the server's, our asyncio client each) keep CONNECTIONS
connections echoing 32-byte messages, one round trip at a time per connection.
Printed: messages per second over all clients, the server's CPU time (every
worker, and the parent) per round trip, and the clients' CPU per round trip.
Linux only (it reads ``/proc``). Prints figures, asserts nothing.

On a 2-core machine the clients share the cores with the server: with 2 workers
the server can use both cores only while the clients leave them free, so the
throughput measures the whole machine, client included, and the CPU per round trip
is the fairer figure for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time

MESSAGE = b"x" * 32


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (its own threads, not its children)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _family(pid: int) -> list[int]:
    """``pid`` and its children."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


# -- a client process ----------------------------------------------------------------------


async def _client(port: int, connections: int, round_trips: int) -> None:
    from wsproto_core.asyncio import connect

    sockets = [
        await connect(f"ws://127.0.0.1:{port}/echo", compression=None) for _ in range(connections)
    ]
    print("ready", flush=True)
    sys.stdin.readline()  # go

    async def echo(ws: object) -> None:
        for _ in range(round_trips):
            await ws.send(MESSAGE)  # type: ignore[attr-defined]
            await ws.recv()  # type: ignore[attr-defined]

    await asyncio.gather(*(echo(ws) for ws in sockets))
    print("done", flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets))


# -- the driver ----------------------------------------------------------------------------


def _measure(adapter: str, workers: int, clients: int, connections: int, trips: int) -> str:
    options = ["--threads"] if adapter == "threads" else []
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wsproto_core",
            "serve",
            "--port",
            "0",
            "--no-compression",
            "--workers",
            str(workers),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    port = int(re.findall(r":(\d+)/", server.stdout.readline())[0])
    script = os.path.abspath(__file__)
    procs = [
        subprocess.Popen(
            [sys.executable, script, "--client", str(port), str(connections), str(trips)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    server_pids = _family(server.pid)
    server_cpu = sum(_cpu_seconds(pid) for pid in server_pids)
    client_cpu = sum(_cpu_seconds(proc.pid) for proc in procs)
    start = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "done\n"
    elapsed = time.perf_counter() - start
    server_cpu = sum(_cpu_seconds(pid) for pid in server_pids) - server_cpu
    client_cpu = sum(_cpu_seconds(proc.pid) for proc in procs) - client_cpu
    for proc in procs:
        proc.communicate()
    server.terminate()
    server.communicate()
    total = clients * connections * trips
    return (
        f"  {adapter:8} {workers} worker{'s' if workers > 1 else ' '}  "
        f"{total / elapsed:8.0f} msg/s  server {server_cpu / total * 1e6:6.1f} us/rt  "
        f"clients {client_cpu / total * 1e6:6.1f} us/rt"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer round trips")
    parser.add_argument("--client", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=2, help="client processes (default: 2)")
    parser.add_argument(
        "--connections", type=int, default=50, help="connections per client (default: 50)"
    )
    args = parser.parse_args()
    if args.client:
        asyncio.run(_client(*args.client))
        return
    trips = 100 if args.quick else 400
    print(
        f"echo of 32 bytes, {args.clients} client processes x {args.connections} connections "
        f"x {trips} round trips, {os.cpu_count()} cores:"
    )
    for adapter in ("asyncio", "threads"):
        for workers in (1, 2):
            print(_measure(adapter, workers, args.clients, args.connections, trips), flush=True)


if __name__ == "__main__":
    main()
