"""A client and a server connection talking in memory: no socket, no event loop.

Whatever carries the bytes (a socket, an asyncio transport, a test) plays the
network's part: ``deliver`` below is all of it.
"""

from wsproto_core import Accept, ClientConnection, Request, ServerConnection, TextMessage


def deliver(sender, receiver):
    """Carry the bytes ``sender`` owes to ``receiver``; return the events they made."""
    receiver.receive_data(sender.data_to_send())
    return list(receiver.events())


client = ClientConnection("ws://example.com/chat")
server = ServerConnection()

# The client queued its handshake request when it was created.
for event in deliver(client, server):
    if isinstance(event, Request):
        print("server: request for", event.target)
        server.accept()
for event in deliver(server, client):
    if isinstance(event, Accept):
        print("client: accepted, state", client.state.name)

client.send_text("Hello")
for event in deliver(client, server):
    if isinstance(event, TextMessage):
        server.send_text(event.data.upper())  # answer in capitals
for event in deliver(server, client):
    print("client:", event)

client.close(1000, "done")
for event in deliver(client, server):
    print("server:", event)  # its answering close frame is already queued
for event in deliver(server, client):
    print("client:", event)
print("server: close the TCP connection now?", server.should_close_transport)
print("client: close the TCP connection now?", client.should_close_transport)
