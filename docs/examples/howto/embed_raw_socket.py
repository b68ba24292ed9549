"""Drive the sans-IO connection yourself: blocking sockets, a thread per client."""

import socket
import threading
import time

from wsproto_core import (
    BytesMessage,
    ConnectionState,
    Request,
    ServerConnection,
    TextMessage,
)

OPEN_TIMEOUT = 10.0  # seconds a client has for the opening handshake
CLOSE_TIMEOUT = 10.0  # seconds the peer has to finish the closing handshake


def echo(conn, event):
    """The application: accept every client and send each message back."""
    if isinstance(event, Request):
        conn.accept()
    elif isinstance(event, TextMessage):
        conn.send_text(event.data)
    elif isinstance(event, BytesMessage):
        conn.send_binary(event.data)


def run(sock, conn, handle):
    """Carry bytes between ``sock`` and ``conn`` until the stream must be closed."""
    deadline = time.monotonic() + OPEN_TIMEOUT
    closing = False
    try:
        while True:
            for event in conn.events():  # live: accept() releases pipelined frames here
                handle(conn, event)
            # Blocks while the peer reads slowly; meanwhile we read nothing more.
            sock.sendall(conn.data_to_send())
            if conn.should_close_transport:
                return
            if conn.state is ConnectionState.OPEN:
                deadline = None
            elif conn.state is not ConnectionState.CONNECTING and not closing:
                closing = True  # the closing handshake began: start the close timer
                deadline = time.monotonic() + CLOSE_TIMEOUT
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                sock.settimeout(remaining)
            else:
                sock.settimeout(None)
            conn.receive_data(sock.recv(65536))  # b"" at EOF
    except TimeoutError:
        return  # a timer ran out: the caller cuts the stream
    except ConnectionError:
        return  # reset by the peer


def serve_forever(listener):
    """Accept clients until the listener is shut down; a thread for each."""
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return

        def serve_client(sock=sock):
            with sock:
                run(sock, ServerConnection(), echo)

        threading.Thread(target=serve_client, daemon=True).start()


def main(host="localhost", port=8765):
    with socket.create_server((host, port)) as listener:
        print(f"Listening on ws://{host}:{listener.getsockname()[1]}/", flush=True)
        serve_forever(listener)


if __name__ == "__main__":
    main()
