"""Examples for the reference page of wsproto_core.connection (run by the tests)."""

# [server-connection]
from wsproto_core import Request, ServerConnection, TextMessage

server = ServerConnection(subprotocols=["chat"], max_message_size=2**20)
server.receive_data(
    b"GET /room HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
    b"\x81\x82\x00\x00\x00\x00hi"  # a masked text frame, sent before the answer
)
seen = []
for event in server.events():  # live: what accept() releases comes in this loop
    seen.append(event)
    if isinstance(event, Request):
        assert event.subprotocols == ("chat",)
        server.accept()  # picks "chat": the first of ours the client offered
assert seen[1:] == [TextMessage("hi")]  # the frame sent before the answer
response = server.data_to_send()
assert response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response
# [end]

# [client-connection]
from wsproto_core import Accept, ClientConnection

client = ClientConnection("ws://example.com/room", subprotocols=["chat"])
request_bytes = client.data_to_send()  # queued when the connection was made
assert request_bytes.startswith(b"GET /room HTTP/1.1\r\n")

server = ServerConnection(subprotocols=["chat"])
server.receive_data(request_bytes)
list(server.events())
server.accept()
client.receive_data(server.data_to_send())
(accept,) = client.events()
assert isinstance(accept, Accept) and accept.subprotocol == "chat"
assert client.protocol_version == 13
# [end]

# [connection-state]
from wsproto_core import ConnectionState

assert client.state is ConnectionState.OPEN
client.close(1001, "going away")
assert client.state is ConnectionState.CLOSING  # until the server's close arrives
server.receive_data(client.data_to_send())
list(server.events())  # Close(1001, "going away"): the answer is queued
assert server.state is ConnectionState.CLOSED and server.should_close_transport
client.receive_data(server.data_to_send())
list(client.events())
assert client.state is ConnectionState.CLOSED
assert not client.should_close_transport  # the server closes TCP first
client.receive_data(b"")  # ...and here it did (EOF)
assert client.should_close_transport
# [end]

# [default-max-message-size]
from wsproto_core import DEFAULT_MAX_MESSAGE_SIZE

assert DEFAULT_MAX_MESSAGE_SIZE == 32 * 2**20
assert ServerConnection().max_message_size == DEFAULT_MAX_MESSAGE_SIZE
# [end]
