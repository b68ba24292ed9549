"""A function (threads) or coroutine (asyncio) handler answers the handshake: process_request.

The Handler API refuses in ``on_connect``; a plain handler gets the same power
from the ``process_request`` option of both servers: accept (``None``), or
answer with any HTTP response, e.g. 401 with ``WWW-Authenticate``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from contract_helpers import run_server

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


async def echo_once_async(ws: ws_asyncio.WebSocket) -> None:
    await ws.send(await ws.recv())


def echo_once(ws: ws_sync.Connection) -> None:
    ws.send(ws.recv(timeout=WAIT))


SERVERS: dict[str, tuple[str, Any, Callable[[Request], Any]]] = {
    "asyncio": ("asyncio", echo_once_async, check_token),
    "asyncio-coroutine-check": ("asyncio", echo_once_async, check_token_async),
    "threading": ("threading", echo_once, check_token),
}


@pytest.fixture(params=sorted(SERVERS))
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    adapter, handler, check = SERVERS[request.param]
    with run_server(adapter, handler, process_request=check) as server:
        yield server.port


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
