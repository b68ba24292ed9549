"""The ASGI ``websocket`` scope of a handshake request, as uvicorn's own protocols build it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from ..events import Request

__all__ = ["websocket_scope"]

ASGI_SPEC_VERSION = "2.4"
"""The ASGI WebSocket spec version served: 2.4 has the ``websocket.http.response`` extension."""


def websocket_scope(
    request: Request,
    *,
    scheme: str,
    server: tuple[str, int | None] | None,
    client: tuple[str, int] | None,
    root_path: str,
    asgi_version: str,
    state: dict[str, Any],
) -> dict[str, Any]:
    """Build the scope of a WebSocket connection (ASGI WebSocket spec, "Connection Scope").

    Args:
        request: The validated handshake request.
        scheme: ``"ws"`` or ``"wss"``.
        server: The server's address, if known.
        client: The client's address, if known.
        root_path: uvicorn's ``root_path`` option.
        asgi_version: uvicorn's ``asgi_version`` option (``"3.0"``).
        state: A copy of the lifespan state.
    """
    raw_path, _, query_string = request.target.partition("?")
    # HTTP header names are case-insensitive; ASGI wants them lower-cased, as bytes.
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers
    ]
    return {
        "type": "websocket",
        "asgi": {"version": asgi_version, "spec_version": ASGI_SPEC_VERSION},
        "http_version": "1.1",
        "scheme": scheme,
        "server": server,
        "client": client,
        "root_path": root_path,
        "path": root_path + unquote(raw_path),
        "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
        "query_string": query_string.encode("ascii"),
        "headers": headers,
        "subprotocols": list(request.subprotocols),
        "state": state,
        "extensions": {"websocket.http.response": {}},
    }
