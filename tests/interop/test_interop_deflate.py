"""permessage-deflate (RFC 7692) with independent peers: Chromium, directly and through the
proxies, and Node's ws as the client of our servers and as the server of our clients.

Every run echoes the same matrix (``DEFLATE_SIZES`` x ``DEFLATE_KINDS``: 0 B, 100 B, 64 KiB,
1 MiB of repeated text, JSON, a byte pattern, random bytes and random code points) and
checks every echo by its SHA-256. What was agreed is checked on both sides (the browser's
``WebSocket.extensions``, ws's parsed parameters, our ``ws.extensions``), and ws's byte
counters show the messages really travelled compressed: a compressible 1 MiB message takes
a few KiB on the wire, a random one a little more than 1 MiB.
"""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING, Any

import pytest
from interop_harness import (
    BACKEND_FLAVOURS,
    DEFLATE_KINDS,
    DEFLATE_SIZES,
    MIB,
    TEXT_KINDS,
    check_deflate_echoes,
    deflate_echo_steps,
    payload,
    sha256,
)
from our_peers import AsyncioClient, ThreadingClient

from wsproto_core.extensions import PerMessageDeflate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from interop_harness import Backend, Chromium, NodeRunner, NodeWsServer, Peers, Proxy
    from our_peers import Client

pytestmark = pytest.mark.interop

COMPRESSIBLE = frozenset({"text", "json", "binary"})
OUR_DEFAULT_RESPONSE = {
    "permessage-deflate",
    "server_max_window_bits=12",
    "client_max_window_bits=12",
}
"""What our servers answer an offer of bare ``client_max_window_bits`` (browsers, ws)."""
WS_TUNED = {
    "threshold": 0,
    "serverNoContextTakeover": True,
    "clientNoContextTakeover": True,
    "serverMaxWindowBits": 9,
    "clientMaxWindowBits": 8,
}
"""ws's permessage-deflate options that are not its defaults: no context takeover either
way, small windows (8 bits, which zlib's deflate cannot do, included), every message
compressed (ws's default threshold leaves those under 1 KiB alone)."""


def header_params(value: str | None) -> set[str]:
    """A ``Sec-WebSocket-Extensions`` value with one extension as a set of its parts."""
    assert value is not None, "no Sec-WebSocket-Extensions"
    assert "," not in value, value
    return {part.strip() for part in value.split(";")}


def wire_sizes(echoes: list[tuple[str, int, dict[str, Any]]]) -> dict[tuple[str, int], Any]:
    """Bytes each message took each way, from ws's socket counters between two echoes.

    ``steps.js`` sends the next message only after the echo of the previous one, so
    between two receives the client wrote exactly one message and read exactly its echo.
    """
    sizes = {}
    for before, after in itertools.pairwise(echoes):
        was, now = before[2]["stats"], after[2]["stats"]
        sizes[after[0], after[1]] = (
            now["bytesWritten"] - was["bytesWritten"],
            now["bytesRead"] - was["bytesRead"],
        )
    return sizes


def assert_compressed(kind: str, size: int, wire: int, window_bits: int = 15) -> None:
    """A 1 MiB message took a few KiB on the wire if compressible, about 1 MiB if not.

    Random bytes do not compress at all (deflate adds a little: up to 2.3 % with a 9-bit
    window, where zlib cannot fall back to stored blocks), random code points a little
    (UTF-8's lead and continuation bits repeat). The byte pattern
    repeats every 256 bytes, all 256 values once: zlib's deflate reaches back at most
    ``2**window_bits - 262`` bytes, so with a 9-bit window (8 is deflated as 9) it finds
    no match and Huffman coding has nothing to gain either: that it stays 1 MiB shows
    the small window was really used.
    """
    if size != MIB:
        return
    if kind in COMPRESSIBLE and (kind != "binary" or 2**window_bits - 262 >= 256):
        assert wire < MIB // 20, (kind, size, wire)
    elif kind in {"random", "binary"}:
        assert MIB <= wire < MIB + MIB // 20, (kind, size, wire)
    else:
        assert MIB // 2 < wire < MIB + MIB // 20, (kind, size, wire)


def assert_uncompressed(kind: str, size: int, wire: int) -> None:
    """A message of ``size`` UTF-8 bytes took that many bytes and a frame header, no fewer."""
    assert size <= wire <= size + 14, (kind, size, wire)


# -- Chromium --------------------------------------------------------------------------


def browser_matrix(node: NodeRunner, chromium: Chromium, page: str, url: str) -> dict[str, Any]:
    """In Chromium, load ``page``, open a WebSocket to ``url`` and echo the whole matrix."""
    result: dict[str, Any] = node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "steps",
            "page": page,
            "url": url,
            "steps": deflate_echo_steps(),
        },
        timeout=120,
    )
    echoes = check_deflate_echoes(result)
    assert len(echoes) == len(DEFLATE_KINDS) * len(DEFLATE_SIZES)
    return result


