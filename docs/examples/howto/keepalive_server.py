"""Every timeout a server has, set explicitly (the values are the defaults)."""

import asyncio

from wsproto_core.asyncio import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(host="localhost", port=8765):
    server = serve(
        echo,
        host,
        port,
        open_timeout=10,  # seconds for a client to complete the opening handshake
        ping_interval=20,  # a keepalive ping after 20 seconds...
        ping_timeout=20,  # ...and 1011 if its pong takes longer than 20 more
        close_timeout=10,  # seconds for the closing handshake, then cut the stream
    )
    async with server:
        print(f"Listening on ws://{host}:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
