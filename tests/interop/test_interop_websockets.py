"""permessage-deflate (RFC 7692) with the websockets package, as server and as client.

websockets' servers and clients agree permessage-deflate by default (``compression=
"deflate"``), as ours do. Each run echoes the matrix of ``DEFLATE_SIZES`` x
``DEFLATE_KINDS`` (0 B to 1 MiB; repeated text, JSON, a byte pattern, random bytes and
random code points) and checks what each side agreed: websockets'
``ws.protocol.extensions`` and our ``ws.extensions``. The servers run in this process,
each in a thread of its own. websockets is a test dependency (``pip install .[test]``):
it is imported, not skipped when missing.
"""

from __future__ import annotations

import queue
import random
import threading
from typing import TYPE_CHECKING, Any

import pytest
from interop_harness import (
    BACKEND_FLAVOURS,
    DEFLATE_KINDS,
    DEFLATE_SIZES,
    MAX_MESSAGE_SIZE,
    MIB,
    payload,
    sha256,
)
from our_peers import TIMEOUT, AsyncioClient, OurServer, ThreadingClient
from websockets.extensions import permessage_deflate as websockets_deflate
from websockets.sync import client as websockets_sync_client
from websockets.sync import server as websockets_sync_server

from wsproto_core.extensions import PerMessageDeflate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from our_peers import Client

pytestmark = pytest.mark.interop

Agreed = tuple[bool, bool, int, int]
"""``(local_no_context_takeover, remote_no_context_takeover, local bits, remote bits)``."""

CONFIGS = ("defaults", "tuned")
"""websockets' defaults (``compression="deflate"``), and a factory that changes them all."""


def params(extensions: Any) -> Agreed:
    """What one side agreed, from its only extension (ours or websockets')."""
    (extension,) = extensions
    assert extension.name == "permessage-deflate", extension
    return (
        extension.local_no_context_takeover,
        extension.remote_no_context_takeover,
        extension.local_max_window_bits,
        extension.remote_max_window_bits,
    )


def echo_matrix(
    send: Callable[[str | bytes], None],
    recv: Callable[[], str | bytes],
    kinds: tuple[str, ...] = DEFLATE_KINDS,
    sizes: tuple[int, ...] = DEFLATE_SIZES,
) -> None:
    """Send every kind and size, one at a time; each echo must be the message sent."""
    rng = random.Random(7692)
    for kind in kinds:
        for size in sizes:
            message = payload(kind, size, rng)
            send(message)
            echo = recv()
            assert (type(echo), len(echo), sha256(echo)) == (
                type(message),
                len(message),
                sha256(message),
            ), (kind, size)


# -- websockets as the server of our clients ------------------------------------------------


class WebsocketsServer:
    """websockets' threading server on 127.0.0.1, echoing, recording what each connection agreed.

    Args:
        options: More ``websockets.sync.server.serve`` arguments (``compression``, ``extensions``).
    """

    __slots__ = ("agreed", "port", "server", "thread")

    def __init__(self, **options: Any) -> None:
        self.agreed: queue.Queue[Any] = queue.Queue()
        self.server = websockets_sync_server.serve(
            self._echo, "127.0.0.1", 0, max_size=MAX_MESSAGE_SIZE, ping_interval=None, **options
        )
        self.port: int = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="websockets-server")
        self.thread.start()

    def _echo(self, ws: Any) -> None:
        self.agreed.put(tuple(ws.protocol.extensions))
        for message in ws:
            ws.send(message)

    def ws_url(self) -> str:
        """The server's ``ws://`` URL."""
        return f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """Stop serving and wait for the server's thread."""
        self.server.shutdown()
        self.thread.join(TIMEOUT)


WEBSOCKETS_SERVER: dict[str, dict[str, Any]] = {
    "defaults": {},
    "tuned": {
        "extensions": [
            websockets_deflate.ServerPerMessageDeflateFactory(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
                server_max_window_bits=10,
                client_max_window_bits=9,
            )
        ]
    },
}
"""websockets' server options: its defaults are 12-bit windows both ways, memLevel 5."""
AGREED_WITH_WEBSOCKETS_SERVER: dict[str, tuple[Agreed, Agreed]] = {
    # (websockets', ours)
    "defaults": ((False, False, 12, 12), (False, False, 12, 12)),
    "tuned": ((True, True, 10, 9), (True, True, 9, 10)),
}


@pytest.fixture
def websockets_server() -> Iterator[Callable[..., WebsocketsServer]]:
    """Start websockets servers: ``websockets_server(**options)``; all stopped afterwards."""
    started: list[WebsocketsServer] = []

    def start(**options: Any) -> WebsocketsServer:
        started.append(WebsocketsServer(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=BACKEND_FLAVOURS)
def our_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Client]]:
    """Open our asyncio, then our threading, client, with options; all closed afterwards."""
    opened: list[ThreadingClient | AsyncioClient] = []

    def open_client(url: str, **options: Any) -> Client:
        kind = AsyncioClient if request.param == "asyncio" else ThreadingClient
        opened.append(kind(url, **options))
        return opened[-1]

    yield open_client
    for client in opened:
        if isinstance(client, AsyncioClient):
            client.shut()
        else:
            client.ws.close()


