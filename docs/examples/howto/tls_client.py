"""Connect to wss://, trusting one self-signed certificate."""

import asyncio
import ssl

from wsproto_core.asyncio import connect


async def main(uri="wss://localhost:8765/", cafile="cert.pem"):
    # Without ssl=, a wss:// URL is checked against the system's trusted CAs.
    ssl_context = ssl.create_default_context(cafile=cafile)
    async with connect(uri, ssl=ssl_context) as ws:
        await ws.send("TLS")
        print(await ws.recv())


if __name__ == "__main__":
    asyncio.run(main())
