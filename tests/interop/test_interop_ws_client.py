"""Node's ws as the client of our servers, asyncio and threading (the ``backend`` fixture)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from interop_harness import (
    BACKEND_FLAVOURS,
    MAX_MESSAGE_SIZE,
    assert_shutdown_reaches_client,
    binary_payload,
    sha256,
    text_payload,
)

if TYPE_CHECKING:
    from interop_harness import Backend, NodeRunner, Peers

pytestmark = pytest.mark.interop

MIB = 2**20


def echo(node: NodeRunner, backend: Backend, kind: str, size: int, fragments: int = 1) -> Any:
    """Send one message of ``kind`` and ``size`` through Node's ws, return what came back."""
    result = node.run(
        "ws_client.mjs",
        {
            "url": backend.ws_url("echo"),
            "steps": [
                {"send": kind, "size": size, "fragments": fragments},
                {"receive": 1},
                {"close": 1000},
            ],
        },
    )
    assert result["opened"], result
    return result["results"][1]


def expected(kind: str, size: int) -> dict[str, Any]:
    """What ``echo`` must report for the message ``steps.js`` sent."""
    payload = text_payload(size) if kind == "text" else binary_payload(size)
    return {"received": kind, "length": size, "sha256": sha256(payload)}


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_ws_client_gets_a_short_message_echoed(
    node: NodeRunner, backend: Backend, kind: str
) -> None:
    received = echo(node, backend, kind, 40)
    assert {key: received[key] for key in ("received", "length", "sha256")} == expected(kind, 40)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_ws_client_gets_a_1mib_message_echoed(
    node: NodeRunner, backend: Backend, kind: str
) -> None:
    received = echo(node, backend, kind, MIB)
    assert {key: received[key] for key in ("received", "length", "sha256")} == expected(kind, MIB)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_ws_client_fragmented_message_is_reassembled(
    node: NodeRunner, backend: Backend, kind: str
) -> None:
    # 7 frames of the UTF-8 bytes: for text, some boundaries split a code point.
    received = echo(node, backend, kind, 100_003, fragments=7)
    assert {key: received[key] for key in ("received", "length", "sha256")} == expected(
        kind, 100_003
    )


def test_step_runner_waits_for_the_close_while_messages_still_arrive(
    node: NodeRunner, backend: Backend
) -> None:
    # The close follows the send in the same JavaScript task, so the echo arrives while
    # the runner waits for the close event: an event that does not end a wait must leave
    # it waiting (the runner once spun forever there, and a test hung for 60 s).
    result = node.run(
        "ws_client.mjs",
        {"url": backend.ws_url("echo"), "steps": [{"send": "text", "data": "x"}, {"close": 1000}]},
    )
    assert result["results"][1]["closed"]["code"] == 1000


def test_ws_client_ping_gets_its_pong(node: NodeRunner, backend: Backend) -> None:
    result = node.run(
        "ws_client.mjs",
        {"url": backend.ws_url("echo"), "steps": [{"ping": "are you there"}, {"close": 1000}]},
    )
    assert result["results"][0] == {"pong": "are you there"}


def test_ws_client_close_code_and_reason_come_back(node: NodeRunner, backend: Backend) -> None:
    result = node.run(
        "ws_client.mjs",
        {"url": backend.ws_url("echo"), "steps": [{"close": 4001, "reason": "bye \u2713"}]},
    )
    closed = result["results"][0]["closed"]
    assert (closed["code"], closed["wasClean"]) == (4001, True)


def test_ws_client_over_size_message_gets_1009(node: NodeRunner, backend: Backend) -> None:
    result = node.run(
        "ws_client.mjs",
        {
            "url": backend.ws_url("echo"),
            "steps": [{"send": "binary", "size": MAX_MESSAGE_SIZE + MIB}, {"await_close": True}],
        },
    )
    assert result["results"][1]["closed"]["code"] == 1009


def test_ws_client_dumb_increment_counts_and_resets(node: NodeRunner, backend: Backend) -> None:
    result = node.run(
        "ws_client.mjs",
        {
            "url": backend.ws_url("dumb-increment"),
            "protocols": ["dumb-increment-protocol"],
            "steps": [
                {"receive": 5},
                {"send": "text", "data": "reset\n"},
                {"receive": 8},
                {"close": 1000},
            ],
        },
    )
    assert result["protocol"] == "dumb-increment-protocol"
    counts = [int(entry["text"]) for entry in result["results"] if "received" in entry]
    assert counts[:5] == [0, 1, 2, 3, 4]
    after = counts[5:]
    restart = after.index(0)
    assert after[:restart] == list(range(5, 5 + restart))
    assert after[restart:] == list(range(len(after) - restart))


@pytest.mark.parametrize("flavour", BACKEND_FLAVOURS)
def test_ws_client_sees_1001_when_the_server_shuts_down(
    node: NodeRunner, fresh_backend: Peers[Backend], flavour: str
) -> None:
    server = fresh_backend(flavour)

    assert_shutdown_reaches_client(node, server, "ws_client.mjs", {"url": server.ws_url("echo")})
