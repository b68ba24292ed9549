"""Examples for the reference page of wsproto_core.events (run by the tests)."""

from wsproto_core import ClientConnection, ServerConnection


def handshake(server, client):
    """Carry the client's request to the server; return the server's events."""
    server.receive_data(client.data_to_send())
    return list(server.events())


# [request]
from wsproto_core import Request

client = ClientConnection("ws://example.com/chat?room=1", origin="https://example.com")
server = ServerConnection()
(request,) = handshake(server, client)
assert isinstance(request, Request)
assert (request.path, request.query) == ("/chat", "room=1")
assert request.origin == "https://example.com" and request.version == 13
assert request.header("upgrade") == "websocket"  # any case
# [end]

# [accept]
from wsproto_core import Accept

server.accept(extra_headers=[("X-Server", "demo")])
client.receive_data(server.data_to_send())
(accept,) = client.events()
assert isinstance(accept, Accept) and accept.subprotocol is None
assert ("X-Server", "demo") in accept.headers
# [end]

# [messages]
from wsproto_core import BytesMessage, TextMessage

client.send_text("café")
client.send_binary(b"\x00\x01")
server.receive_data(client.data_to_send())
assert list(server.events()) == [TextMessage("café"), BytesMessage(b"\x00\x01")]
# [end]

# [streaming]
streaming = ServerConnection(stream_messages=True)
streaming_client = ClientConnection("ws://example.com/")
handshake(streaming, streaming_client)
streaming.accept()
streaming_client.receive_data(streaming.data_to_send())
streaming_client.send_text("Hel", final=False)
streaming.receive_data(streaming_client.data_to_send())  # a chunk per read
streaming_client.send_text("lo", final=True)
streaming.receive_data(streaming_client.data_to_send())
assert list(streaming.events()) == [TextMessage("Hel", final=False), TextMessage("lo")]
# [end]

# [ping-pong]
from wsproto_core import Ping, Pong

client.ping(b"are you there?")
server.receive_data(client.data_to_send())
assert list(server.events()) == [Ping(b"are you there?")]
client.receive_data(server.data_to_send())  # the pong was queued automatically
assert list(client.events()) == [Pong(b"are you there?")]
# [end]

# [close]
from wsproto_core import Close

server.close(1000, "done")
client.receive_data(server.data_to_send())
assert list(client.events()) == [Close(1000, "done", by_peer=True)]
client.receive_data(b"")  # the server closed the stream
assert list(client.events()) == []  # Close was the last event
# [end]

# [reject]
from wsproto_core import Reject

client = ClientConnection("ws://example.com/private")
server = ServerConnection()
handshake(server, client)
server.reject(403, [("Content-Type", "text/plain")], b"members only\n")
client.receive_data(server.data_to_send())
(reject,) = client.events()
assert isinstance(reject, Reject)
assert (reject.status, reject.body) == (403, b"members only\n")
# [end]

# [handshake-failed]
from wsproto_core import HandshakeFailed

server = ServerConnection()
server.receive_data(b"POST /chat HTTP/1.1\r\nHost: example.com\r\n\r\n")
(failed,) = server.events()
assert isinstance(failed, HandshakeFailed) and failed.status == 405
assert server.data_to_send().startswith(b"HTTP/1.1 405 ")  # the refusal is queued
# [end]

# [http-request]
from wsproto_core import HTTPRequest

server = ServerConnection(accept_plain_http=True)
server.receive_data(b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
(plain,) = server.events()
assert isinstance(plain, HTTPRequest) and plain.path == "/index.html"
server.reject(200, [("Content-Type", "text/html")], b"<h1>Hello</h1>")
assert server.data_to_send().startswith(b"HTTP/1.1 200 OK\r\n")
# [end]

# [event]
from wsproto_core import Event

assert all(issubclass(cls, Event) for cls in (Request, Close, TextMessage))
# [end]
