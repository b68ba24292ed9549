"""The chat room: every text message sent to ``/chat`` reaches every ``/chat`` client.

The room is a topic of a :class:`~wsproto_core.hub.Hub`: in-process by
default, or a :class:`~wsproto_core.redis_hub.RedisHub` (``serve --broker
redis://...``) so that the clients of several server processes, on several
hosts, share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..handlers import Handler

if TYPE_CHECKING:
    from ..handlers import HandlerConnection
    from ..hub import Hub

__all__ = ["MAX_CHAT_MESSAGE", "ChatHandler"]

MAX_CHAT_MESSAGE = 4096
"""The largest chat message, in bytes: a bigger one closes the connection with 1009."""


class ChatHandler(Handler):
    """Subscribes every connection to one topic and publishes its text messages there.

    Binary messages are ignored: the room is text.

    Args:
        hub: Where the room lives.
        topic: The room's topic.
    """

    def __init__(self, hub: Hub, topic: str = "chat") -> None:
        self.hub = hub
        self.topic = topic

    def on_connect(self, conn: HandlerConnection) -> None:
        """Join the room."""
        self.hub.subscribe(self.topic, conn)

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        """Send a text message to everyone in the room, the sender too."""
        if isinstance(message, str):
            self.hub.publish(self.topic, message)

    def on_disconnect(self, conn: HandlerConnection, close_code: int, reason: str) -> None:
        """Leave the room."""
        self.hub.unsubscribe_all(conn)
