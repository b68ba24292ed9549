"""The command line: ``python -m wsproto_core`` (or ``wsproto-core``).

Commands:

* ``serve``: the demo server (echo at ``/echo``, dumb-increment at
  ``/dumb-increment``, the demo pages at ``/``, ``/echo.html``,
  ``/increment.html``), over asyncio or threads, in one or several processes.
* ``connect URL``: an interactive client; each line of standard input is sent
  as a text message and each reply is printed.
* ``demo``: a client and a server connection talking in memory, printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from multiprocessing.synchronize import Event as ProcessEvent

    from .events import Event
    from .handlers import Router

__all__ = ["main"]

QUIET_PERIOD = 0.5
"""``connect``: seconds without a reply, after standard input ended, before closing."""
MAX_WAIT = 5.0
"""``connect``: the longest wait for replies after standard input ended, in seconds."""


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def _router(args: argparse.Namespace) -> Router:
    from .examples import demo_router

    return demo_router(max_message_size=args.max_message_size, allow_draft75=args.allow_draft75)


def _announce(host: str, port: int, tls: bool) -> None:
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    print(f"serving on {scheme}://{shown}:{port}/", flush=True)


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())


async def _serve_asyncio(
    args: argparse.Namespace, port: int, ready: ProcessEvent | None, announce: bool
) -> None:
    from .asyncio import serve

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    context = _tls_context(args)
    server = serve(_router(args), args.host, port, ssl=context, reuse_port=ready is not None)
    async with server:
        if announce:
            _announce(args.host, server.port, context is not None)
        if ready is not None:
            ready.set()
        await stop.wait()
        logging.info("shutting down")


def _serve_threads(args: argparse.Namespace, port: int, announce: bool) -> None:
    from .sync import serve

    context = _tls_context(args)
    server = serve(_router(args), args.host, port, ssl=context)
    stop = threading.Event()
    _stop_on_signals(stop)
    thread = threading.Thread(target=server.serve_forever, name="wsproto-core-serve")
    thread.start()
    if announce:
        _announce(args.host, server.port, context is not None)
    stop.wait()
    logging.info("shutting down")
    server.shutdown()
    thread.join()


def _worker(args: argparse.Namespace, port: int, ready: ProcessEvent) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(message)s")
    asyncio.run(_serve_asyncio(args, port, ready, announce=False))


def _serve_workers(args: argparse.Namespace) -> None:
    """Run ``args.workers`` asyncio server processes sharing one port with ``SO_REUSEPORT``."""
    # Reserve the port first, so that ``--port 0`` gives every worker the same one.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as reserve:
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserve.bind((args.host, args.port))
        port = reserve.getsockname()[1]
        context = multiprocessing.get_context("fork")
        workers = []
        for _ in range(args.workers):
            ready = context.Event()
            process = context.Process(target=_worker, args=(args, port, ready), daemon=True)
            process.start()
            workers.append((process, ready))
        for process, ready in workers:
            while not ready.wait(0.1):
                if not process.is_alive():
                    raise SystemExit(f"worker {process.pid} failed to start")
    stop = threading.Event()
    _stop_on_signals(stop)
    _announce(args.host, port, bool(args.tls_cert))
    stop.wait()
    for process, _ in workers:
        if process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process, _ in workers:
        process.join()


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if args.workers > 1:
        if args.threads:
            raise SystemExit("--workers runs asyncio processes; it does not combine with --threads")
        _serve_workers(args)
    elif args.threads:
        _serve_threads(args, args.port, announce=True)
    else:
        asyncio.run(_serve_asyncio(args, args.port, None, announce=True))
    return 0


def _show(message: str | bytes) -> str:
    if isinstance(message, str):
        return message
    return f"<binary {len(message)} bytes: {message.hex(' ')}>"


async def _connect(args: argparse.Namespace) -> int:
    from .asyncio import ConnectionClosed, InvalidHandshake, connect

    try:
        ws = await connect(
            args.url,
            subprotocols=args.subprotocol or (),
            origin=args.origin,
            version=_version(args.version),
        )
    except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
        print(f"connection failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"connected (version {ws.protocol_version}, subprotocol {ws.subprotocol})", file=sys.stderr
    )
    loop = asyncio.get_running_loop()
    received = 0

    async def print_replies() -> None:
        nonlocal received
        try:
            async for message in ws:
                received += 1
                print(_show(message), flush=True)
        except ConnectionClosed:
            return
        except BrokenPipeError:
            # Whoever read our output is gone (``| head``): stop quietly.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
            await ws.close()

    printer = loop.create_task(print_replies())
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            await ws.send(line.rstrip("\n"))
    except ConnectionClosed:
        pass
    # Standard input ended: close once the replies stop coming for a quiet period
    # (or after MAX_WAIT, for a server that never stops talking).
    seen, waited = -1, 0.0
    while seen != received and not printer.done() and waited < MAX_WAIT:
        seen = received
        await asyncio.sleep(QUIET_PERIOD)
        waited += QUIET_PERIOD
    await ws.close()
    await printer
    print(f"closed {ws.close_code} {ws.close_reason}".rstrip(), file=sys.stderr)
    return 0


def _version(text: str) -> Any:
    return int(text) if text.isdigit() else text


def _demo(args: argparse.Namespace) -> int:
    from .connection import ClientConnection, ServerConnection
    from .events import Request

    server = ServerConnection()
    client = ClientConnection("ws://example.com/chat", subprotocols=["chat"])

    def carry(frm: Any, to: Any, arrow: str) -> list[Event]:
        data = frm.data_to_send()
        if data:
            print(f"{arrow} {len(data)} bytes")
            for line in (
                data.decode("latin-1") if data[:1].isalpha() else data.hex(" ")
            ).splitlines():
                print(f"    {line}")
        to.receive_data(data)
        events = list(to.events())
        for event in events:
            print(f"    event: {event!r}")
        return events

    print("== opening handshake")
    for event in carry(client, server, "client -> server"):
        if isinstance(event, Request):
            server.accept("chat")
    carry(server, client, "server -> client")
    print("== messages")
    client.send_text("Hello, server")
    carry(client, server, "client -> server")
    server.send_binary(b"\x00\x01\x02")
    carry(server, client, "server -> client")
    client.ping(b"ping")
    carry(client, server, "client -> server")
    carry(server, client, "server -> client")
    print("== closing handshake")
    client.close(1000, "done")
    carry(client, server, "client -> server")
    carry(server, client, "server -> client")
    print(
        f"server: state {server.state.name}, close the TCP stream: {server.should_close_transport}"
    )
    print(f"client: state {client.state.name}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsproto-core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the demo server (echo, dumb-increment, pages)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--max-message-size", type=int, default=32 * 2**20, metavar="N")
    serve.add_argument("--allow-draft75", action="store_true", help="serve draft-hixie-75 too")
    serve.add_argument("--threads", action="store_true", help="use the threading adapter")
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="processes (SO_REUSEPORT)"
    )
    serve.add_argument("--tls-cert", metavar="FILE", help="serve wss:// with this certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")

    connect = commands.add_parser("connect", help="an interactive client")
    connect.add_argument("url", help="ws:// or wss:// URL")
    connect.add_argument("--subprotocol", action="append", help="offer it (repeatable)")
    connect.add_argument("--origin")
    connect.add_argument("--version", default="13", help="13, 8, 7, hixie-76 or hixie-75")

    commands.add_parser("demo", help="a client and a server talking in memory")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "connect":
        return asyncio.run(_connect(args))
    return _demo(args)


if __name__ == "__main__":
    sys.exit(main())
