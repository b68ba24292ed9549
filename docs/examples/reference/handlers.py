"""Examples for the reference page of wsproto_core.handlers.

The tests run it and compare what it prints with handlers.out.
"""

from wsproto_core import ClientConnection, ServerConnection


def request_for(url, **options):
    """The Request (or HTTPRequest) event a server connection makes of a client's."""
    server = ServerConnection(accept_plain_http=True)
    server.receive_data(ClientConnection(url, **options).data_to_send())
    (event,) = server.events()
    return event


# [handler]
from wsproto_core.handlers import Handler, Refuse


class Shout(Handler):
    subprotocols = ("shout.v1",)

    def on_connect(self, conn):
        if conn.header("X-Token") != "letmein":
            raise Refuse(403, "bad token")
        conn.context = {"messages": 0}

    def on_message(self, conn, message):
        conn.context["messages"] += 1
        conn.send(message.upper() if isinstance(message, str) else message)

    def on_disconnect(self, conn, close_code, reason):
        print(f"{conn.path}: {conn.context['messages']} messages, closed {close_code}")


# [end]

# [router]
from wsproto_core.handlers import Response, Route, Router

router = Router()
router.route("/shout", Shout(), max_message_size=1024)
router.page("/", b"<h1>Shout</h1>")

decision = router.resolve(request_for("ws://example.com/shout"))
assert isinstance(decision, Route) and decision.max_message_size == 1024
assert decision.supported_subprotocols == ("shout.v1",)

missing = router.resolve(request_for("ws://example.com/whisper"))
assert isinstance(missing, Response) and missing.status == 404
# [end]

# [page]
from wsproto_core.handlers import Page

router.page("/style.css", b"h1 { color: red }", "text/css; charset=utf-8")
assert [page.path for page in router.pages] == ["/", "/style.css"]
assert isinstance(router.pages[1], Page)
# [end]

# [refuse-and-response]
refusal = Refuse(401, "who are you?", [("WWW-Authenticate", "Bearer")])
response = refusal.response()
assert response == Response(
    401,
    (("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")),
    b"who are you?\n",
)
# [end]

# [handler-connection-base]
from wsproto_core.handlers import HandlerConnectionBase


class Recording(HandlerConnectionBase):
    """A HandlerConnection that keeps what the handler sends: handy in unit tests."""

    def __init__(self, request, route):
        super().__init__(request, route)
        self.sent = []

    def send(self, message):
        self.sent.append(message)

    def close(self, code=1000, reason=""):
        self.sent.append(("close", code, reason))

    def call_every(self, interval, callback):
        raise NotImplementedError


request = request_for(
    "ws://example.com/shout",
    subprotocols=["shout.v1"],
    extra_headers=[("X-Token", "letmein")],
)
conn = Recording(request, router.resolve(request))
handler = conn.handler
handler.on_connect(conn)
assert conn.subprotocol == "shout.v1"  # chosen before on_connect
handler.on_message(conn, "hello")
assert conn.sent == ["HELLO"]
handler.on_disconnect(conn, 1000, "")  # prints "/shout: 1 messages, closed 1000"
# [end]

# [log-connection]
import logging
import sys

from wsproto_core.handlers import log_connection

logger = logging.getLogger("example.connections")
logger.addHandler(logging.StreamHandler(sys.stdout))
logger.setLevel(logging.INFO)
logger.propagate = False
log_connection(logger, ("127.0.0.1", 50000), request, 101, None, 1000, "bye")
# [end]
