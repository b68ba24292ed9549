"""Examples for the reference page of wsproto_core.close (run by the tests)."""

# [close-code]
from wsproto_core import CloseCode

assert CloseCode.GOING_AWAY == 1001
assert CloseCode(1009).name == "MESSAGE_TOO_BIG"
assert CloseCode.RESERVED_1004 is CloseCode.MESSAGE_TOO_BIG_DRAFT  # one code, two names
# [end]

# [is-valid-wire-code]
from wsproto_core.close import is_valid_wire_code

assert is_valid_wire_code(1000) and is_valid_wire_code(4000)
assert not is_valid_wire_code(1005)  # reported, never sent
assert not is_valid_wire_code(2999)
# [end]

# [payload]
from wsproto_core.close import parse_close_payload, serialize_close_payload

payload = serialize_close_payload(1001, "bye")
assert payload == b"\x03\xe9bye"
assert parse_close_payload(payload) == (1001, "bye")
assert parse_close_payload(b"") == (1005, "")  # no code in the frame
# [end]
