"""A sans-IO client over a plain socket, reusing the loop of embed_raw_socket.py."""

import socket

from embed_raw_socket import run

from wsproto_core import Accept, ClientConnection, TextMessage
from wsproto_core.handshake import parse_uri


def greet(conn, event):
    if isinstance(event, Accept):
        conn.send_text("Hello")
    elif isinstance(event, TextMessage):
        print("received:", event.data)
        conn.close(1000, "thanks")


def main(uri="ws://localhost:8765/"):
    target = parse_uri(uri)
    conn = ClientConnection(uri)  # the handshake request is queued already
    with socket.create_connection((target.host, target.port)) as sock:
        run(sock, conn, greet)
    print("closed:", conn.state.name)


if __name__ == "__main__":
    main()
