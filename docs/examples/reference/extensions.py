"""Examples for the reference page of wsproto_core.extensions (run by the tests).

A toy extension, to show the interface: it inverts every bit of the payload of
data frames and marks them with RSV1. permessage-deflate will be the first real one.
"""

# [extension]
from wsproto_core.extensions import Extension


class Invert(Extension):
    name = "x-invert"
    rsv_bits = 0x40  # RSV1 marks the frames it transformed

    def encode(self, opcode, payload, fin):
        return 0x40, bytes(byte ^ 0xFF for byte in payload)

    def decode(self, opcode, rsv, payload, fin):
        if rsv & 0x40:
            return bytes(byte ^ 0xFF for byte in payload)
        return payload


# [end]


# [factories]
from wsproto_core.extensions import ClientExtensionFactory, ServerExtensionFactory


class InvertOffer(ClientExtensionFactory):
    name = "x-invert"

    def offer(self):
        return ()  # no parameters: "Sec-WebSocket-Extensions: x-invert"

    def accept(self, response):
        return Invert()


class InvertAnswer(ServerExtensionFactory):
    name = "x-invert"

    def accept(self, offer):
        return (), Invert()  # response parameters, and the extension


# [end]


# [negotiation]
from wsproto_core import ClientConnection, ServerConnection, TextMessage

client = ClientConnection("ws://example.com/", extensions=[InvertOffer()])
server = ServerConnection(extensions=[InvertAnswer()])
server.receive_data(client.data_to_send())
(request,) = server.events()
assert request.extensions == ("x-invert",)
server.accept()
client.receive_data(server.data_to_send())
(accept,) = client.events()
assert accept.extensions == ("x-invert",)
assert [extension.name for extension in server.extensions] == ["x-invert"]

client.send_text("Hi")
frame = client.data_to_send()
assert frame[0] == 0x81 | 0x40  # FIN, RSV1, text
server.receive_data(frame)
assert list(server.events()) == [TextMessage("Hi")]
# [end]


# [deflate]
from wsproto_core import ClientConnection, ServerConnection, TextMessage
from wsproto_core.extensions import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

client = ClientConnection("ws://example.com/", extensions=[ClientPerMessageDeflateFactory()])
server = ServerConnection(extensions=[ServerPerMessageDeflateFactory()], max_message_size=2**20)
server.receive_data(client.data_to_send())
(request,) = server.events()
server.accept()
client.receive_data(server.data_to_send())
(accept,) = client.events()
assert accept.extensions == (
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
)

client.send_text("Hello! " * 1000)
frame = client.data_to_send()
assert frame[0] == 0x81 | 0x40 and len(frame) < 100  # RSV1: compressed, 7000 -> ~50 bytes
server.receive_data(frame)
assert list(server.events()) == [TextMessage("Hello! " * 1000)]
# [end]
