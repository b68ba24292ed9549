"""The ``legacy`` group: the versions before RFC 6455, against a testee server.

* legacy.1 (``Sec-WebSocket-Version: 8``, hybi drafts 08 to 12) and legacy.2
  (version 7, hybi-07): framed as RFC 6455 is, so the same checks in brief: a
  text and a binary echo, a ping answered, a reserved bit failing the
  connection with 1002, a close code echoed, the drafts' 1004 echoed (RFC 6455
  reserves it, the drafts define it), and (when the catalogue knows the
  testee has a size limit) a frame header announcing ``2**63 - 1`` bytes failed
  with 1004, the drafts' "frame too large" (1009, RFC 6455's code, is accepted).
* legacy.3, draft-hixie-76: text messages (``00``, UTF-8, ``FF``) echoed, ASCII,
  other UTF-8 and empty, each case ending with the closing handshake ``FF 00``,
  which carries no code; and the closing handshake alone.
* legacy.4, draft-hixie-75: the same echoes; the draft has no closing
  handshake, the peer closes the TCP connection.

These versions are optional: a testee server that refuses them cleanly, with
HTTP 400 or 426 (RFC 6455 §4.4), is UNIMPLEMENTED (:attr:`~..cases.Case.optional`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cases import (
    NORMAL_CLOSE,
    Case,
    ExpectedClose,
    Received,
    Send,
    SendMessage,
    Step,
    fails,
    received_binary,
    received_pong,
    received_text,
)
from ..wire import BINARY, Frame, binary, close, ping, text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ...versions import ProtocolVersion
    from ..cases import Role
    from . import CatalogueOptions

__all__ = ["cases"]

_SERVER: frozenset[Role] = frozenset(("server",))
_HELLO = "Hello, world!"
_UTF8 = "κόσμε, Grüße, 𝄞"
"""Two- to four-byte UTF-8 sequences."""

_HIXIE_CLOSE = ExpectedClose(closed_by_me=True, codes=(None,))
"""The peer sends ``FF 00`` after the script; the testee answers ``FF 00``, which has no code."""


def _hybi_cases(
    options: CatalogueOptions,
) -> list[tuple[str, str, Step, tuple[Received, ...], ExpectedClose]]:
    """(description, expectation, step, echo, close) of the hybi cases, in order."""
    data = bytes(range(256))
    found: list[tuple[str, str, Step, tuple[Received, ...], ExpectedClose]] = [
        (
            f"send a text message {_HELLO!r}.",
            "Receive it echoed. Clean close with normal code.",
            Send((text(_HELLO),)),
            (received_text(_HELLO),),
            NORMAL_CLOSE,
        ),
        (
            "send a binary message of the 256 byte values.",
            "Receive it echoed. Clean close with normal code.",
            Send((binary(data),)),
            (received_binary(data),),
            NORMAL_CLOSE,
        ),
        (
            "send a ping with payload 'Hello'.",
            "Receive a pong with payload 'Hello'. Clean close with normal code.",
            Send((ping(b"Hello"),)),
            (received_pong(b"Hello"),),
            NORMAL_CLOSE,
        ),
        (
            "send a text message with RSV1 set, no extension agreed.",
            "The testee fails the connection with 1002; nothing is echoed.",
            Send((text(_HELLO, rsv=4),)),
            (),
            fails(1002),
        ),
        (
            "send a close frame with code 1001 and reason 'going away'.",
            "The testee answers with a close frame echoing code 1001.",
            Send((close(1001, "going away"),)),
            (),
            ExpectedClose(closed_by_me=True, codes=(1001,)),
        ),
        (
            "send a close frame with code 1004, the draft's 'frame too large'.",
            "The testee answers with a close frame echoing code 1004 (or 1000): the drafts "
            "define 1004 (hybi-07 §7.4.1), which RFC 6455 later reserved.",
            Send((close(1004),)),
            (),
            ExpectedClose(closed_by_me=True, codes=(1004, 1000, None)),
        ),
    ]
    if options.max_size is not None:
        found.append(
            (
                "send only the header of a binary frame announcing 2**63 - 1 bytes.",
                "The testee fails the connection with 1004, the draft's 'frame too large' "
                "(or 1009, RFC 6455's 'message too big'), without waiting for the payload.",
                Send((Frame(BINARY, length=2**63 - 1),)),
                (),
                fails(1004, 1009),
            )
        )
    return found


def _hybi(group: int, version: ProtocolVersion, options: CatalogueOptions) -> Iterator[Case]:
    for number, (description, expectation, step, echo, end) in enumerate(_hybi_cases(options), 1):
        yield Case(
            id=f"legacy.{group}.{number}",
            description=f"version {version}: {description}",
            expectation=expectation,
            steps=(step,),
            ok=echo,
            close=end,
            version=version,
            roles=_SERVER,
            optional=True,
        )


def _hixie(group: int, version: ProtocolVersion) -> Iterator[Case]:
    closing = version == "hixie-76"
    end = (
        "Clean close: the closing handshake FF 00 both ways."
        if closing
        else "No closing handshake in this draft: the peer closes the connection."
    )
    echoes = (
        (f"a text message {_HELLO!r}", _HELLO),
        (f"a text message of multi-byte UTF-8 {_UTF8!r}", _UTF8),
        ("an empty text message", ""),
    )
    for number, (what, message) in enumerate(echoes, 1):
        yield Case(
            id=f"legacy.{group}.{number}",
            description=f"{version}: send {what}.",
            expectation=f"Receive it echoed. {end}",
            steps=(SendMessage(message.encode()),),
            ok=(received_text(message),),
            close=_HIXIE_CLOSE if closing else NORMAL_CLOSE,
            version=version,
            roles=_SERVER,
            optional=True,
        )
    if closing:
        yield Case(
            id=f"legacy.{group}.{len(echoes) + 1}",
            description=f"{version}: send the closing handshake FF 00 at once.",
            expectation="The testee answers FF 00 and closes the connection.",
            ok=(),
            close=_HIXIE_CLOSE,
            version=version,
            roles=_SERVER,
            optional=True,
        )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """legacy.1 (version 8), legacy.2 (7), legacy.3 (hixie-76), legacy.4 (hixie-75)."""
    yield from _hybi(1, 8, options)
    yield from _hybi(2, 7, options)
    yield from _hixie(3, "hixie-76")
    yield from _hixie(4, "hixie-75")
