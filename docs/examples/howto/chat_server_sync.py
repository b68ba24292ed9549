"""The same Router, served with threads: the handlers do not change."""

from chat_server import make_router

from wsproto_core.sync import serve


def main(host="localhost", port=8765):
    with serve(make_router(), host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/chat", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
