"""Examples for the reference page of wsproto_core.utf8 (run by the tests)."""

# [decode-utf8]
from wsproto_core import InvalidUTF8
from wsproto_core.utf8 import Utf8Decoder, decode_utf8

decoder = Utf8Decoder()  # one per message
assert decode_utf8(decoder, b"caf\xc3", final=False) == "caf"  # é is incomplete
assert decode_utf8(decoder, b"\xa9", final=True) == "é"

try:
    decode_utf8(Utf8Decoder(), b"ok \xed\xa0", final=False)  # an encoded surrogate
except InvalidUTF8 as error:
    assert error.close_code == 1007
else:
    raise AssertionError("the second byte of a surrogate is refused")
# [end]