def test_browser_deflate_matrix_with_our_server(
    node: NodeRunner, chromium: Chromium, backend: Backend
) -> None:
    result = browser_matrix(node, chromium, backend.url("echo.html"), backend.ws_url("echo"))
    assert header_params(result["extensions"]) == OUR_DEFAULT_RESPONSE


def test_browser_deflate_matrix_through_the_proxy(
    node: NodeRunner, chromium: Chromium, proxy: Proxy
) -> None:
    # A query of its own names this connection in the proxy's access log, which counts
    # the bytes sent to the browser: the random messages, and the others compressed.
    target = f"echo?run={random.getrandbits(64):x}"
    result = browser_matrix(node, chromium, proxy.url("echo.html"), proxy.ws_url(target))
    assert header_params(result["extensions"]) == OUR_DEFAULT_RESPONSE
    entries = result["results"]
    random_bytes = sum(
        entry["bytes"] for entry in entries if entry.get("sent", "").startswith("random")
    )
    every_byte = sum(entry.get("bytes", 0) for entry in entries if "sent" in entry)
    sent = proxy.bytes_sent(f"/ws/{target}")
    assert random_bytes // 2 < sent < random_bytes + 64 * 1024 < every_byte // 2, (
        sent,
        random_bytes,
        every_byte,
    )


@pytest.mark.parametrize("flavour", BACKEND_FLAVOURS)
def test_browser_offer_declined_by_our_server_without_compression(
    node: NodeRunner, chromium: Chromium, fresh_backend: Peers[Backend], flavour: str
) -> None:
    server = fresh_backend(flavour, "--no-compression")
    result = node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "steps",
            "page": server.url("echo.html"),
            "url": server.ws_url("echo"),
            "steps": deflate_echo_steps(("json", "random_text"), (0, 100, MIB)),
        },
    )
    check_deflate_echoes(result)
    assert result["extensions"] == ""


# -- Node's ws as the server of our clients -------------------------------------------------

WS_CONFIGS: dict[str, dict[str, Any]] = {"defaults": {"threshold": 0}, "tuned": WS_TUNED}
WINDOW_BITS = {"defaults": 12, "tuned": 9}
"""The smallest window either side compresses with (ws's 8 is zlib's 9, as is ours)."""
WS_SERVER_AGREED: dict[str, dict[str, Any]] = {
    # Our clients offer a bare client_max_window_bits; ws's defaults leave it out.
    "defaults": {},
    "tuned": {
        "server_no_context_takeover": True,
        "client_no_context_takeover": True,
        "server_max_window_bits": 9,
        "client_max_window_bits": 8,
    },
}
OURS_WITH_WS_SERVER = {
    # (local_no_context_takeover, remote_no_context_takeover, local bits, remote bits)
    "defaults": (False, False, 15, 15),
    "tuned": (True, True, 8, 9),
}


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


def deflation_params(extension: object) -> tuple[bool, bool, int, int]:
    """What our side agreed: its and the peer's no_context_takeover and window bits."""
    assert isinstance(extension, PerMessageDeflate), extension
    return (
        extension.local_no_context_takeover,
        extension.remote_no_context_takeover,
        extension.local_max_window_bits,
        extension.remote_max_window_bits,
    )


def echo_matrix_through_ws_server(
    client: Client, server: NodeWsServer, kinds: tuple[str, ...], sizes: tuple[int, ...]
) -> dict[tuple[str, int], tuple[int, int]]:
    """Echo every kind and size through ``server``; the wire size of each message each way.

    Returns:
        ``(bytes our client sent, bytes ws sent back)`` by ``(kind, size)``, from ws's
        socket counters, for every message but the first.
    """
    rng = random.Random(7692)
    wire: dict[tuple[str, int], tuple[int, int]] = {}
    read = written = None
    for kind in kinds:
        for size in sizes:
            message = payload(kind, size, rng)
            client.send(message)
            echo = client.recv()
            assert (type(echo), len(echo), sha256(echo)) == (
                type(message),
                len(message),
                sha256(message),
            ), (kind, size)
            seen = server.wait_event("message")
            assert (seen["type"], seen["sha256"]) == (
                "text" if kind in TEXT_KINDS else "binary",
                sha256(message),
            ), (kind, size)
            now_written = server.wait_event("sent")["bytesWritten"]
            if read is not None and written is not None:
                wire[kind, size] = (seen["bytesRead"] - read, now_written - written)
            read, written = seen["bytesRead"], now_written
    return wire


