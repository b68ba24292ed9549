"""A WebSocket client: send a name, print the greeting (asyncio)."""

import asyncio

from wsproto_core.asyncio import connect


async def main(uri="ws://localhost:8765/", name="World"):
    async with connect(uri) as ws:
        await ws.send(name)
        greeting = await ws.recv()
        print(greeting)


if __name__ == "__main__":
    asyncio.run(main())
