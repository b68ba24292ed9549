"""The greeting server with threads: one thread per connection."""

from wsproto_core.sync import serve


def hello(ws):
    for name in ws:
        ws.send(f"Hello, {name}!")


def main(host="localhost", port=8765):
    with serve(hello, host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
