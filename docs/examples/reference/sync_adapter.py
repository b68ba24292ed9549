"""Examples for the reference page of wsproto_core.sync.

Each example is a function that starts its own server on a free port, in a
thread. The tests run them all and compare what they print with sync_adapter.out.
"""

import contextlib
import threading

from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Handler, Router
from wsproto_core.sync import (
    Connection,
    ConnectionClosedOK,
    HandshakeRejected,
    connect,
    serve,
)


@contextlib.contextmanager
def serving(handler, **options):
    """Run ``serve(handler)`` in a thread for the duration of a ``with`` block."""
    with serve(handler, "127.0.0.1", 0, **options) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()  # 1001 to every client still connected
            thread.join()


def serve_a_function():
    def echo(ws):
        assert isinstance(ws, Connection)
        print("request for", ws.request.path)
        for message in ws:
            ws.send(message)

    with serving(echo) as server:
        with connect(f"ws://127.0.0.1:{server.port}/echo") as ws:
            ws.send(b"\x01\x02")
            print("echoed:", ws.recv(timeout=10))


def serve_a_handler_with_a_timer():
    class Countdown(Handler):
        def on_connect(self, conn):
            conn.context = 3

            def tick():
                conn.send(str(conn.context))
                conn.context -= 1
                if conn.context == 0:
                    conn.close(1000, "liftoff")

            conn.call_every(0.01, tick)  # in the reader thread

    with serving(Countdown()) as server:
        with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            print(list(ws))  # iteration ends at a normal close
            print("closed:", ws.close_code, ws.close_reason)


def client_connection():
    def greet(ws):
        ws.send(f"you speak {ws.protocol_version}")
        ws.close(1000, "that is all")

    with serving(greet) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        with connect(url, version="hixie-76") as ws:
            print(ws.recv(timeout=10))
            try:
                ws.recv(timeout=10)
            except ConnectionClosedOK as closed:
                print("closed:", closed.code)  # hixie-76 closes carry no code


def refused_client():
    router = Router()
    router.route("/", EchoHandler(), allowed_origins=["https://example.com"])

    with serving(router) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        with connect(url, origin="https://example.com") as ws:
            print("allowed:", ws.state.name)
        try:
            connect(url, origin="https://elsewhere.example")
        except HandshakeRejected as refusal:
            print("refused:", refusal.status, refusal.body)


def pings_from_a_thread():
    def silent(ws):
        ws.wait_closed()

    with serving(silent) as server:
        with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None) as ws:
            pong = ws.ping()  # a threading.Event
            print("pong:", pong.wait(timeout=10))
            sender = threading.Thread(target=ws.close, args=(1000, "from a thread"))
            sender.start()
            sender.join()
            print("closed:", ws.close_code)


def main():
    for example in (
        serve_a_function,
        serve_a_handler_with_a_timer,
        client_connection,
        refused_client,
        pings_from_a_thread,
    ):
        print(f"-- {example.__name__}")
        example()


if __name__ == "__main__":
    main()
