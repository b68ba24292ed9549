"""Our servers behind Apache httpd (mod_proxy_wstunnel, and mod_proxy_http's upgrade) and nginx.

The ``proxy`` fixture puts each proxy kind in front of each of our servers; ``/ws/X`` on
the proxy reaches the server's ``/X`` (the configurations are the ones
``docs/howto/deployment.rst`` shows). Node's ws and Chromium are the clients.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from interop_harness import (
    BACKEND_FLAVOURS,
    MAX_MESSAGE_SIZE,
    PROXY_KINDS,
    assert_shutdown_reaches_client,
    binary_payload,
    sha256,
    text_payload,
)

if TYPE_CHECKING:
    from interop_harness import Backend, Chromium, NodeRunner, Peers, Proxy

pytestmark = pytest.mark.interop

MIB = 2**20
INCREMENT_STEPS: list[dict[str, Any]] = [
    {"receive": 3},
    {"send": "text", "data": "reset\n"},
    {"receive": 6},
    {"close": 1000},
]
SERVED_BY_WSTUNNEL = re.compile(r"\[proxy_wstunnel:debug\].*AH02451: serving URL ws://[\d.:]+/echo")
SERVED_BY_PROXY_HTTP = re.compile(
    r"\[proxy_http:debug\].*AH10239: HTTP: tunneling protocol websocket"
)


def browser_steps(
    node: NodeRunner,
    chromium: Chromium,
    proxy: Proxy,
    path: str,
    steps: list[dict[str, Any]],
    **spec: Any,
) -> Any:
    """In a page loaded through ``proxy``, open a WebSocket to ``/ws/path`` and run ``steps``."""
    return node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "steps",
            "page": proxy.url("echo.html"),
            "url": proxy.ws_url(path),
            "steps": steps,
            **spec,
        },
    )


def counts_restart(result: Any) -> bool:
    """Whether the counter readings rose from 0 and, after ``reset``, went back to 0 and rose."""
    counts = [int(entry["text"]) for entry in result["results"] if "received" in entry]
    before, after = counts[:3], counts[3:]
    if before != [0, 1, 2] or 0 not in after:
        return False
    restart = after.index(0)
    return after[restart:] == list(range(len(after) - restart))


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_ws_client_reaches_echo_through_the_proxy(
    node: NodeRunner, proxy: Proxy, kind: str
) -> None:
    result = node.run(
        "ws_client.mjs",
        {
            "url": proxy.ws_url("echo"),
            "steps": [{"send": kind, "size": MIB}, {"receive": 1}, {"close": 1000}],
        },
    )
    payload = text_payload(MIB) if kind == "text" else binary_payload(MIB)
    received = result["results"][1]
    assert (received["received"], received["sha256"]) == (kind, sha256(payload))


def test_ws_client_reaches_dumb_increment_through_the_proxy(node: NodeRunner, proxy: Proxy) -> None:
    result = node.run(
        "ws_client.mjs",
        {
            "url": proxy.ws_url("dumb-increment"),
            "protocols": ["dumb-increment-protocol"],
            "steps": INCREMENT_STEPS,
        },
    )
    assert result["protocol"] == "dumb-increment-protocol"
    assert counts_restart(result), result["results"]


def test_ws_client_over_size_message_gets_1009_through_the_proxy(
    node: NodeRunner, proxy: Proxy
) -> None:
    result = node.run(
        "ws_client.mjs",
        {
            "url": proxy.ws_url("echo"),
            "steps": [{"send": "binary", "size": MAX_MESSAGE_SIZE + MIB}, {"await_close": True}],
        },
    )
    assert result["results"][1]["closed"]["code"] == 1009


def test_browser_reaches_echo_through_the_proxy(
    node: NodeRunner, chromium: Chromium, proxy: Proxy
) -> None:
    result = browser_steps(
        node,
        chromium,
        proxy,
        "echo",
        [{"send": "text", "data": "through the proxy \u2713"}, {"receive": 1}, {"close": 1000}],
    )
    assert result["results"][1]["text"] == "through the proxy \u2713"


def test_browser_reaches_dumb_increment_through_the_proxy(
    node: NodeRunner, chromium: Chromium, proxy: Proxy
) -> None:
    result = browser_steps(
        node,
        chromium,
        proxy,
        "dumb-increment",
        INCREMENT_STEPS,
        protocols=["dumb-increment-protocol"],
    )
    assert result["protocol"] == "dumb-increment-protocol"
    assert counts_restart(result), result["results"]


def test_browser_over_size_message_gets_1009_through_the_proxy(
    node: NodeRunner, chromium: Chromium, proxy: Proxy
) -> None:
    result = browser_steps(
        node,
        chromium,
        proxy,
        "echo",
        [{"send": "text", "size": MAX_MESSAGE_SIZE + MIB}, {"await_close": True}],
    )
    assert result["results"][1]["closed"]["code"] == 1009


@pytest.mark.parametrize("kind", PROXY_KINDS)
@pytest.mark.parametrize("flavour", BACKEND_FLAVOURS)
def test_shutdown_1001_reaches_the_client_through_the_proxy(
    node: NodeRunner,
    fresh_backend: Peers[Backend],
    fresh_proxy: Peers[Proxy],
    flavour: str,
    kind: str,
) -> None:
    server = fresh_backend(flavour)
    proxy = fresh_proxy(kind, server)

    assert_shutdown_reaches_client(node, server, "ws_client.mjs", {"url": proxy.ws_url("echo")})


@pytest.mark.parametrize("kind", PROXY_KINDS)
@pytest.mark.parametrize("flavour", BACKEND_FLAVOURS)
def test_shutdown_1001_reaches_the_browser_through_the_proxy(
    node: NodeRunner,
    chromium: Chromium,
    fresh_backend: Peers[Backend],
    fresh_proxy: Peers[Proxy],
    flavour: str,
    kind: str,
) -> None:
    server = fresh_backend(flavour)
    proxy = fresh_proxy(kind, server)

    assert_shutdown_reaches_client(
        node,
        server,
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "steps",
            "page": proxy.url("echo.html"),
            "url": proxy.ws_url("echo"),
        },
    )


def test_apache_legacy_form_is_served_by_mod_proxy_wstunnel(
    node: NodeRunner, fresh_proxy: Peers[Proxy], backend: Backend
) -> None:
    proxy = fresh_proxy("apache-wstunnel", backend)
    node.run("ws_client.mjs", {"url": proxy.ws_url("echo"), "steps": [{"close": 1000}]})
    log = proxy.error_log()
    assert SERVED_BY_WSTUNNEL.search(log), log
    assert not SERVED_BY_PROXY_HTTP.search(log), log


def test_apache_upgrade_form_is_served_by_mod_proxy_http(
    node: NodeRunner, fresh_proxy: Peers[Proxy], backend: Backend
) -> None:
    proxy = fresh_proxy("apache-upgrade", backend)
    node.run("ws_client.mjs", {"url": proxy.ws_url("echo"), "steps": [{"close": 1000}]})
    log = proxy.error_log()
    assert SERVED_BY_PROXY_HTTP.search(log), log
    assert not SERVED_BY_WSTUNNEL.search(log), log
