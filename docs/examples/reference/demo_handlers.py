"""Examples for the reference page of wsproto_core.examples (run by the tests)."""

import asyncio

from wsproto_core.asyncio import connect, serve
from wsproto_core.examples import (
    PAGES,
    DumbIncrementHandler,
    EchoHandler,
    demo_router,
    read_page,
)
from wsproto_core.examples.dumb_increment import SUBPROTOCOL


async def echo_handler():
    async with serve(EchoHandler(), "127.0.0.1", 0) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/any/path") as ws:
            await ws.send(b"\xca\xfe")
            assert await ws.recv() == b"\xca\xfe"  # binary stays binary


async def dumb_increment_handler():
    handler = DumbIncrementHandler(interval=0.01)
    async with serve(handler, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        async with connect(url, subprotocols=[SUBPROTOCOL]) as ws:
            assert [await ws.recv() for _ in range(3)] == ["0", "1", "2"]
            await ws.send("reset\n")
            while await ws.recv() != "0":  # numbers already on their way, then 0
                pass
            await ws.send("closeme\n")
            await ws.wait_closed()
            assert (ws.close_code, ws.close_reason) == (1001, "closeme")


async def the_demo_router():
    router = demo_router(max_message_size=2**20, increment_interval=0.05)
    assert [route.path for route in router.routes] == ["/echo", "/dumb-increment", "/chat"]
    assert set(PAGES) <= {page.path for page in router.pages}
    assert read_page(PAGES["/"]).startswith(b"<!DOCTYPE html>")
    async with serve(router, "127.0.0.1", 0) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/echo") as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"


async def main():
    for example in (echo_handler, dumb_increment_handler, the_demo_router):
        await asyncio.wait_for(example(), 20)


if __name__ == "__main__":
    asyncio.run(main())
