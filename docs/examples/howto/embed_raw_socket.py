"""Drive the sans-IO connection yourself: blocking sockets, a thread per client."""

import socket
import threading
import time

from wsproto_core import (
    BytesMessage,
    Request,
    ServerConnection,
    TextMessage,
    TransportAction,
)
from wsproto_core.state import FAILURE_GRACE

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


def wait_for(action):
    """How long to wait for the peer in ``action`` (None: no limit)."""
    if action is TransportAction.NONE:
        return None
    if action is TransportAction.WAIT_BRIEFLY:
        return min(FAILURE_GRACE, CLOSE_TIMEOUT)
    return CLOSE_TIMEOUT


def run(sock, conn, handle):
    """Carry bytes between ``sock`` and ``conn`` until the stream must be closed."""
    deadline = time.monotonic() + OPEN_TIMEOUT
    action = TransportAction.NONE
    try:
        while True:
            for event in conn.events():  # live: accept() releases pipelined frames here
                handle(conn, event)
            # Blocks while the peer reads slowly; meanwhile we read nothing more.
            sock.sendall(conn.data_to_send())
            if conn.transport_action is not action:  # the connection moved on
                action = conn.transport_action
                if action is TransportAction.CLOSE:
                    return
                if action is TransportAction.HALF_CLOSE:
                    sock.shutdown(socket.SHUT_WR)  # FIN; read on until the peer's
                wait = wait_for(action)
                deadline = None if wait is None else time.monotonic() + wait
            if deadline is None:
                sock.settimeout(None)
            else:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                conn.receive_data(sock.recv(65536))  # b"" at EOF
            except TimeoutError:
                if action is TransportAction.NONE:
                    return  # the opening handshake took too long: cut the stream
                conn.expire()  # the peer did not answer in time: the connection moves on
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
