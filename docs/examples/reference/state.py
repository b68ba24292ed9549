"""Examples for the reference page of wsproto_core.state (run by the tests)."""

# [transport-action]
from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.state import TransportAction

client = ClientConnection("ws://example.com/", max_message_size=16)
server = ServerConnection(max_message_size=16)
server.receive_data(client.data_to_send())
for _request in server.events():
    server.accept()
client.receive_data(server.data_to_send())
list(client.events())

# The client sends a message over the server's limit: the server fails the
# connection with 1009, and the framing is still in step, so it waits, briefly,
# for the client's close instead of closing the stream under it.
client.send_binary(b"x" * 17)
server.receive_data(client.data_to_send())
print(list(server.events()))
print(server.state.name, server.transport_action.name)

client.receive_data(server.data_to_send())
print(list(client.events()))
server.receive_data(client.data_to_send())  # the client's close, read in step
print(server.state.name, server.transport_action.name)  # the server closes first
print(client.state.name, client.transport_action.name)  # the client waits for it

server.receive_data(b"")  # the client's EOF, after our half-close
assert server.transport_action is TransportAction.CLOSE
# [end]
