"""The built-in handlers and the demo pages they serve.

:func:`demo_router` builds what ``python -m wsproto_core serve`` serves: the
echo handler at ``/echo``, dumb-increment at ``/dumb-increment``, the chat room
at ``/chat``, the demo pages at ``/`` (index), ``/echo.html``,
``/increment.html`` and ``/chat.html``, and the stylesheet they share at
``/style.css``.
"""

from __future__ import annotations

from importlib.resources import files

from ..handlers import DEFAULT_MAX_MESSAGE_SIZE, Router
from ..hub import Hub
from .chat import MAX_CHAT_MESSAGE, ChatHandler
from .dumb_increment import DumbIncrementHandler
from .echo import EchoHandler

__all__ = [
    "ASSETS",
    "PAGES",
    "ChatHandler",
    "DumbIncrementHandler",
    "EchoHandler",
    "demo_router",
    "read_page",
]

PAGES = {
    "/": "index.html",
    "/echo.html": "echo.html",
    "/increment.html": "increment.html",
    "/chat.html": "chat.html",
}
"""The demo pages: request path to file name under ``examples/static``."""

ASSETS = {"/style.css": ("style.css", "text/css; charset=utf-8")}
"""What the pages load: request path to file name under ``examples/static`` and content type."""


def read_page(name: str) -> bytes:
    """Return the bytes of the file ``name`` under ``examples/static`` (e.g. ``"echo.html"``)."""
    return (files(__package__) / "static" / name).read_bytes()


def demo_router(
    *,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    allow_draft75: bool = False,
    increment_interval: float = 0.05,
    hub: Hub | None = None,
) -> Router:
    """The router of the demo server.

    Args:
        max_message_size: The message limit on the echo and dumb-increment routes
            (the chat room takes at most :data:`~.chat.MAX_CHAT_MESSAGE`, or this if smaller).
        allow_draft75: Serve draft-hixie-75 clients too.
        increment_interval: Seconds between two numbers on ``/dumb-increment``.
        hub: Where the chat room lives (a new in-process :class:`~wsproto_core.hub.Hub`
            by default; a :class:`~wsproto_core.redis_hub.RedisHub` to share it).
    """
    router = Router()
    router.route(
        "/echo", EchoHandler(), max_message_size=max_message_size, allow_draft75=allow_draft75
    )
    router.route(
        "/dumb-increment",
        DumbIncrementHandler(increment_interval),
        max_message_size=max_message_size,
        allow_draft75=allow_draft75,
    )
    chat_limit = MAX_CHAT_MESSAGE
    if max_message_size is not None:
        chat_limit = min(chat_limit, max_message_size)
    router.route(
        "/chat",
        ChatHandler(Hub() if hub is None else hub),
        max_message_size=chat_limit,
        allow_draft75=allow_draft75,
    )
    for path, name in PAGES.items():
        router.page(path, read_page(name))
    for path, (name, content_type) in ASSETS.items():
        router.page(path, read_page(name), content_type)
    return router
