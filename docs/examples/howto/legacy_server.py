"""Serve old clients too: hixie-76 is on by default, hixie-75 only when asked."""

import asyncio

from wsproto_core.asyncio import serve
from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Router


def make_router():
    router = Router()
    # Versions 13, 8 and 7 and draft-hixie-76 everywhere; draft-hixie-75 here only.
    router.route("/echo", EchoHandler(), allow_draft75=True)
    # RFC 6455 clients only (13, 8 and 7): the drafts get 400.
    router.route("/modern", EchoHandler(), allow_draft76=False)
    return router


async def main(host="localhost", port=8765):
    async with serve(make_router(), host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/echo", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
