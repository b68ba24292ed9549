"""The built-in handlers and demo pages, driven without sockets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core.events import HTTPRequest, Request
from wsproto_core.examples import (
    ASSETS,
    PAGES,
    DumbIncrementHandler,
    EchoHandler,
    demo_router,
    read_page,
)
from wsproto_core.examples.chat import MAX_CHAT_MESSAGE, ChatHandler
from wsproto_core.examples.dumb_increment import SUBPROTOCOL, Counter
from wsproto_core.handlers import HandlerConnectionBase, Refuse, Route
from wsproto_core.hub import Hub

if TYPE_CHECKING:
    from collections.abc import Callable


class FakeTimer:
    def __init__(self, interval: float, callback: Callable[[], object]) -> None:
        self.interval = interval
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeConnection(HandlerConnectionBase):
    """A HandlerConnection that records what the handler does."""

    __slots__ = ("closed", "sent", "timers")

    def __init__(self, request: Request, route: Route) -> None:
        super().__init__(request, route)
        self.sent: list[str | bytes] = []
        self.closed: list[tuple[int, str]] = []
        self.timers: list[FakeTimer] = []

    def send(self, message: str | bytes) -> None:
        self.sent.append(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.append((code, reason))

    def call_every(self, interval: float, callback: Callable[[], object]) -> FakeTimer:
        timer = FakeTimer(interval, callback)
        self.timers.append(timer)
        return timer


def connection(handler: Any, subprotocols: tuple[str, ...] = ()) -> FakeConnection:
    request = Request(target="/", host="h", headers=(), version=13, subprotocols=subprotocols)
    return FakeConnection(request, Route("/", handler))


def test_echo_sends_text_back_as_text() -> None:
    conn = connection(EchoHandler())
    EchoHandler().on_message(conn, "hi")
    assert conn.sent == ["hi"]


def test_echo_sends_binary_back_as_binary() -> None:
    conn = connection(EchoHandler())
    EchoHandler().on_message(conn, b"\x00")
    assert conn.sent == [b"\x00"]


def test_dumb_increment_refuses_without_its_subprotocol() -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, ("other",))
    with pytest.raises(Refuse) as info:
        handler.on_connect(conn)
    assert info.value.status == 403
    assert conn.timers == []


def test_dumb_increment_selects_its_subprotocol_and_ticks_every_50_ms() -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, ("other", SUBPROTOCOL))
    handler.on_connect(conn)
    assert conn.subprotocol == SUBPROTOCOL
    assert [timer.interval for timer in conn.timers] == [0.05]


def test_dumb_increment_sends_the_counter_from_zero() -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, (SUBPROTOCOL,))
    handler.on_connect(conn)
    for _ in range(3):
        conn.timers[0].callback()
    assert conn.sent == ["0", "1", "2"]


@pytest.mark.parametrize("command", ["reset\n", b"reset\n"])
def test_dumb_increment_reset_sets_the_counter_back_to_zero(command: str | bytes) -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, (SUBPROTOCOL,))
    handler.on_connect(conn)
    conn.timers[0].callback()
    conn.timers[0].callback()
    handler.on_message(conn, command)
    conn.timers[0].callback()
    assert conn.sent == ["0", "1", "0"]


@pytest.mark.parametrize("command", ["reset", "reset\n\n", "RESET\n"])
def test_dumb_increment_ignores_anything_but_exact_commands(command: str) -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, (SUBPROTOCOL,))
    handler.on_connect(conn)
    conn.timers[0].callback()
    handler.on_message(conn, command)
    conn.timers[0].callback()
    assert conn.sent == ["0", "1"]
    assert conn.closed == []


def test_dumb_increment_closeme_closes_with_1001() -> None:
    handler = DumbIncrementHandler()
    conn = connection(handler, (SUBPROTOCOL,))
    handler.on_connect(conn)
    handler.on_message(conn, "closeme\n")
    assert conn.closed == [(1001, "closeme")]


def test_dumb_increment_keeps_a_counter_per_connection() -> None:
    handler = DumbIncrementHandler()
    first, second = connection(handler, (SUBPROTOCOL,)), connection(handler, (SUBPROTOCOL,))
    handler.on_connect(first)
    handler.on_connect(second)
    first.timers[0].callback()
    first.timers[0].callback()
    second.timers[0].callback()
    assert isinstance(first.context, Counter)
    assert (first.sent, second.sent) == (["0", "1"], ["0"])


def test_demo_router_routes_the_handlers_and_pages() -> None:
    router = demo_router(max_message_size=1000, allow_draft75=True)
    assert [(r.path, type(r.handler)) for r in router.routes] == [
        ("/echo", EchoHandler),
        ("/dumb-increment", DumbIncrementHandler),
        ("/chat", ChatHandler),
    ]
    assert all(r.max_message_size == 1000 and r.allow_draft75 for r in router.routes)
    assert [p.path for p in router.pages] == [
        "/",
        "/echo.html",
        "/increment.html",
        "/chat.html",
        "/style.css",
    ]


def test_the_chat_room_takes_short_messages_only() -> None:
    [chat] = [r for r in demo_router().routes if r.path == "/chat"]
    assert chat.max_message_size == MAX_CHAT_MESSAGE


def test_the_chat_room_publishes_text_to_everyone_in_it() -> None:
    published: list[tuple[list[object], str | bytes]] = []
    hub = Hub(lambda members, message: published.append((list(members), message)))
    chat = ChatHandler(hub)
    alice, bob = object(), object()
    chat.on_connect(alice)  # type: ignore[arg-type]
    chat.on_connect(bob)  # type: ignore[arg-type]
    chat.on_message(alice, "hi all")  # type: ignore[arg-type]
    chat.on_message(alice, b"binary is ignored")  # type: ignore[arg-type]
    chat.on_disconnect(bob, 1000, "")  # type: ignore[arg-type]
    chat.on_message(alice, "bob left")  # type: ignore[arg-type]
    assert published == [([alice, bob], "hi all"), ([alice], "bob left")]


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("echo.html", ["status", "log", "message", "send", "send-binary", "close", "close-code"]),
        ("increment.html", ["status", "counter", "reset", "close", "close-code"]),
        ("index.html", ["pages", "echo-link", "increment-link", "chat-link"]),
        ("chat.html", ["status", "retry", "chat-form", "message", "send", "log"]),
    ],
)
def test_pages_have_the_ids_a_browser_test_reads(name: str, ids: list[str]) -> None:
    page = read_page(name).decode()
    for element_id in ids:
        assert f'id="{element_id}"' in page


@pytest.mark.parametrize("name", ["echo.html", "increment.html"])
def test_pages_connect_to_the_same_host_with_the_matching_scheme(name: str) -> None:
    page = read_page(name).decode()
    assert "location.host" in page
    assert 'location.protocol === "https:" ? "wss:" : "ws:"' in page


def test_every_page_file_is_listed() -> None:
    assert sorted(PAGES.values()) == ["chat.html", "echo.html", "increment.html", "index.html"]


def test_demo_router_serves_the_stylesheet_as_css() -> None:
    response = demo_router().resolve(HTTPRequest(method="GET", target="/style.css", headers=()))
    assert response.status == 200
    assert ("Content-Type", "text/css; charset=utf-8") in response.headers
    assert response.body == read_page("style.css")
    assert ASSETS == {"/style.css": ("style.css", "text/css; charset=utf-8")}


@pytest.mark.parametrize("name", ["index.html", "echo.html", "increment.html"])
def test_pages_load_the_shared_stylesheet_and_nothing_from_elsewhere(name: str) -> None:
    page = read_page(name).decode()
    assert '<link rel="stylesheet" href="style.css">' in page
    assert "http://" not in page and "https://" not in page  # works without a network


@pytest.mark.parametrize("name", ["echo.html", "increment.html"])
def test_demo_pages_link_back_to_the_index(name: str) -> None:
    assert '<a href="/">' in read_page(name).decode()
