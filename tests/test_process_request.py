"""A function (threads) or coroutine (asyncio) handler answers the handshake: process_request.

The Handler API refuses in ``on_connect``; a plain handler gets the same power
from the ``process_request`` option of both servers: accept (``None``), or
answer with any HTTP response, e.g. 401 with ``WWW-Authenticate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core import asyncio as ws_asyncio
from wsproto_core import sync as ws_sync
from wsproto_core.errors import HandshakeRejected
from wsproto_core.handlers import Refuse, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wsproto_core.events import Request

WAIT = 10.0

CHALLENGE = Response.text(401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="demo"')])


def check_token(request: Request) -> Response | None:
    """Accept a request carrying the right token; refuse the others."""
    if request.header("Authorization") == "Bearer good":
        return None
    if request.header("Authorization") == "Bearer banned":
        raise Refuse(403, "banned")
    if request.header("Authorization") == "Bearer broken":
        raise RuntimeError("a bug in the check")
    return CHALLENGE


async def check_token_async(request: Request) -> Response | None:
    await asyncio.sleep(0)
    return check_token(request)


@contextlib.contextmanager
def asyncio_server(check: Callable[[Request], Any]) -> Iterator[int]:
    """An asyncio server with a coroutine handler (echo once) in a thread; yields its port."""
    ports: list[int] = []
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = loop.create_future()

    async def handler(ws: ws_asyncio.WebSocket) -> None:
        await ws.send(await ws.recv())

    async def main() -> None:
        server = await ws_asyncio.serve(handler, "127.0.0.1", 0, process_request=check)
        ports.append(server.port)
        started.set()
        await stop
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(WAIT)
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(WAIT)
        loop.close()


@contextlib.contextmanager
def sync_server(check: Callable[[Request], Any]) -> Iterator[int]:
    """A threading server with a function handler (echo once); yields its port."""

    def handler(ws: ws_sync.Connection) -> None:
        ws.send(ws.recv(timeout=WAIT))

    server = ws_sync.serve(handler, "127.0.0.1", 0, process_request=check)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        thread.join(WAIT)


SERVERS: dict[str, tuple[Any, Callable[[Request], Any]]] = {
    "asyncio": (asyncio_server, check_token),
    "asyncio-coroutine-check": (asyncio_server, check_token_async),
    "threading": (sync_server, check_token),
}


@pytest.fixture(params=sorted(SERVERS))
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    start, check = SERVERS[request.param]
    with start(check) as server_port:
        yield server_port


def connect(port: int, token: str | None) -> ws_sync.Connection:
    headers = [] if token is None else [("Authorization", f"Bearer {token}")]
    return ws_sync.connect(f"ws://127.0.0.1:{port}/", extra_headers=headers, open_timeout=WAIT)


def test_an_accepted_request_reaches_the_handler(port: int) -> None:
    with connect(port, "good") as ws:
        ws.send("hello")
        assert ws.recv(timeout=WAIT) == "hello"


def test_a_response_answers_the_handshake(port: int) -> None:
    with pytest.raises(HandshakeRejected) as info:
        connect(port, None)
    assert info.value.status == 401
    assert ("WWW-Authenticate", 'Bearer realm="demo"') in info.value.headers
    assert info.value.body == b"Unauthorized\n"


def test_refuse_answers_with_its_status(port: int) -> None:
    with pytest.raises(HandshakeRejected) as info:
        connect(port, "banned")
    assert (info.value.status, info.value.body) == (403, b"banned\n")


def test_an_error_in_the_check_answers_500(port: int) -> None:
    with pytest.raises(HandshakeRejected) as info:
        connect(port, "broken")
    assert info.value.status == 500
    # The server lives on: the next client is served.
    with connect(port, "good") as ws:
        ws.send("still here")
        assert ws.recv(timeout=WAIT) == "still here"


@pytest.mark.parametrize("serve", [ws_sync.serve, ws_asyncio.serve])
def test_process_request_is_for_plain_handlers(serve: Any) -> None:
    from wsproto_core.examples import EchoHandler

    with pytest.raises(TypeError, match="on_connect"):
        serve(EchoHandler(), "127.0.0.1", 0, process_request=check_token)
