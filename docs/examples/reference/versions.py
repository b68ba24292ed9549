"""Examples for the reference page of wsproto_core.versions (run by the tests)."""

# [versions]
from wsproto_core import SUPPORTED_VERSIONS, ClientConnection
from wsproto_core.versions import HIXIE_76, LEGACY_VERSIONS, RFC6455_VERSIONS

assert RFC6455_VERSIONS == (13, 8, 7)
assert LEGACY_VERSIONS == ("hixie-76", "hixie-75")
assert SUPPORTED_VERSIONS == RFC6455_VERSIONS + LEGACY_VERSIONS

client = ClientConnection("ws://example.com/", version=HIXIE_76)
assert b"Sec-WebSocket-Key1: " in client.data_to_send()
# [end]

# [version-profile]
from wsproto_core.versions import profile

assert profile(13).too_big_code == 1009
assert profile(8).too_big_code == 1004  # hybi-08 gave 1004 that meaning
assert profile(8).origin_header == "Sec-WebSocket-Origin"
assert not profile("hixie-76").pings
assert not profile("hixie-75").closing_handshake  # closing the stream is the close
assert profile("hixie-75").protocol_header == "WebSocket-Protocol"
# [end]
