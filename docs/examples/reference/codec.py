"""Examples for the reference page of wsproto_core.codec (run by the tests)."""

# [rfc6455-codec]
from wsproto_core import ProtocolError, TextMessage
from wsproto_core.codec.rfc6455 import Rfc6455Codec

server = Rfc6455Codec(client=False, max_message_size=2**20)
client = Rfc6455Codec(client=True, max_message_size=2**20)
events = []
server.receive(client.send_text("Hello"), events)
assert events == [TextMessage("Hello")]

try:
    server.receive(b"\x81\x05Hello", [])  # unmasked: a client must mask
except ProtocolError as error:
    assert error.close_code == 1002  # the connection would fail with it
else:
    raise AssertionError("an unmasked frame from a client is refused")
# [end]

# [hixie-codec]
from wsproto_core.codec.hixie import HixieCodec

codec = HixieCodec(version="hixie-76", max_message_size=2**20)
assert codec.send_text("Hello") == b"\x00Hello\xff"
events = []
codec.receive(b"\x00Hi\xff\x00Ho", events)  # the second frame is incomplete
assert events == [TextMessage("Hi")]
# [end]

# [codec]
from wsproto_core.codec import Codec

assert isinstance(server, Codec) and isinstance(codec, Codec)
assert (server.version, codec.version) == (13, "hixie-76")
# [end]
