"""A WebSocket server that greets whoever sends it a name (asyncio)."""

import asyncio

from wsproto_core.asyncio import serve


async def hello(ws):
    async for name in ws:
        await ws.send(f"Hello, {name}!")


async def main(host="localhost", port=8765):
    async with serve(hello, host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
