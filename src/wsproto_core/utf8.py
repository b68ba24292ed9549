"""UTF-8 validation that fails at the first invalid byte (RFC 6455 §8.1, RFC 3629).

Both codecs validate text as it arrives, so a peer sending invalid text is
failed as soon as the bad byte is in, not at the end of the message
(Autobahn's "strict" verdict).
"""

from __future__ import annotations

import codecs

from .errors import InvalidUTF8

__all__ = ["Utf8Decoder", "decode_utf8", "valid_prefix"]

Utf8Decoder = codecs.getincrementaldecoder("utf-8")
"""The C-implemented incremental decoder class; one instance per message."""


def decode_utf8(decoder: codecs.IncrementalDecoder, data: bytes | bytearray, final: bool) -> str:
    """Decode the next piece of a text, failing at the first invalid byte.

    Args:
        decoder: The message's incremental decoder.
        data: The next bytes of the text.
        final: Whether ``data`` ends the text (an incomplete code point is then invalid).

    Raises:
        InvalidUTF8: ``data`` holds an invalid byte (close code 1007). The
            decoder is left as it was before the call.
    """
    try:
        text = decoder.decode(data, final)
    except UnicodeDecodeError as exc:
        raise InvalidUTF8(f"invalid UTF-8 in text: {exc.reason}") from None
    # CPython's incremental decoder refuses ED A0..ED BF (an encoded surrogate,
    # invalid by RFC 3629 §3) only once a third byte arrives, unlike every other
    # invalid prefix: refuse it as soon as its second byte is in.
    pending = decoder.getstate()[0]
    if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
        # What the decoder held before the call: all it has seen, less ``data``.
        seen = text.encode("utf-8") + pending
        decoder.setstate((seen[: len(seen) - len(data)], 0))
        raise InvalidUTF8("invalid UTF-8 in text: encoded surrogate")
    return text


def valid_prefix(decoder: codecs.IncrementalDecoder, data: bytes | bytearray) -> str:
    """The text before the first invalid byte of ``data``, after :func:`decode_utf8` refused it.

    What the decoder holds back of a code point begun earlier comes first. A
    streamed message delivers this much of the text before it fails.

    Args:
        decoder: The message's incremental decoder, as the failure left it.
        data: The bytes :func:`decode_utf8` refused.
    """
    buffered = decoder.getstate()[0] + bytes(data)
    try:
        return buffered.decode("utf-8")
    except UnicodeDecodeError as exc:
        return buffered[: exc.start].decode("utf-8")
