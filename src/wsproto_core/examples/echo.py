"""The echo handler: every message goes back to its sender with the same type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..handlers import Handler

if TYPE_CHECKING:
    from ..handlers import HandlerConnection

__all__ = ["EchoHandler"]


class EchoHandler(Handler):
    """Sends every message back as it came: text as text, binary as binary.

    Like mod_websocket's echo plugin, it speaks no subprotocol and accepts every
    connection.
    """

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        """Send ``message`` back."""
        conn.send(message)
