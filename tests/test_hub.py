"""The publish/subscribe hub: in-process, and shared through a real redis-server."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest
from redis_helpers import RedisServer, require_redis

from wsproto_core.hub import Hub

WAIT = 10.0


class Recorder:
    """A hub's broadcast function that records what it was asked to deliver."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[list[Any], str | bytes]] = queue.Queue()

    def __call__(self, connections: list[Any], message: str | bytes) -> None:
        self.calls.put((list(connections), message))

    def next(self) -> tuple[list[Any], str | bytes]:
        return self.calls.get(timeout=WAIT)

    def nothing_more(self) -> bool:
        return self.calls.empty()


# -- in-process -----------------------------------------------------------------------


def test_publish_reaches_the_subscribers_of_its_topic_only() -> None:
    recorder = Recorder()
    hub = Hub(recorder)
    hub.subscribe("room", "alice")
    hub.subscribe("room", "bob")
    hub.subscribe("other", "carol")
    hub.publish("room", "hello")
    assert recorder.next() == (["alice", "bob"], "hello")
    assert recorder.nothing_more()


def test_subscribing_twice_delivers_once() -> None:
    recorder = Recorder()
    hub = Hub(recorder)
    hub.subscribe("room", "alice")
    hub.subscribe("room", "alice")
    hub.publish("room", b"\x00")
    assert recorder.next() == (["alice"], b"\x00")


def test_a_topic_without_subscribers_delivers_nothing() -> None:
    recorder = Recorder()
    hub = Hub(recorder)
    hub.subscribe("room", "alice")
    hub.unsubscribe("room", "alice")
    hub.unsubscribe("room", "alice")  # not subscribed: no effect
    hub.publish("room", "anyone?")
    assert recorder.nothing_more()
    assert hub.topics == []


def test_unsubscribe_all_leaves_every_topic() -> None:
    recorder = Recorder()
    with Hub(recorder) as hub:
        for topic in ("a", "b", "c"):
            hub.subscribe(topic, "alice")
        hub.subscribe("b", "bob")
        hub.unsubscribe_all("alice")
        assert hub.topics == ["b"]
        assert hub.subscribers("b") == ["bob"]


# -- through Redis ------------------------------------------------------------------------

redis_hub = pytest.importorskip("wsproto_core.redis_hub")


@pytest.fixture
def redis_server() -> Any:
    require_redis()
    with RedisServer() as server:
        yield server


def hubs(url: str, count: int, **options: Any) -> list[tuple[Any, Recorder]]:
    made = []
    for _ in range(count):
        recorder = Recorder()
        hub = redis_hub.RedisHub(url, broadcast=recorder, backoff_min=0.05, **options).start()
        assert hub.wait_connected(True, WAIT)
        made.append((hub, recorder))
    return made


def test_a_message_published_in_one_hub_reaches_the_other_hubs_subscribers(
    redis_server: RedisServer,
) -> None:
    (one, one_calls), (two, two_calls) = hubs(redis_server.url, 2)
    try:
        one.subscribe("chat", "local")
        two.subscribe("chat", "remote")
        two.subscribe("elsewhere", "nobody")
        one.publish("chat", "across")
        one.publish("chat", b"\x01\x02")
        assert one_calls.next() == (["local"], "across")  # at once, not through Redis
        assert two_calls.next() == (["remote"], "across")
        assert one_calls.next() == (["local"], b"\x01\x02")
        assert two_calls.next() == (["remote"], b"\x01\x02")
        two.publish("chat", "back")
        assert one_calls.next() == (["local"], "back")
        assert two_calls.next() == (["remote"], "back")
        assert one_calls.nothing_more()  # its own messages came back from Redis: skipped
        assert (one.published, one.received, two.received) == (2, 1, 2)
    finally:
        one.close()
        two.close()


def test_when_redis_goes_away_the_hubs_go_on_locally_and_reconnect(
    redis_server: RedisServer,
) -> None:
    (one, one_calls), (two, two_calls) = hubs(redis_server.url, 2)
    try:
        one.subscribe("chat", "local")
        two.subscribe("chat", "remote")
        redis_server.stop()
        assert one.wait_connected(False, WAIT)
        assert two.wait_connected(False, WAIT)
        # During the outage: this process's subscribers still get it; the others lose it.
        dropped = one.dropped
        one.publish("chat", "during the outage")
        assert one_calls.next() == (["local"], "during the outage")
        assert one.dropped == dropped + 1
        redis_server.start()
        assert one.wait_connected(True, WAIT)
        assert two.wait_connected(True, WAIT)
        assert one.reconnects >= 1
        one.publish("chat", "after")
        assert one_calls.next() == (["local"], "after")
        assert two_calls.next() == (["remote"], "after")  # not the one from the outage
        assert two.received == 1
    finally:
        one.close()
        two.close()


def test_messages_waiting_for_redis_are_bounded(redis_server: RedisServer) -> None:
    import redis

    (one, _), (two, two_calls) = hubs(redis_server.url, 2, max_pending=5)
    admin = redis.Redis.from_url(redis_server.url)
    try:
        two.subscribe("chat", "remote")
        admin.client_pause(60_000, all=False)  # PUBLISH waits (a write command)
        for number in range(50):
            one.publish("chat", str(number))
        taken = threading.Event()  # the hub's thread took them all, in order, before this
        one._loop.call_soon_threadsafe(taken.set)
        assert taken.wait(WAIT)
        assert one.dropped == 45
        admin.client_unpause()
        assert [two_calls.next()[1] for _ in range(5)] == ["0", "1", "2", "3", "4"]
    finally:
        admin.close()
        one.close()
        two.close()


def test_close_stops_the_hub(redis_server: RedisServer) -> None:
    [(hub, _)] = hubs(redis_server.url, 1)
    hub.close()
    assert not hub.connected
    hub.publish("chat", "after close")  # reaches nobody, raises nothing
    hub.close()


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        redis_hub.RedisHub("redis://127.0.0.1:1/0", max_pending=0)