@pytest.mark.parametrize("config", CONFIGS)
def test_our_client_deflate_matrix_with_websockets_server(
    our_client: Callable[..., Client],
    websockets_server: Callable[..., WebsocketsServer],
    config: str,
) -> None:
    server = websockets_server(**WEBSOCKETS_SERVER[config])
    client = our_client(server.ws_url())
    (extension,) = client.extensions
    assert isinstance(extension, PerMessageDeflate)
    theirs = params(server.agreed.get(timeout=TIMEOUT))
    assert (theirs, params(client.extensions)) == AGREED_WITH_WEBSOCKETS_SERVER[config]
    echo_matrix(client.send, client.recv)


def test_our_client_without_compression_with_websockets_server(
    our_client: Callable[..., Client], websockets_server: Callable[..., WebsocketsServer]
) -> None:
    # websockets' server would agree permessage-deflate; our client does not offer it.
    server = websockets_server()
    client = our_client(server.ws_url(), compression=None)
    assert (server.agreed.get(timeout=TIMEOUT), client.extensions) == ((), ())
    echo_matrix(client.send, client.recv, ("json", "random"), (0, 100, MIB))


def test_our_client_with_websockets_server_without_compression(
    our_client: Callable[..., Client], websockets_server: Callable[..., WebsocketsServer]
) -> None:
    # Our client offers permessage-deflate; websockets' server declines it.
    server = websockets_server(compression=None)
    client = our_client(server.ws_url())
    assert (server.agreed.get(timeout=TIMEOUT), client.extensions) == ((), ())
    echo_matrix(client.send, client.recv, ("json", "random"), (0, 100, MIB))


# -- websockets as the client of our servers ------------------------------------------------

WEBSOCKETS_CLIENT: dict[str, dict[str, Any]] = {
    "defaults": {},
    "tuned": {
        "extensions": [
            websockets_deflate.ClientPerMessageDeflateFactory(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
                server_max_window_bits=10,
                client_max_window_bits=9,
            )
        ]
    },
}
"""websockets' client options: by default it offers a bare client_max_window_bits."""
AGREED_WITH_WEBSOCKETS_CLIENT: dict[str, tuple[Agreed, Agreed]] = {
    # (websockets', ours): our server answers with 12-bit windows unless asked for less.
    "defaults": ((False, False, 12, 12), (False, False, 12, 12)),
    "tuned": ((True, True, 9, 10), (True, True, 10, 9)),
}


@pytest.fixture(params=BACKEND_FLAVOURS)
def our_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., OurServer]]:
    """Start our asyncio, then our threading, server, with options; all stopped afterwards."""
    started: list[OurServer] = []

    def start(**options: Any) -> OurServer:
        started.append(OurServer(request.param, **options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def websockets_client(url: str, **options: Any) -> Any:
    """websockets' threading client, connected to ``url``."""
    return websockets_sync_client.connect(
        url, max_size=MAX_MESSAGE_SIZE, open_timeout=TIMEOUT, ping_interval=None, **options
    )


@pytest.mark.parametrize("config", CONFIGS)
def test_websockets_client_deflate_matrix_with_our_server(
    our_server: Callable[..., OurServer], config: str
) -> None:
    server = our_server()
    with websockets_client(server.ws_url("echo"), **WEBSOCKETS_CLIENT[config]) as ws:
        ours = server.next_agreed()
        assert isinstance(ours[0], PerMessageDeflate)
        assert (params(ws.protocol.extensions), params(ours)) == AGREED_WITH_WEBSOCKETS_CLIENT[
            config
        ]
        echo_matrix(ws.send, lambda: ws.recv(TIMEOUT))


def test_websockets_client_without_compression_with_our_server(
    our_server: Callable[..., OurServer],
) -> None:
    # Our server would agree permessage-deflate; websockets' client does not offer it.
    server = our_server()
    with websockets_client(server.ws_url("echo"), compression=None) as ws:
        assert (tuple(ws.protocol.extensions), server.next_agreed()) == ((), ())
        echo_matrix(ws.send, lambda: ws.recv(TIMEOUT), ("json", "random"), (0, 100, MIB))


def test_websockets_client_with_our_server_without_compression(
    our_server: Callable[..., OurServer],
) -> None:
    # websockets' client offers permessage-deflate; our server declines it.
    server = our_server(compression=None)
    with websockets_client(server.ws_url("echo")) as ws:
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        assert (tuple(ws.protocol.extensions), server.next_agreed()) == ((), ())
        echo_matrix(ws.send, lambda: ws.recv(TIMEOUT), ("json", "random"), (0, 100, MIB))
