"""A chat room and an echo endpoint behind one Router, served with asyncio."""

import asyncio
from urllib.parse import parse_qs

from wsproto_core.asyncio import serve
from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Handler, Refuse, Router

PAGE = b"<!DOCTYPE html><title>Chat</title><p>Connect to /chat?name=you</p>"


class ChatRoom(Handler):
    """Every message goes to everyone in the room, with its sender's name."""

    subprotocols = ("chat.v1",)

    def __init__(self):
        self.members = set()

    def on_connect(self, conn):
        if conn.subprotocol is None:
            raise Refuse(400, "this endpoint speaks the chat.v1 subprotocol")
        conn.context = parse_qs(conn.query).get("name", ["anonymous"])[0]
        self.members.add(conn)

    def on_message(self, conn, message):
        self.broadcast(f"{conn.context}: {message}")

    def on_disconnect(self, conn, close_code, reason):
        self.members.discard(conn)
        self.broadcast(f"{conn.context} left")

    def broadcast(self, text):
        for member in list(self.members):  # a copy: others may join meanwhile
            member.send(text)


def make_router():
    router = Router()
    router.route("/chat", ChatRoom(), max_message_size=4096)
    router.route("/echo", EchoHandler(), allowed_origins=["https://example.com"])
    router.page("/", PAGE)
    return router


async def main(host="localhost", port=8765):
    async with serve(make_router(), host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/chat", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
