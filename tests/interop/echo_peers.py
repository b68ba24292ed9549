"""Echo servers of other Python libraries, for the conformance kit to test.

Usage: ``python echo_peers.py websockets|wsproto`` prints ``{"listening": PORT}`` on
one line once it listens on 127.0.0.1 (a free port), then echoes every message
with its type until SIGTERM. Each is written as that library's documentation
shows an echo server, with its defaults (permessage-deflate offered where the
library has it), so the kit sees what a user of the library gets.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any


async def websockets_server(stop: asyncio.Event) -> None:
    """websockets' asyncio server: ``async for message in ws: await ws.send(message)``."""
    from websockets.asyncio.server import serve

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"listening": port}), flush=True)
        await stop.wait()


async def _wsproto_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One connection of the wsproto echo server, as wsproto's own example server does it."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Ping,
        Request,
        TextMessage,
    )
    from wsproto.extensions import PerMessageDeflate
    from wsproto.utilities import LocalProtocolError, RemoteProtocolError

    ws = WSConnection(ConnectionType.SERVER)
    parts: list[Any] = []
    try:
        while True:
            data = await reader.read(65536)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, Request):
                    writer.write(ws.send(AcceptConnection(extensions=[PerMessageDeflate()])))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                    if event.message_finished:
                        text = isinstance(event, TextMessage)
                        joined = "".join(parts) if text else b"".join(parts)
                        parts.clear()
                        writer.write(ws.send(type(event)(data=joined)))
                elif isinstance(event, Ping):
                    writer.write(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    writer.write(ws.send(event.response()))
                    await writer.drain()
                    return
            await writer.drain()
            if not data:
                return
    except RemoteProtocolError as error:
        writer.write(ws.send(error.event_hint) if error.event_hint else b"")
    except LocalProtocolError as error:
        # wsproto reports a TCP stream that ends without a close frame as a
        # CloseConnection (1006) in state CLOSED, which cannot be answered: one
        # line instead of a traceback; nothing is sent either way.
        print(f"wsproto: {error}", file=sys.stderr, flush=True)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def wsproto_server(stop: asyncio.Event) -> None:
    """An asyncio server driving wsproto's sans-IO ``WSConnection``."""
    server = await asyncio.start_server(_wsproto_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"listening": port}), flush=True)
    async with server:
        await stop.wait()


async def main(kind: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await {"websockets": websockets_server, "wsproto": wsproto_server}[kind](stop)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
