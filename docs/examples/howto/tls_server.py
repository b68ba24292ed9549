"""Serve wss:// with a certificate and its private key."""

import asyncio
import ssl

from wsproto_core.asyncio import serve


async def hello(ws):
    async for name in ws:
        await ws.send(f"Hello, {name}!")


async def main(host="localhost", port=8765, certfile="cert.pem", keyfile="key.pem"):
    ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ssl_context.load_cert_chain(certfile, keyfile)
    async with serve(hello, host, port, ssl=ssl_context) as server:
        print(f"Listening on wss://{host}:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
