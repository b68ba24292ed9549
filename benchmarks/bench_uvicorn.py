"""uvicorn's WebSocket implementations against ours, behind the same ASGI echo app.

Run: ``python benchmarks/bench_uvicorn.py [--quick] [--repeats N]`` with uvicorn and
wsproto installed (``pip install -e '.[bench]' uvicorn``); prints figures, asserts
nothing.

Every implementation serves the same raw ASGI echo application (no framework) from
its own uvicorn subprocess (``_server`` mode below: ``uvicorn.Server`` with
``http="h11"``, ``lifespan="off"``, no access log), chosen with uvicorn's ``ws``
option: ``"wsproto"``, ``"websockets"``, ``"websockets-sansio"`` (when this uvicorn
has it) and our protocol class. The same clients, our asyncio client in this
process, open ``CLIENTS`` connections and each does ``rounds`` round trips (send
one message, wait for its echo). What is measured is the *server process's* CPU
time (user + system, read from ``/proc/<pid>/stat``) from the first round trip to
the last, divided by the number of round trips; opening and closing the connections
is not counted.

The machine is assumed noisy: the servers stay up for the whole run, each repeat
measures every implementation once, in an order rotated from one repeat to the
next, and the table gives the median and the best of the repeats.

The first table turns compression off on both sides (``ws_per_message_deflate=False``
on the server, ``compression=None`` on the client) and echoes 32-byte binary
messages: it measures framing and the ASGI plumbing, not zlib. The second agrees
permessage-deflate (uvicorn's default, and our client's) and echoes a 1 KiB
JSON-like text, which every implementation compresses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wsproto_core.asyncio import WebSocket, connect

CLIENTS = 50
ROUNDS = 2000
SMALL = b"x" * 32
JSON_TEXT = ('{"id":7,"name":"wsproto_core","tags":["deflate","rfc7692"],"ok":true},' * 15)[:1024]
OURS = "wsproto_core.uvicorn:WsprotoCoreProtocol"
"""Our protocol class, as an import string that uvicorn's ``ws`` option accepts."""
IMPLEMENTATIONS = {
    "wsproto_core": OURS,
    "uvicorn wsproto": "wsproto",
    "uvicorn websockets": "websockets",
    "uvicorn websockets-sansio": "websockets-sansio",
}
"""The rows of each table: a name and uvicorn's ``ws`` value."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# uvicorn warns that its legacy ``websockets`` implementation is deprecated: it is measured
# all the same, as it is still what ``ws="websockets"`` runs.
warnings.filterwarnings("ignore", message="The `websockets` implementation is deprecated")


# -- the server subprocess ------------------------------------------------------------------------


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI application: every WebSocket message comes back as it came."""
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def _serve(ws: str, deflate: bool) -> None:
    """Serve :func:`echo_app` with uvicorn's ``ws=ws``; print the port and the class first."""
    import uvicorn

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = uvicorn.Config(
        echo_app,
        ws=ws,
        http="h11",
        lifespan="off",
        access_log=False,
        log_level="warning",
        ws_per_message_deflate=deflate,
        backlog=4096,
    )
    config.load()
    protocol = config.ws_protocol_class
    assert protocol is not None
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    print(port, f"{protocol.__module__}.{protocol.__qualname__}", flush=True)
    uvicorn.Server(config).run(sockets=[listener])


class ServerProcess:
    """One uvicorn server in a subprocess, for one implementation and compression setting."""

    def __init__(self, ws: str, deflate: bool) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "_server", ws, "deflate" if deflate else "plain"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line:
            self.process.wait(30)
            raise RuntimeError(f"uvicorn with ws={ws!r} did not start")
        self.port = int(line[0])
        self.protocol = line[1]

    def cpu(self) -> float:
        """The server process's CPU time so far, in seconds (user + system)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()  # after the command name: state, ppid, ...
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# -- the clients ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One table: what is echoed, and whether permessage-deflate is agreed."""

    title: str
    message: str | bytes
    deflate: bool
    rounds: int
    cpu: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)


