"""Build connected client/server pairs and shuttle bytes between them in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.events import Accept, Event, Request

if TYPE_CHECKING:
    from wsproto_core.versions import ProtocolVersion


def transfer(
    source: ClientConnection | ServerConnection, sink: ClientConnection | ServerConnection
) -> list[Event]:
    """Deliver everything ``source`` owes to ``sink``; return the events ``sink`` produced."""
    data = source.data_to_send()
    if data:
        sink.receive_data(data)
    return list(sink.events())


def open_pair(
    version: ProtocolVersion = 13,
    *,
    subprotocols: tuple[str, ...] = (),
    server_options: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
) -> tuple[ClientConnection, ServerConnection]:
    """A client and a server connection that completed the opening handshake."""
    client = ClientConnection(
        "ws://example.com/chat",
        version=version,
        subprotocols=subprotocols,
        **(client_options or {}),
    )
    server = ServerConnection(allow_draft75=True, **(server_options or {}))
    events = transfer(client, server)
    assert len(events) == 1 and isinstance(events[0], Request), events
    server.accept()
    events = transfer(server, client)
    assert len(events) == 1 and isinstance(events[0], Accept), events
    return client, server
