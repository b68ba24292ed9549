"""One message to 5,000 idle connections: ours against websockets' ``broadcast``, same run.

Run: ``.venv/bin/python benchmarks/bench_broadcast.py [--connections N] [--size BYTES]``

For each server (ours, :func:`wsproto_core.asyncio.broadcast`; websockets',
:func:`websockets.asyncio.server.broadcast`), without and with
permessage-deflate (each library's default settings), N raw clients connect
and stay idle (the kernel's buffers take the message; nobody reads), then one
``broadcast`` call sends one text message to all of them. Measured, on the
server's event loop, for that one call:

* CPU time (``time.process_time``, the whole process; the clients do nothing
  meanwhile), the median of ``--repeat`` broadcasts;
* memory: the peak ``tracemalloc`` allocation during one more broadcast, and
  what stays allocated after it (a transport keeps what the socket did not take).

Prints one line per row; asserts nothing. Raises the open-file limit to what
it needs (2 descriptors per connection).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import socket
import statistics
import threading
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import websockets.asyncio.server as ws_server

from wsproto_core import asyncio as ours

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

TEXT = "x" * 100


def _handshake(port: int, deflate: bool) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{offer}\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("the server closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode(errors="replace"))
    return sock


class Loop:
    """An event loop in a thread; run coroutines and calls on it from here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def call(self, fn: Callable[[], Any]) -> Any:
        async def wrapper() -> Any:
            return fn()

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


async def _idle(ws: Any) -> None:
    await ws.wait_closed()


def measure(
    name: str,
    start: Callable[[], Any],
    connections: Callable[[Any], Iterable[Any]],
    broadcast: Callable[[Iterable[Any], str], Any],
    count: int,
    deflate: bool,
    repeat: int,
) -> None:
    loop = Loop()
    server = loop.run(start())
    port = server.sockets[0].getsockname()[1] if hasattr(server, "sockets") else server.port
    clients = [_handshake(port, deflate) for _ in range(count)]
    while loop.call(lambda: len(list(connections(server)))) < count:
        time.sleep(0.01)  # the last handshakes are being answered

    def one() -> float:
        targets = list(connections(server))
        before = time.process_time()
        broadcast(targets, TEXT)
        return time.process_time() - before

    cpu = statistics.median(loop.call(one) for _ in range(repeat))

    def traced() -> tuple[int, int]:
        targets = list(connections(server))
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        broadcast(targets, TEXT)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak - base, current - base

    peak, kept = loop.call(traced)
    print(
        f"{name:<28} {count} conns  cpu {cpu * 1000:7.2f} ms ({cpu / count * 1e6:5.2f} us/conn)"
        f"  peak {peak / 1024:8.1f} KiB  kept {kept / 1024:8.1f} KiB",
        flush=True,
    )
    for sock in clients:
        sock.close()
    loop.run(_stop(server))
    loop.close()


async def _await(make: Callable[[], Any]) -> Any:
    """Make the server on the loop (both libraries need a running loop) and start it."""
    return await make()


async def _stop(server: Any) -> None:
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.connections + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    print(f"one {len(TEXT)}-byte text message to each idle connection; median of {args.repeat}")
    for deflate in (False, True):
        label = "deflate" if deflate else "no compression"
        compression = "deflate" if deflate else None
        measure(
            f"wsproto_core ({label})",
            lambda c=compression: _await(lambda: ours.serve(_idle, "127.0.0.1", 0, compression=c)),
            lambda server: server.connections,
            ours.broadcast,
            args.connections,
            deflate,
            args.repeat,
        )
        measure(
            f"websockets ({label})",
            lambda c=compression: _await(
                lambda: ws_server.serve(_idle, "127.0.0.1", 0, compression=c)
            ),
            lambda server: server.connections,
            ws_server.broadcast,
            args.connections,
            deflate,
            args.repeat,
        )


if __name__ == "__main__":
    main()