@pytest.mark.parametrize("config", WS_CONFIGS)
def test_our_client_deflate_matrix_with_ws_server(
    our_client: Callable[..., Client], ws_server: Peers[NodeWsServer], config: str
) -> None:
    server = ws_server(perMessageDeflate=WS_CONFIGS[config])
    client = our_client(server.ws_url())
    connection = server.wait_event("connection")
    assert header_params(connection["offer"]) == {"permessage-deflate", "client_max_window_bits"}
    assert connection["deflate"] == WS_SERVER_AGREED[config]
    (extension,) = client.extensions
    assert deflation_params(extension) == OURS_WITH_WS_SERVER[config]
    wire = echo_matrix_through_ws_server(client, server, DEFLATE_KINDS, DEFLATE_SIZES)
    for (kind, size), (ours, theirs) in wire.items():
        assert_compressed(kind, size, ours, WINDOW_BITS[config])
        assert_compressed(kind, size, theirs, WINDOW_BITS[config])


def test_our_client_without_compression_with_ws_server_that_would_deflate(
    our_client: Callable[..., Client], ws_server: Peers[NodeWsServer]
) -> None:
    server = ws_server(perMessageDeflate=WS_CONFIGS["defaults"])
    client = our_client(server.ws_url(), compression=None)
    connection = server.wait_event("connection")
    assert (connection["offer"], connection["deflate"]) == (None, None)
    assert client.extensions == ()
    wire = echo_matrix_through_ws_server(client, server, ("json", "random"), (100, MIB))
    for (kind, size), (ours, theirs) in wire.items():
        assert_uncompressed(kind, size, ours - 4)  # our client masks: 4 more bytes
        assert_uncompressed(kind, size, theirs)


# -- Node's ws as the client of our servers -------------------------------------------------

WS_CLIENT_AGREED: dict[str, dict[str, Any]] = {
    "defaults": {"server_max_window_bits": 12, "client_max_window_bits": 12},
    "tuned": WS_SERVER_AGREED["tuned"],
}
OUR_RESPONSE = {
    "defaults": OUR_DEFAULT_RESPONSE,
    "tuned": {
        "permessage-deflate",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits=9",
        "client_max_window_bits=8",
    },
}


def ws_client_matrix(
    node: NodeRunner, url: str, deflate: bool | dict[str, Any], steps: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[tuple[str, int], tuple[int, int]]]:
    """Run ws's client through ``steps``; its result and the wire sizes of each message."""
    result = node.run(
        "ws_client.mjs", {"url": url, "deflate": deflate, "steps": steps}, timeout=120
    )
    return result, wire_sizes(check_deflate_echoes(result))


@pytest.mark.parametrize("config", WS_CONFIGS)
def test_ws_client_deflate_matrix_with_our_server(
    node: NodeRunner, backend: Backend, config: str
) -> None:
    result, wire = ws_client_matrix(
        node, backend.ws_url("echo"), WS_CONFIGS[config], deflate_echo_steps()
    )
    assert header_params(result["info"]["responseExtensions"]) == OUR_RESPONSE[config]
    assert result["info"]["deflate"] == WS_CLIENT_AGREED[config]
    for (kind, size), (theirs, ours) in wire.items():
        assert_compressed(kind, size, theirs, WINDOW_BITS[config])
        assert_compressed(kind, size, ours, WINDOW_BITS[config])


@pytest.mark.parametrize("flavour", BACKEND_FLAVOURS)
def test_ws_client_deflate_with_our_server_tuned(
    node: NodeRunner, fresh_backend: Peers[Backend], flavour: str
) -> None:
    server = fresh_backend(
        flavour,
        "--compression-window-bits=9",
        "--compression-level=9",
        "--compression-mem-level=9",
        "--compression-threshold=200",
    )
    result, wire = ws_client_matrix(
        node,
        server.ws_url("echo"),
        WS_CONFIGS["defaults"],
        deflate_echo_steps(("json", "random_text")),
    )
    assert header_params(result["info"]["responseExtensions"]) == {
        "permessage-deflate",
        "server_max_window_bits=9",
        "client_max_window_bits=9",
    }
    assert result["info"]["deflate"] == {"server_max_window_bits": 9, "client_max_window_bits": 9}
    for (kind, size), (theirs, ours) in wire.items():
        assert_compressed(kind, size, theirs)
        assert_compressed(kind, size, ours)
    # Under the threshold (100 < 200 bytes) our server sends the message as it is.
    assert_uncompressed("json", 100, wire["json", 100][1])


def test_ws_client_without_deflate_with_our_server(node: NodeRunner, backend: Backend) -> None:
    result, wire = ws_client_matrix(
        node, backend.ws_url("echo"), False, deflate_echo_steps(("json", "random"), (100, MIB))
    )
    assert result["info"] == {"responseExtensions": None, "deflate": None}
    for (kind, size), (theirs, ours) in wire.items():
        assert_uncompressed(kind, size, theirs - 4)  # ws masks: 4 more bytes
        assert_uncompressed(kind, size, ours)
