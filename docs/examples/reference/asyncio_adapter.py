"""Examples for the reference page of wsproto_core.asyncio.

Each example is a function that starts its own server on a free port. The
tests run them all and compare what they print with asyncio_adapter.out.
"""

import asyncio
import threading

from wsproto_core.asyncio import (
    ClientWebSocket,
    ConnectionClosedOK,
    HandshakeRejected,
    ServerWebSocket,
    connect,
    serve,
)
from wsproto_core.handlers import Handler, Refuse


async def serve_a_coroutine():
    async def echo(ws):
        assert isinstance(ws, ServerWebSocket)
        print("request for", ws.request.path)
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/echo") as ws:
            await ws.send("ping?")
            print("echoed:", await ws.recv())


async def serve_a_handler():
    class Members(Handler):
        def on_connect(self, conn):
            if conn.query != "member=yes":
                raise Refuse(403, "members only")

        def on_message(self, conn, message):
            conn.send(f"welcome, {message}")

    async with serve(Members(), "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        async with connect(url + "?member=yes") as ws:
            await ws.send("Ada")
            print(await ws.recv())
        try:
            await connect(url)
        except HandshakeRejected as refusal:
            print("refused:", refusal.status, refusal.body)


async def server_shutdown():
    async def wait_forever(ws):
        await ws.wait_closed()

    server = await serve(wait_forever, "127.0.0.1", 0)
    ws = await connect(f"ws://127.0.0.1:{server.port}/")
    print("open connections:", len(server.connections))
    server.close()  # 1001 to every client
    await server.wait_closed()
    await ws.wait_closed()
    print("client saw:", ws.close_code, ws.close_reason)


async def client_websocket():
    async def greet(ws):
        await ws.send(f"you speak version {ws.protocol_version}")

    async with serve(greet, "127.0.0.1", 0, subprotocols=["chat"]) as server:
        uri = f"ws://127.0.0.1:{server.port}/"
        async with connect(uri, subprotocols=["chat"], version=8) as ws:
            assert isinstance(ws, ClientWebSocket)
            print(ws.subprotocol, await ws.recv())
            print(("Sec-WebSocket-Protocol", "chat") in ws.response_headers)
            try:
                await ws.recv()  # the server's handler returned: it closed with 1000
            except ConnectionClosedOK as closed:
                print("closed:", closed.code)


async def fragments_and_pings():
    async def sizes(ws):
        async for message in ws:
            await ws.send(str(len(message)))

    async with serve(sizes, "127.0.0.1", 0) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send(["one ", "message ", "in three frames"])  # fragmented
            print("length:", await ws.recv())
            pong = await ws.ping()
            latency = await pong  # seconds from the ping to its pong
            print("pong received:", latency >= 0)


async def reconnecting_client():
    async def tell_and_close(ws):
        await ws.send("bye")
        await ws.close(1001, "restarting")

    async with serve(tell_and_close, "127.0.0.1", 0) as server:
        connections = 0
        async for ws in connect(f"ws://127.0.0.1:{server.port}/"):
            connections += 1
            print(connections, await ws.recv())
            await ws.wait_closed()
            if connections == 2:
                break  # without it: reconnect forever, backing off after failures


async def handler_connection_from_a_thread():
    class Worker(Handler):
        def on_message(self, conn, message):
            def work():  # in another thread: send() is safe from any thread
                conn.send(f"worked on {message}")

            threading.Thread(target=work).start()

    async with serve(Worker(), "127.0.0.1", 0) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send("a job")
            print(await ws.recv())


async def main():
    for example in (
        serve_a_coroutine,
        serve_a_handler,
        server_shutdown,
        client_websocket,
        fragments_and_pings,
        reconnecting_client,
        handler_connection_from_a_thread,
    ):
        print(f"-- {example.__name__}")
        await asyncio.wait_for(example(), 20)


if __name__ == "__main__":
    asyncio.run(main())
