"""Examples for the reference page of wsproto_core.errors (run by the tests).

Each ``except`` block prints; the tests compare the output with errors.out.
"""

from wsproto_core import ClientConnection, ServerConnection


def open_pair(version=13, max_message_size=2**20):
    """A client and a server connection, handshake done, in memory."""
    client = ClientConnection("ws://example.com/", version=version)
    server = ServerConnection(max_message_size=max_message_size)
    server.receive_data(client.data_to_send())
    list(server.events())
    server.accept()
    client.receive_data(server.data_to_send())
    list(client.events())
    return client, server


# [invalid-state]
from wsproto_core import InvalidState

client = ClientConnection("ws://example.com/")
try:
    client.send_text("too early")  # the handshake is not done
except InvalidState as error:
    print(f"{error} (state {error.state.name})")
# [end]

# [unsupported-operation]
from wsproto_core import UnsupportedOperation

client, server = open_pair(version="hixie-76")
try:
    server.send_binary(b"\x00")  # draft-hixie-76 has text messages only
except UnsupportedOperation as error:
    print(f"{error.version}: {error}")
# [end]

# [invalid-uri]
from wsproto_core import InvalidURI

try:
    ClientConnection("http://example.com/")
except InvalidURI as error:  # also a ValueError
    print(error)
# [end]

# [invalid-close-code]
from wsproto_core import InvalidCloseCode

client, server = open_pair()
try:
    server.close(1006)  # only ever reported, never sent
except InvalidCloseCode as error:
    print(error)
# [end]

# [handshake-argument-error]
from wsproto_core import HandshakeArgumentError

client = ClientConnection("ws://example.com/", subprotocols=["chat"])
server = ServerConnection()
server.receive_data(client.data_to_send())
list(server.events())
try:
    server.accept(subprotocol="superchat")  # not one the client offered
except HandshakeArgumentError as error:
    print(error)
# [end]

# [payload-too-big]
from wsproto_core import PayloadTooBig

client, server = open_pair(max_message_size=10)
try:
    client.ping(b"x" * 126)  # control frames carry at most 125 bytes
except PayloadTooBig as error:
    print(f"{error.size} > {error.max_size}")

client.send_text("x" * 11)  # received, it is no exception but a Close event
server.receive_data(client.data_to_send())
print(*server.events())
# [end]

# [protocol-error]
from wsproto_core import InvalidUTF8, ProtocolError

client, server = open_pair()
server.receive_data(b"\x81\x81\x00\x00\x00\x00\xff")  # a text frame: 0xFF
print(*server.events())  # the failure's close frame is queued
print(InvalidUTF8().close_code, ProtocolError("reserved bit").close_code)
# [end]

# [handshake-error]
from wsproto_core import HandshakeError

error = HandshakeError("missing Sec-WebSocket-Key", 400)
print(error.status, error.reason)
# [end]

# [connection-closed]
from wsproto_core.errors import closed_error

for code in (1000, 1001, 1005, 1006, 1011):
    print(code, type(closed_error(code, "")).__name__)
# [end]

# [invalid-handshake]
from wsproto_core.errors import HandshakeRejected, InvalidHandshake

refusal = HandshakeRejected(403, (("Content-Type", "text/plain"),), b"no\n")
print(refusal, isinstance(refusal, InvalidHandshake))
# [end]
