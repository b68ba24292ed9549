"""Benchmarks of the asyncio server; prints figures, asserts nothing.

Run: ``.venv/bin/python benchmarks/bench_asyncio_server.py [--quick]``

1. Echo of 32-byte messages with 100 concurrent clients: the *server process's*
   CPU time per round trip, ours against the ``websockets`` asyncio server
   (target: ours <= 0.6x).
2. Memory per idle connection on each server: RSS delta / N (target <= 6 KiB).
3. The same with permessage-deflate agreed (RFC 7692), ours and websockets each with
   its default compression settings: just opened, and after one echo each (the
   zlib objects then exist, and stay, with context takeover).
4. 10,000 concurrent idle connections held by one server process, then every one
   answers an echo.

Rows 1, 2 and 4 turn compression off on both servers (ours and websockets enable it
by default): the 32-byte echo measures framing, not zlib.

Each server runs in its own subprocess (``_server`` mode below) and answers
``cpu`` and ``rss`` on its standard input; the clients (our asyncio client)
run in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import subprocess
import sys
import time

from wsproto_core.asyncio import WebSocket, connect

CLIENTS = 100
MESSAGE = b"x" * 32


# -- the server subprocess ------------------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _run_server(kind: str) -> None:
    _raise_nofile()
    loop = asyncio.get_running_loop()
    deflate = kind.endswith("+deflate")
    if kind.startswith("ours"):
        from wsproto_core.asyncio import serve
        from wsproto_core.examples import EchoHandler

        compression = "deflate" if deflate else None
        server = await serve(EchoHandler(), "127.0.0.1", 0, backlog=4096, compression=compression)
        port = server.port
    else:
        from websockets.asyncio.server import ServerConnection
        from websockets.asyncio.server import serve as ws_serve

        async def echo(ws: ServerConnection) -> None:
            async for message in ws:
                await ws.send(message)

        ws_compression = "deflate" if deflate else None
        ws_server = await ws_serve(echo, "127.0.0.1", 0, backlog=4096, compression=ws_compression)
        port = ws_server.sockets[0].getsockname()[1]
    print(port, flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = line.strip()
        if command == b"cpu":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            print(usage.ru_utime + usage.ru_stime, flush=True)
        elif command == b"rss":
            gc.collect()
            print(_rss_kib(), flush=True)


class ServerProcess:
    """A benchmark server in a subprocess."""

    def __init__(self, kind: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "_server", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def ask(self, command: str) -> float:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# -- the clients ----------------------------------------------------------------------------------


async def _open_many(
    port: int, count: int, concurrency: int = 200, *, deflate: bool = False
) -> list[WebSocket]:
    limit = asyncio.Semaphore(concurrency)

    async def one() -> WebSocket:
        async with limit:
            ws = await connect(
                f"ws://127.0.0.1:{port}/",
                ping_interval=None,
                open_timeout=60,
                compression="deflate" if deflate else None,
            )
            assert bool(ws.extensions) is deflate
            return ws

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _echo_rounds(connections: list[WebSocket], rounds: int) -> None:
    async def client(ws: WebSocket) -> None:
        for _ in range(rounds):
            await ws.send(MESSAGE)
            await ws.recv()

    await asyncio.gather(*(client(ws) for ws in connections))


async def _close_all(connections: list[WebSocket]) -> None:
    await asyncio.gather(*(ws.close() for ws in connections))


def bench_echo_cpu(kind: str, rounds: int) -> float:
    """Server CPU seconds per round trip, 100 clients echoing 32-byte messages."""
    server = ServerProcess(kind)

    async def run() -> float:
        connections = await _open_many(server.port, CLIENTS)
        await _echo_rounds(connections, 10)  # warm up
        before = server.ask("cpu")
        await _echo_rounds(connections, rounds)
        after = server.ask("cpu")
        await _close_all(connections)
        return (after - before) / (CLIENTS * rounds)

    try:
        return asyncio.run(run())
    finally:
        server.stop()


def bench_idle_memory(kind: str, count: int) -> float:
    """Server RSS growth per idle connection, in KiB."""
    return bench_memory(kind, count)[0]


def bench_memory(kind: str, count: int) -> tuple[float, float]:
    """Server RSS growth per connection, in KiB: idle, then after one echo on each."""
    server = ServerProcess(kind)
    deflate = kind.endswith("+deflate")

    async def run() -> tuple[float, float]:
        warm = await _open_many(server.port, 100, deflate=deflate)
        await _echo_rounds(warm, 1)
        await _close_all(warm)
        before = server.ask("rss")
        connections = await _open_many(server.port, count, deflate=deflate)
        await asyncio.sleep(0.5)
        idle = server.ask("rss")
        await _echo_rounds(connections, 1)
        used = server.ask("rss")
        await _close_all(connections)
        return (idle - before) / count, (used - before) / count

    try:
        return asyncio.run(run())
    finally:
        server.stop()


def bench_many_idle(count: int) -> tuple[float, float, float]:
    """Hold ``count`` idle connections on our server, then echo on each.

    Returns:
        Seconds to open them, seconds for one echo on every one, server KiB per connection.
    """
    server = ServerProcess("ours")

    async def run() -> tuple[float, float, float]:
        before = server.ask("rss")
        start = time.perf_counter()
        connections = await _open_many(server.port, count)
        opened = time.perf_counter() - start
        rss = server.ask("rss")
        start = time.perf_counter()
        await _echo_rounds(connections, 1)
        echoed = time.perf_counter() - start
        await _close_all(connections)
        return opened, echoed, (rss - before) / count

    try:
        return asyncio.run(run())
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and connections")
    args = parser.parse_args()
    _raise_nofile()
    rounds = 50 if args.quick else 200
    idle = 1000 if args.quick else 5000
    many = 2000 if args.quick else 10000

    ours = bench_echo_cpu("ours", rounds)
    theirs = bench_echo_cpu("websockets", rounds)
    print(f"echo, {CLIENTS} clients x {rounds} round trips of 32 bytes, server CPU per round trip:")
    print(f"  wsproto_core  {ours * 1e6:8.1f} us")
    print(f"  websockets    {theirs * 1e6:8.1f} us")
    print(f"  ratio         {ours / theirs:8.2f}x  (target <= 0.6x)")

    print(f"memory per idle connection ({idle} connections, server RSS delta / N):")
    for kind in ("ours", "websockets"):
        print(f"  {kind:12}  {bench_idle_memory(kind, idle):8.2f} KiB")

    print(f"with permessage-deflate, each library's defaults ({idle} connections):")
    print(f"  {'':20}  {'idle':>8}  {'after one echo':>14}")
    for kind in ("ours+deflate", "websockets+deflate"):
        opened, used = bench_memory(kind, idle)
        print(f"  {kind:20}  {opened:8.2f}  {used:14.2f} KiB")

    opened, echoed, per_conn = bench_many_idle(many)
    print(f"{many} concurrent idle connections on one server process:")
    print(f"  opened in {opened:.1f} s, all echoed once in {echoed:.2f} s, {per_conn:.2f} KiB each")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_server":
        asyncio.run(_run_server(sys.argv[2]))
    else:
        main()
