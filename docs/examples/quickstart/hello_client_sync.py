"""The greeting client, blocking."""

from wsproto_core.sync import connect


def main(uri="ws://localhost:8765/", name="World"):
    with connect(uri) as ws:
        ws.send(name)
        greeting = ws.recv(timeout=10)
        print(greeting)


if __name__ == "__main__":
    main()
