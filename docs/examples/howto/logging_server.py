"""See one line per connection, and every handler error with its traceback."""

import asyncio
import logging

from wsproto_core.asyncio import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(host="localhost", port=8765):
    # The time, then the message: one line per connection, at its end.
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%X")
    logging.getLogger("wsproto_core").setLevel(logging.INFO)
    async with serve(echo, host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
