"""A :class:`~wsproto_core.hub.Hub` shared by processes and hosts through Redis pub/sub.

Needs the ``[redis]`` extra (the ``redis`` package; its asyncio client is used).
Every process makes a :class:`RedisHub` on the same Redis server: a message
published in one process goes to that process's subscribers at once, and to
Redis (``PUBLISH`` on the topic's channel), from which every other process
gets it (one ``PSUBSCRIBE`` per hub) and hands it to its own subscribers.

The hub runs its Redis client in a thread of its own, with its own event loop,
so it serves either adapter and ``publish`` never waits for Redis.

When Redis goes away (Redis pub/sub is fire-and-forget):

* ``publish`` still reaches this process's subscribers; what it would have
  sent to Redis is dropped (counted in :attr:`RedisHub.dropped`), as are the
  messages waiting to go out when the connection broke: other processes
  never see them. Messages other processes publish meanwhile are lost for
  this one.
* The hub reconnects with exponential backoff (``backoff_min`` doubling up to
  ``backoff_max`` seconds, with jitter), and subscribes again; nothing is
  replayed.
* Nothing grows: at most ``max_pending`` messages wait for Redis; beyond
  that, a publish is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .handlers import broadcast
from .hub import Hub

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio.client import PubSub

    from .hub import Broadcast

__all__ = ["RedisHub"]

logger = logging.getLogger("wsproto_core.hub")

_TEXT = b"t"
_BINARY = b"b"
_NODE_BYTES = 8


class RedisHub(Hub):
    """A hub whose topics are shared with every other ``RedisHub`` on the same Redis.

    Call :meth:`start` (or use it as a context manager) before publishing;
    :meth:`close` stops it.

    Args:
        url: The Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
        broadcast: Delivers a message to local subscribers (see :class:`~wsproto_core.hub.Hub`).
        channel_prefix: Put before a topic to make its Redis channel; hubs
            with different prefixes on one Redis do not see each other.
        max_pending: The most messages waiting to be sent to Redis.
        backoff_min: The first wait before reconnecting, in seconds.
        backoff_max: The longest wait between two attempts, in seconds.

    Attributes:
        published: Messages sent to Redis.
        received: Messages received from other processes.
        dropped: Messages not sent to Redis (disconnected, or ``max_pending`` full).
        reconnects: Connections to Redis made after the first.
    """

    def __init__(
        self,
        url: str,
        *,
        broadcast: Broadcast = broadcast,
        channel_prefix: str = "wsproto_core:",
        max_pending: int = 1024,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        super().__init__(broadcast)
        if max_pending < 1:
            raise ValueError("max_pending must be positive")
        self.url = url
        self._prefix = channel_prefix.encode()
        self._max_pending = max_pending
        self._backoff = (backoff_min, backoff_max)
        self._node = os.urandom(_NODE_BYTES)  # our own messages come back: skip them
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: deque[tuple[bytes, bytes]] = deque()
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._state = threading.Condition()
        self._connected = False
        self._connections = 0
        self.published = 0
        self.received = 0
        self.dropped = 0
        self.reconnects = 0

    # -- life ----------------------------------------------------------------------

    def start(self) -> RedisHub:
        """Start the hub's thread; it connects to Redis (and keeps reconnecting)."""
        if self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="wsproto-redis-hub", daemon=True
            )
            self._thread.start()
            ready.wait()
        return self

    def close(self) -> None:
        """Disconnect from Redis and stop the thread (waits for it)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is gone already
            loop.call_soon_threadsafe(self._request_stop)
        thread.join()
        self._thread = None

    def __enter__(self) -> RedisHub:
        return self.start()

    @property
    def connected(self) -> bool:
        """Whether the hub is connected to Redis and subscribed."""
        return self._connected

    def wait_connected(self, connected: bool = True, timeout: float | None = None) -> bool:
        """Wait until :attr:`connected` is ``connected``; return whether it is."""
        with self._state:
            return self._state.wait_for(lambda: self._connected is connected, timeout)

    # -- publishing ----------------------------------------------------------------

    def publish(self, topic: str, message: str | bytes) -> None:
        """Send ``message`` to the subscribers of ``topic`` here, and through Redis to the others.

        Never waits for Redis: while it is unreachable, or ``max_pending``
        messages wait for it, the message reaches this process only
        (:attr:`dropped` counts it).
        """
        self.deliver(topic, message)
        kind = _TEXT if isinstance(message, str) else _BINARY
        payload = kind + self._node + (message.encode() if isinstance(message, str) else message)
        loop = self._loop
        if not self._connected or loop is None:
            self.dropped += 1
            return
        try:
            loop.call_soon_threadsafe(self._enqueue, self._prefix + topic.encode(), payload)
        except RuntimeError:  # closed meanwhile
            self.dropped += 1

    def _enqueue(self, channel: bytes, payload: bytes) -> None:
        if not self._connected or len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append((channel, payload))
        assert self._wake is not None
        self._wake.set()

    # -- the hub's thread ----------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    def _request_stop(self) -> None:
        assert self._stop is not None
        self._stop.set()

    async def _main(self) -> None:
        """Connect, serve, and reconnect with backoff, until :meth:`close`."""
        assert self._stop is not None
        stop = asyncio.ensure_future(self._stop.wait())
        delay = self._backoff[0]
        while not self._stop.is_set():
            session = asyncio.ensure_future(self._session())
            await asyncio.wait((session, stop), return_when=asyncio.FIRST_COMPLETED)
            if not session.done():
                session.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session
                break
            if session.result():
                delay = self._backoff[0]  # it was connected: start the backoff afresh
            wait = delay * random.uniform(0.5, 1.0)
            delay = min(delay * 2, self._backoff[1])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(stop), wait)

    async def _session(self) -> bool:
        """One connection to Redis, until it fails; return whether it got subscribed."""
        client: Redis = Redis.from_url(self.url, retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        subscribed = False
        try:
            await pubsub.psubscribe(self._prefix + b"*")
            self._set_connected(True)
            subscribed = True
            tasks = (
                asyncio.ensure_future(self._listen(pubsub)),
                asyncio.ensure_future(self._send(client)),
            )
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # raises what ended it
            finally:
                for task in tasks:
                    task.cancel()
        except (RedisError, OSError) as exc:
            logger.warning("redis hub %s: %s", self.url, exc or type(exc).__name__)
        finally:
            if subscribed:
                self._set_connected(False)
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose  # untyped in redis
            await _quietly(close_pubsub())
            await _quietly(client.aclose())
        return subscribed

    async def _listen(self, pubsub: PubSub) -> None:
        prefix = len(self._prefix)
        async for item in pubsub.listen():
            if item.get("type") != "pmessage":
                continue
            data: bytes = item["data"]
            if data[1 : 1 + _NODE_BYTES] == self._node:
                continue  # ours: delivered here when it was published
            body = data[1 + _NODE_BYTES :]
            message: str | bytes = body.decode() if data[:1] == _TEXT else body
            self.received += 1
            topic = item["channel"][prefix:].decode()
            await asyncio.to_thread(self.deliver, topic, message)

    async def _send(self, client: Redis) -> None:
        pending = self._pending
        wake = self._wake
        assert wake is not None
        while True:
            while pending:
                channel, payload = pending[0]
                await client.publish(channel, payload)
                pending.popleft()
                self.published += 1
            wake.clear()
            await wake.wait()

    def _set_connected(self, connected: bool) -> None:
        if connected:
            self._connections += 1
            if self._connections > 1:
                self.reconnects += 1
            logger.info("redis hub %s: connected", self.url)
        else:
            self.dropped += len(self._pending)  # Redis pub/sub keeps nothing: they are lost
            self._pending.clear()
            if self._stop is None or not self._stop.is_set():
                logger.warning("redis hub %s: disconnected; reconnecting", self.url)
        with self._state:
            self._connected = connected
            self._state.notify_all()


async def _quietly(closing: Any) -> None:
    """Await a close, ignoring that the connection is broken already."""
    with contextlib.suppress(RedisError, OSError):
        await closing
