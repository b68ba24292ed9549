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
