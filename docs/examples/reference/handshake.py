"""Examples for the reference page of wsproto_core.handshake (run by the tests)."""

# [parse-uri]
from wsproto_core.handshake import WebSocketURI, parse_uri

uri = parse_uri("wss://Example.com:8443/chat?room=1")
assert isinstance(uri, WebSocketURI)
assert (uri.secure, uri.host, uri.port) == (True, "example.com", 8443)
assert uri.resource_name == "/chat?room=1"
assert uri.netloc == "example.com:8443" and uri.origin == "wss://example.com:8443"
# [end]

# [accept-key]
from wsproto_core.handshake.rfc6455 import accept_key, generate_key, is_valid_key

# RFC 6455 §1.3: the sample nonce and the answer it calls for.
assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
key = generate_key(lambda n: bytes(n))  # os.urandom in real use
assert is_valid_key(key) and key == "AAAAAAAAAAAAAAAAAAAAAA=="
# [end]

# [hixie-76]
from wsproto_core.handshake.hixie import challenge_answer, key_part

# draft-hixie-76 §1.3: the sample keys and the answer they call for.
part1 = key_part("4 @1  46546xW%0l 1 5")
part2 = key_part("12998 5 Y3 1  .P00")
assert (part1, part2) == (829309203, 259970620)
assert challenge_answer(part1, part2, b"^n:ds[4U") == b"8jKS'y:G*Co,Wxa-"
# [end]

# [negotiation]
from wsproto_core.handshake.negotiation import (
    parse_extensions,
    parse_subprotocols,
    serialize_extensions,
)

assert parse_subprotocols(["chat, superchat", "json"]) == ("chat", "superchat", "json")
offers = parse_extensions(["permessage-deflate; client_max_window_bits, x-test"])
assert offers == [
    ("permessage-deflate", (("client_max_window_bits", None),)),
    ("x-test", ()),
]
assert serialize_extensions(offers) == "permessage-deflate; client_max_window_bits, x-test"
# [end]

# [server-and-client-handshake]
from wsproto_core import Accept, Request
from wsproto_core.handshake import ClientHandshake, ServerHandshake

client = ClientHandshake(parse_uri("ws://example.com/"), subprotocols=["chat"])
server = ServerHandshake(subprotocols=["chat"])
request = server.receive_data(client.request)
assert isinstance(request, Request)
response, extensions, subprotocol = server.accept()
assert subprotocol == "chat" and extensions == []
assert isinstance(client.receive_data(response), Accept)
# [end]
