"""Publish/subscribe for connections: topics, subscribers, one ``publish`` to reach them all.

A :class:`Hub` keeps which connections subscribe to which topics, in this
process; :meth:`Hub.publish` hands a message to every subscriber of its topic
through a ``broadcast`` function (:func:`wsproto_core.handlers.broadcast` by
default, so handler connections of either adapter; pass
:func:`wsproto_core.asyncio.broadcast` or :func:`wsproto_core.sync.broadcast`
for those adapters' connections). Every method is safe from any thread or task.

For servers in several processes or on several hosts,
:class:`~wsproto_core.redis_hub.RedisHub` (the ``[redis]`` extra) publishes
through Redis as well, so every process's subscribers get the message.

Example (a chat room with the handler API)::

    hub = Hub()

    class Chat(Handler):
        def on_connect(self, conn):
            hub.subscribe("chat", conn)

        def on_message(self, conn, message):
            hub.publish("chat", message)

        def on_disconnect(self, conn, close_code, reason):
            hub.unsubscribe_all(conn)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .handlers import broadcast

__all__ = ["Broadcast", "Hub"]

Broadcast = Callable[[list[Any], str | bytes], object]
"""What a hub calls to deliver a message to its local subscribers: ``broadcast(connections,
message)``, as the adapters' and the handler API's ``broadcast`` functions are."""


class Hub:
    """Topics and their subscribers in this process: the in-process hub.

    Args:
        broadcast: Delivers a message to a list of local subscribers (see the module).
    """

    def __init__(self, broadcast: Broadcast = broadcast) -> None:
        self._broadcast = broadcast
        self._lock = threading.Lock()
        self._topics: dict[str, dict[object, None]] = {}

    def subscribe(self, topic: str, connection: object) -> None:
        """Have ``connection`` receive what is published on ``topic`` (again: no effect)."""
        with self._lock:
            self._topics.setdefault(topic, {})[connection] = None

    def unsubscribe(self, topic: str, connection: object) -> None:
        """Stop ``connection`` receiving ``topic`` (not subscribed: no effect)."""
        with self._lock:
            members = self._topics.get(topic)
            if members is not None:
                members.pop(connection, None)
                if not members:
                    del self._topics[topic]

    def unsubscribe_all(self, connection: object) -> None:
        """Remove ``connection`` from every topic (call it when the connection closes)."""
        with self._lock:
            for topic in [t for t, members in self._topics.items() if connection in members]:
                self._unsubscribe_locked(topic, connection)

    def _unsubscribe_locked(self, topic: str, connection: object) -> None:
        members = self._topics[topic]
        del members[connection]
        if not members:
            del self._topics[topic]

    def subscribers(self, topic: str) -> list[Any]:
        """The connections subscribed to ``topic`` here, in the order they subscribed."""
        with self._lock:
            return list(self._topics.get(topic, ()))

    @property
    def topics(self) -> list[str]:
        """The topics with at least one subscriber here."""
        with self._lock:
            return list(self._topics)

    def publish(self, topic: str, message: str | bytes) -> None:
        """Send ``message`` to every subscriber of ``topic``.

        The message is encoded once per shared framing and slow subscribers
        are skipped, as ``broadcast`` does; nothing is raised for a subscriber.
        """
        self.deliver(topic, message)

    def deliver(self, topic: str, message: str | bytes) -> None:
        """Hand ``message`` to the subscribers of ``topic`` in this process only."""
        members = self.subscribers(topic)
        if members:
            self._broadcast(members, message)

    def close(self) -> None:
        """Release what the hub holds (nothing for the in-process hub)."""

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
