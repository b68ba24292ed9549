"""The events as users hold them: construction, defaults, immutability, equality, repr, match.

And the fast way the codecs build the message events (``events._new_event`` and the slot
setters): what it builds must be indistinguishable from what the constructor builds.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core import events
from wsproto_core.codec.hixie import HixieCodec
from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.events import (
    Accept,
    BytesMessage,
    Close,
    Event,
    HandshakeFailed,
    HTTPRequest,
    Message,
    Ping,
    Pong,
    Reject,
    Request,
    TextMessage,
)
from wsproto_core.frames import serialize_frame

if TYPE_CHECKING:
    from pathlib import Path

HEADERS = (("Host", "example.com"), ("X-Any", "1"))

# One event of each class, every field given, and its repr.
SAMPLES: list[tuple[Event, str]] = [
    (
        Request("/chat?room=1", "example.com", HEADERS, 13, "https://o", ("chat",), ("x",)),
        "Request(target='/chat?room=1', host='example.com', headers=(('Host', 'example.com'),"
        " ('X-Any', '1')), version=13, origin='https://o', subprotocols=('chat',),"
        " extensions=('x',))",
    ),
    (
        HTTPRequest("GET", "/", HEADERS),
        "HTTPRequest(method='GET', target='/', headers=(('Host', 'example.com'), ('X-Any', '1')))",
    ),
    (
        Accept("chat", ("x",), HEADERS),
        "Accept(subprotocol='chat', extensions=('x',), headers=(('Host', 'example.com'),"
        " ('X-Any', '1')))",
    ),
    (Reject(404, (), b"no"), "Reject(status=404, headers=(), body=b'no')"),
    (HandshakeFailed("bad", 400), "HandshakeFailed(reason='bad', status=400)"),
    (TextMessage("café", False), "TextMessage(data='café', final=False)"),
    (BytesMessage(b"\x00", False), "BytesMessage(data=b'\\x00', final=False)"),
    (Ping(b"p"), "Ping(payload=b'p')"),
    (Pong(b"p"), "Pong(payload=b'p')"),
    (Close(1000, "bye", by_peer=False), "Close(code=1000, reason='bye', by_peer=False)"),
]

EVENTS = [event for event, _ in SAMPLES]
EVENT_IDS = [type(event).__name__ for event in EVENTS]


def field_values(event: Event) -> dict[str, Any]:
    return {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}  # type: ignore[arg-type]


# -- construction and defaults ---------------------------------------------------------


def test_defaults() -> None:
    assert TextMessage("x") == TextMessage("x", True) == TextMessage(data="x", final=True)
    assert BytesMessage(b"x").final is True
    assert Close(1000) == Close(1000, "", by_peer=True)
    assert Ping() == Ping(b"") and Pong() == Pong(b"")
    assert Accept() == Accept(None, (), ())
    assert Reject(500) == Reject(500, (), b"")
    assert HandshakeFailed("why").status is None
    request = Request("/", "h", (), 13)
    assert (request.origin, request.subprotocols, request.extensions) == (None, (), ())


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_keyword_construction_gives_the_same_event(event: Event) -> None:
    assert type(event)(**field_values(event)) == event


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_every_event_is_an_event(event: Event) -> None:
    assert isinstance(event, Event)


def test_message_is_either_message_event() -> None:
    assert isinstance(TextMessage("x"), Message)  # type: ignore[arg-type]
    assert isinstance(BytesMessage(b"x"), Message)  # type: ignore[arg-type]
    assert not isinstance(Ping(), Message)  # type: ignore[arg-type]


def test_request_helpers() -> None:
    request = Request("/chat?room=1", "h", (("Upgrade", "websocket"),), 13)
    assert (request.path, request.query) == ("/chat", "room=1")
    assert request.header("UPGRADE") == "websocket"
    assert request.header("origin", "none") == "none"
    assert HTTPRequest("GET", "/a?b", ()).path == "/a"


# -- immutability ----------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_fields_cannot_be_assigned_or_deleted(event: Event) -> None:
    for name in field_values(event):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, name, None)
        with pytest.raises(AttributeError):
            delattr(event, name)
    assert field_values(event) == field_values(copy.copy(event))


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_no_other_attribute_can_be_added(event: Event) -> None:
    assert not hasattr(event, "__dict__")
    # AttributeError would be better; a frozen dataclass with slots raises TypeError
    # (its __setattr__ calls super() with the class the slots replaced; CPython 3.10-3.13).
    with pytest.raises((AttributeError, TypeError)):
        event.other = 1  # type: ignore[attr-defined]


# -- equality, hash, repr --------------------------------------------------------------


@pytest.mark.parametrize(("event", "text"), SAMPLES, ids=EVENT_IDS)
def test_repr(event: Event, text: str) -> None:
    assert repr(event) == text


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_repr_evaluates_to_an_equal_event(event: Event) -> None:
    assert eval(repr(event), vars(events)) == event


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_equal_by_value_with_equal_hashes(event: Event) -> None:
    twin = type(event)(**field_values(event))
    assert twin == event
    assert not twin != event  # noqa: SIM202 (__ne__ too)
    assert twin is not event
    assert hash(twin) == hash(event)
    assert len({event, twin}) == 1


def test_events_of_different_classes_are_never_equal() -> None:
    assert Ping(b"x") != Pong(b"x")  # type: ignore[comparison-overlap]
    assert TextMessage("x") != BytesMessage(b"x")  # type: ignore[comparison-overlap]
    assert len({Ping(b"x"), Pong(b"x")}) == 2


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_events_are_not_equal_to_tuples_of_their_fields(event: Event) -> None:
    assert event != tuple(field_values(event).values())  # type: ignore[comparison-overlap]


def test_events_differing_in_a_field_are_not_equal() -> None:
    assert TextMessage("x") != TextMessage("x", final=False)
    assert Close(1000, by_peer=True) != Close(1000, by_peer=False)


def test_events_are_not_ordered() -> None:
    with pytest.raises(TypeError):
        _ = TextMessage("a") < TextMessage("b")  # type: ignore[operator]


# -- pattern matching ------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_match_args_are_the_fields_in_order(event: Event) -> None:
    assert type(event).__match_args__ == tuple(field_values(event))  # type: ignore[attr-defined]


def describe(event: Event) -> str:
    match event:
        case TextMessage(text, final=False):
            return f"text chunk {text}"
        case TextMessage(data=text):
            return f"text {text}"
        case BytesMessage(data, True):
            return f"bytes {data!r}"
        case Close(1000 | 1001, reason):
            return f"normal close {reason}"
        case Close(code=code, by_peer=False):
            return f"failed {code}"
        case Ping() | Pong():
            return "ping or pong"
        case _:
            return "other"


@pytest.mark.parametrize(
    ("event", "description"),
    [
        (TextMessage("hi", final=False), "text chunk hi"),
        (TextMessage("hi"), "text hi"),
        (BytesMessage(b"b"), "bytes b'b'"),
        (BytesMessage(b"b", False), "other"),
        (Close(1001, "away"), "normal close away"),
        (Close(1002, by_peer=False), "failed 1002"),
        (Close(1002), "other"),
        (Pong(), "ping or pong"),
        (Accept(), "other"),
    ],
)
def test_match_by_position_and_by_keyword(event: Event, description: str) -> None:
    assert describe(event) == description


def test_events_are_not_sequences() -> None:
    match TextMessage("x"):
        case [_, _]:
            pytest.fail("an event matched a sequence pattern")
        case _:
            pass
    with pytest.raises(TypeError):
        len(TextMessage("x"))  # type: ignore[arg-type]


# -- copies, pickles, the dataclasses functions ----------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=EVENT_IDS)
def test_pickle_and_copy_round_trip(event: Event) -> None:
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(event, protocol)) == event
    assert copy.copy(event) == event
    assert copy.deepcopy(event) == event


def test_events_are_dataclasses() -> None:
    # The module's documentation says so: users may rely on the dataclasses functions.
    assert all(dataclasses.is_dataclass(event) for event in EVENTS)
    assert dataclasses.replace(TextMessage("x"), final=False) == TextMessage("x", False)
    assert dataclasses.asdict(Close(1000)) == {"code": 1000, "reason": "", "by_peer": True}
    assert dataclasses.astuple(Ping(b"p")) == (b"p",)


# -- the codecs' fast construction -----------------------------------------------------


def fast_text(data: str, final: bool) -> TextMessage:
    event = events._new_event(TextMessage)
    events._set_text_data(event, data)
    events._set_text_final(event, final)
    return event


def fast_bytes(data: bytes, final: bool) -> BytesMessage:
    event = events._new_event(BytesMessage)
    events._set_bytes_data(event, data)
    events._set_bytes_final(event, final)
    return event


def assert_same_event(built: Event, constructed: Event) -> None:
    assert type(built) is type(constructed)
    assert field_values(built) == field_values(constructed)
    assert built == constructed and hash(built) == hash(constructed)
    assert repr(built) == repr(constructed)
    assert pickle.loads(pickle.dumps(built)) == constructed
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.data = built.data  # type: ignore[attr-defined]


@given(st.text(), st.booleans())
def test_fast_text_message_is_the_constructed_one(data: str, final: bool) -> None:
    assert_same_event(fast_text(data, final), TextMessage(data, final))


@given(st.binary(), st.booleans())
def test_fast_bytes_message_is_the_constructed_one(data: bytes, final: bool) -> None:
    assert_same_event(fast_bytes(data, final), BytesMessage(data, final))


def test_field_setters_must_name_every_field_in_order() -> None:
    for names in [("data",), ("final", "data"), ("data", "final", "extra"), ("data", "fin")]:
        with pytest.raises(TypeError, match="has the fields"):
            events._field_setters(TextMessage, *names)


@given(st.text(max_size=40), st.binary(max_size=40), st.booleans())
def test_codecs_fast_paths_build_complete_events(text: str, data: bytes, client: bool) -> None:
    # Short whole messages take the codecs' fast paths, which build with the setters.
    key = None if client else b"\x01\x02\x03\x04"
    wire = serialize_frame(1, text.encode(), mask_key=key) + serialize_frame(2, data, mask_key=key)
    received: list[Event] = []
    Rfc6455Codec(client=client, max_message_size=None).receive(wire, received)
    assert len(received) == 2
    assert_same_event(received[0], TextMessage(text))
    assert_same_event(received[1], BytesMessage(data))
    received.clear()
    hixie = HixieCodec(version="hixie-76", max_message_size=None)
    hixie.receive(b"\x00" + text.encode() + b"\xff", received)
    (event,) = received
    assert_same_event(event, TextMessage(text))


# -- what a user's type checker sees ---------------------------------------------------

USER_PROGRAM = """\
from wsproto_core.events import Close, TextMessage

message = TextMessage("x")
reveal_type(message.data)
reveal_type(message.final)
reveal_type(Close(1000).by_peer)
message.data = "y"
TextMessage(1)
"""


def test_fields_are_typed_and_read_only_for_mypy(tmp_path: Path) -> None:
    program = tmp_path / "user_events.py"
    program.write_text(USER_PROGRAM)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), program],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    out = result.stdout
    revealed = re.findall(
        r'user_events\.py:(\d+): note: Revealed type is "(?:builtins\.)?(\w+)"', out
    )
    assert revealed == [("4", "str"), ("5", "bool"), ("6", "bool")], out
    assert "user_events.py:7: error:" in out and "read-only" in out, out
    assert "user_events.py:8: error:" in out and "arg-type" in out, out
    assert "Found 2 errors" in out, out
