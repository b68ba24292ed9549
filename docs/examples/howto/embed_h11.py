"""Serve a page with h11 and hand WebSocket upgrades over to wsproto_core."""

import socket
import threading

import h11
from embed_raw_socket import echo, run

from wsproto_core import ServerConnection

PAGE = b"<!DOCTYPE html><title>h11</title><p>The WebSocket endpoint is /ws.</p>"


def serve_client(sock):
    http = h11.Connection(h11.SERVER)
    request = None
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError:
            return  # not HTTP/1.1: hang up
        if event is h11.NEED_DATA:
            http.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
            break
        else:  # ConnectionClosed: the client left
            return
    if request is None:
        return
    if upgrade_of(request) == b"websocket":
        leftover, _ = http.trailing_data  # bytes read past the request head
        conn = ServerConnection.from_request(
            request.method.decode("ascii"),
            request.target.decode("ascii"),
            list(request.headers),
            leftover,
        )
        run(sock, conn, echo)
        return
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Connection", "close")]
    for event in (
        h11.Response(status_code=200, headers=headers),
        h11.Data(data=PAGE),
        h11.EndOfMessage(),
    ):
        sock.sendall(http.send(event))


def upgrade_of(request):
    """The lowercased Upgrade header of an h11 request, or b""."""
    for name, value in request.headers:
        if name == b"upgrade":
            return value.lower()
    return b""


def serve_forever(listener):
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return

        def serve(sock=sock):
            with sock:
                serve_client(sock)

        threading.Thread(target=serve, daemon=True).start()


def main(host="localhost", port=8765):
    with socket.create_server((host, port)) as listener:
        print(f"Listening on http://{host}:{listener.getsockname()[1]}/", flush=True)
        serve_forever(listener)


if __name__ == "__main__":
    main()
