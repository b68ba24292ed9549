"""Examples for the reference page of wsproto_core.frames (run by the tests)."""

# [opcode]
from wsproto_core import Opcode

assert Opcode.PING.is_control and Opcode.TEXT.is_data
assert Opcode(0x2) is Opcode.BINARY
# [end]

# [serialize-and-parse]
from wsproto_core.frames import parse_frame_header, serialize_frame

# RFC 6455 §5.7: a masked "Hello" from a client.
frame = serialize_frame(Opcode.TEXT, b"Hello", mask_key=b"\x37\xfa\x21\x3d")
assert frame == bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")

header = parse_frame_header(frame)
assert (header.fin, header.opcode, header.length) == (True, Opcode.TEXT, 5)
assert header.masked and header.header_length == 6
assert parse_frame_header(frame[:1]) is None  # not all of it yet
# [end]

# [mask]
from wsproto_core.frames import mask

key = b"\x37\xfa\x21\x3d"
assert mask(frame[header.header_length :], key) == b"Hello"  # masking is its own inverse
# [end]
