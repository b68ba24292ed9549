"""Examples for the reference page of wsproto_core.session (run by the tests)."""

# [session]
from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.session import Due, Session

client = ClientConnection("ws://example.com/")
server = ServerConnection()
server.receive_data(client.data_to_send())
for _request in server.events():
    server.accept()

# The adapter keeps the clock: it passes `now` and comes back at next_deadline().
session: Session[str] = Session(server, ping_interval=20, ping_timeout=10)
session.start(now=0.0)
print(session.next_deadline())  # the first keepalive ping
print(session.due(20.0))  # Due.PING: the ping is queued on the connection
print(session.next_deadline())  # its pong is due by then
print(session.due(30.0))  # no pong came: the connection is closed with 1011
print(server.state.name)
session.update(now=30.0)  # after each exchange: the closing handshake is now timed
print(session.next_deadline())  # the close timeout (10 s by default)
assert session.due(40.0) is Due.CLOSE_TIMEOUT  # the adapter cuts the stream
# [end]
