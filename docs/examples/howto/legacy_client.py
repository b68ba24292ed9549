"""Speak each protocol version to the same endpoint."""

import asyncio

from wsproto_core.asyncio import connect


async def main(uri="ws://localhost:8765/echo"):
    for version in (13, 8, 7, "hixie-76", "hixie-75"):
        async with connect(uri, version=version) as ws:
            await ws.send("hello")
            print(f"{ws.protocol_version}: {await ws.recv()}")


if __name__ == "__main__":
    asyncio.run(main())
