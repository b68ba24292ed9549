"""Serve the uvicorn chat example (``docs/examples/uvicorn_chat``) as ``python app.py`` does.

Usage: ``python uvicorn_chat_server.py`` (port 0: uvicorn logs the port it got, in
its ``Uvicorn running on http://127.0.0.1:PORT`` line).

The example's ``main()`` runs unchanged, with one thing added around its ASGI app:
for every WebSocket connection, one JSON line on standard output naming the class
whose ``send`` the application was given, i.e. the uvicorn protocol object that
carries the connection, so that the interop test can check it was ours.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uvicorn_chat" / "app.py"


def load_example() -> Any:
    """Import the example's ``app.py`` as a module."""
    spec = importlib.util.spec_from_file_location("uvicorn_chat_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reporting(app: Any) -> Any:
    """Wrap ``app``: print which protocol class carries each WebSocket connection."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            carrier = type(getattr(send, "__self__", send))
            report = {
                "websocket": scope["path"],
                "protocol": f"{carrier.__module__}.{carrier.__qualname__}",
            }
            print(json.dumps(report), flush=True)
        await app(scope, receive, send)

    return wrapped


def main() -> None:
    example = load_example()
    example.app = reporting(example.app)
    example.main(host="127.0.0.1", port=0)


if __name__ == "__main__":
    sys.exit(main())
