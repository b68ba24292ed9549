"""Measure the round trip with a ping; no keepalive pings of our own."""

import asyncio

from wsproto_core.asyncio import connect


async def main(uri="ws://localhost:8765/"):
    async with connect(uri, ping_interval=None) as ws:
        pong = await ws.ping()  # sent; `pong` resolves when the answer arrives
        latency = await asyncio.wait_for(pong, timeout=10)
        print(f"Latency: {latency * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
