"""A stand-in for ``python -m wsproto_core serve`` built on the ``websockets`` library.

Used only while our own server is not there yet: it speaks the same command line
(``--host``, ``--port``, ``--max-message-size``, ``--threads`` ignored), prints the
same ``serving on http://HOST:PORT/`` line, serves ``/echo`` and ``/dumb-increment``
and the demo pages from ``wsproto_core/examples/static``, and closes every client
with 1001 on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

if TYPE_CHECKING:
    from collections.abc import Sequence

STATIC = Path(__file__).resolve().parents[2] / "wsproto_core" / "examples" / "static"
DUMB_INCREMENT = Subprotocol("dumb-increment-protocol")
PAGES = {"/": "index.html", "/echo.html": "echo.html", "/increment.html": "increment.html"}


def page(connection: ServerConnection, request: Request) -> Response | None:
    """Answer a plain GET for a demo page; let WebSocket upgrades through."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    name = PAGES.get(request.path)
    if name is None:
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
    data = (STATIC / name).read_bytes()
    headers = Headers(
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return Response(200, "OK", headers, data)


def pick_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """Choose ``dumb-increment-protocol`` when offered, no subprotocol otherwise."""
    return DUMB_INCREMENT if DUMB_INCREMENT in offered else None


async def handler(connection: ServerConnection) -> None:
    """Route ``/echo`` and ``/dumb-increment``."""
    path = connection.request.path if connection.request else ""
    if path.endswith("/echo") or path == "/echo":
        async for message in connection:
            await connection.send(message)
    elif path.endswith("/dumb-increment"):
        if connection.subprotocol != "dumb-increment-protocol":
            await connection.close(1002, "dumb-increment-protocol required")
            return
        counter = 0

        async def listen() -> None:
            nonlocal counter
            async for message in connection:
                if message == "reset\n":
                    counter = 0

        listener = asyncio.create_task(listen())
        try:
            while not listener.done():
                await connection.send(str(counter))
                counter += 1
                await asyncio.sleep(0.05)
        except ConnectionClosed:
            pass
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await listener
    else:
        await connection.close(1008, "no such endpoint")


async def main() -> None:
    """Parse the arguments, serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-message-size", type=int, default=32 * 2**20)
    parser.add_argument("--threads", action="store_true")
    args = parser.parse_args()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler,
        args.host,
        args.port,
        select_subprotocol=pick_subprotocol,
        process_request=page,
        compression=None,
        max_size=args.max_message_size,
        ping_interval=None,
    ) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        print(f"serving on http://{host}:{port}/", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