async def _open(port: int, deflate: bool) -> list[WebSocket]:
    async def one() -> WebSocket:
        ws = await connect(
            f"ws://127.0.0.1:{port}/",
            ping_interval=None,
            open_timeout=60,
            max_message_size=None,
            compression="deflate" if deflate else None,
        )
        assert bool(ws.extensions) is deflate, ws.extensions
        return ws

    return list(await asyncio.gather(*(one() for _ in range(CLIENTS))))


async def _echo(connections: list[WebSocket], message: str | bytes, rounds: int) -> None:
    async def client(ws: WebSocket) -> None:
        for _ in range(rounds):
            await ws.send(message)
            assert await ws.recv() == message

    await asyncio.gather(*(client(ws) for ws in connections))


async def measure(server: ServerProcess, case: Case) -> tuple[float, float]:
    """Server CPU seconds per round trip, and wall seconds, for one run of ``case``."""
    connections = await _open(server.port, case.deflate)
    await _echo(connections, case.message, 20)  # warm up
    before, start = server.cpu(), time.perf_counter()
    await _echo(connections, case.message, case.rounds)
    after, wall = server.cpu(), time.perf_counter() - start
    await asyncio.gather(*(ws.close() for ws in connections))
    return (after - before) / (CLIENTS * case.rounds), wall


def run_case(case: Case, names: list[str], repeats: int) -> None:
    servers = {name: ServerProcess(IMPLEMENTATIONS[name], case.deflate) for name in names}
    try:
        for repeat in range(repeats):
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in order:
                cpu, wall = asyncio.run(measure(servers[name], case))
                case.cpu.setdefault(name, []).append(cpu)
                case.wall.setdefault(name, []).append(wall)
                print(f"  [{repeat + 1}/{repeats}] {name:26} {cpu * 1e6:7.1f} us", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    print(case.title)
    print(f"  {'implementation':26} {'median':>9} {'best':>9} {'wall (median)':>14}")
    for name in names:
        median, best = statistics.median(case.cpu[name]), min(case.cpu[name])
        wall = statistics.median(case.wall[name])
        print(f"  {name:26} {median * 1e6:6.1f} us {best * 1e6:6.1f} us {wall:12.2f} s")
    if "wsproto_core" in names:
        ours = statistics.median(case.cpu["wsproto_core"])
        for name in names:
            if name != "wsproto_core":
                ratio = ours / statistics.median(case.cpu[name])
                target = "  (target <= 0.7x)" if name == "uvicorn wsproto" else ""
                print(f"  ours / {name:26} {ratio:5.2f}x{target}")


def available() -> list[str]:
    """The implementations this uvicorn (and this checkout) can run."""
    import importlib

    from uvicorn.config import WS_PROTOCOLS

    names = []
    for name, ws in IMPLEMENTATIONS.items():
        module, _, attribute = WS_PROTOCOLS.get(ws, ws).partition(":")
        try:
            getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as error:
            print(f"skipping {name}: {error}")
        else:
            names.append(name)
    return names


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer round trips and repeats")
    parser.add_argument("--repeats", type=int, help="measurements of each implementation")
    parser.add_argument("--no-deflate", action="store_true", help="skip the deflate table")
    args = parser.parse_args()
    rounds = ROUNDS // 4 if args.quick else ROUNDS
    repeats = args.repeats or (3 if args.quick else 5)
    names = available()
    print(f"uvicorn {uvicorn.__version__}, Python {sys.version.split()[0]}, {repeats} repeats")
    cases = [
        Case(
            f"echo, {CLIENTS} clients x {rounds} round trips of {len(SMALL)} bytes, "
            "compression off; server CPU per round trip:",
            SMALL,
            deflate=False,
            rounds=rounds,
        )
    ]
    if not args.no_deflate:
        cases.append(
            Case(
                f"echo, {CLIENTS} clients x {rounds} round trips of a 1 KiB JSON-like "
                "text, permessage-deflate; server CPU per round trip:",
                JSON_TEXT,
                deflate=True,
                rounds=rounds,
            )
        )
    for case in cases:
        run_case(case, names, repeats)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_server":
        _serve(sys.argv[2], sys.argv[3] == "deflate")
    else:
        main()
