"""Properties of the opening handshake: our client and server agree, and peers' bytes are safe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.errors import HandshakeError
from wsproto_core.events import Accept, Reject, Request
from wsproto_core.handshake.client import ClientHandshake
from wsproto_core.handshake.server import ServerHandshake
from wsproto_core.handshake.uri import parse_uri
from wsproto_core.versions import SUPPORTED_VERSIONS, ProtocolVersion

_tokens = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}", fullmatch=True)
_origins = st.none() | st.from_regex(r"https?://[a-z0-9.\-]{1,20}(:[0-9]{1,5})?", fullmatch=True)
_paths = st.from_regex(
    r"(/[A-Za-z0-9._~%!$&'()*+,;=:@\-]{0,10}){1,3}(\?[A-Za-z0-9=&]{0,10})?", fullmatch=True
)

if TYPE_CHECKING:
    from collections.abc import Callable


def _randomness(seed: bytes) -> Callable[[int], bytes]:
    """Deterministic random_bytes repeating ``seed`` (so hypothesis can shrink and replay)."""
    position = 0

    def random_bytes(n: int) -> bytes:
        nonlocal position
        out = bytes(seed[(position + i) % len(seed)] for i in range(n))
        position += n
        return out

    return random_bytes


def _chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    """Cut ``data`` into pieces of the given sizes (cycled), the last one whatever remains."""
    pieces = []
    i = 0
    k = 0
    while i < len(data):
        size = sizes[k % len(sizes)]
        pieces.append(data[i : i + size])
        i += size
        k += 1
    return pieces


@st.composite
def _client_options(draw: st.DrawFn) -> dict[str, object]:
    version: ProtocolVersion = draw(st.sampled_from(SUPPORTED_VERSIONS))
    legacy = version in ("hixie-76", "hixie-75")
    subprotocols = draw(st.lists(_tokens, max_size=1 if legacy else 4, unique=True))
    return {
        "version": version,
        "subprotocols": subprotocols,
        "origin": draw(_origins),
        "random_bytes": _randomness(draw(st.binary(min_size=1, max_size=32))),
    }


@given(
    options=_client_options(),
    path=_paths,
    secure=st.booleans(),
    port=st.integers(1, 65535),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    server_frames=st.binary(max_size=20),
    client_frames=st.binary(max_size=20),
)
def test_our_client_and_server_agree_in_any_chunking(
    options: dict[str, object],
    path: str,
    secure: bool,
    port: int,
    sizes: list[int],
    server_frames: bytes,
    client_frames: bytes,
) -> None:
    uri = parse_uri(f"{'wss' if secure else 'ws'}://example.com:{port}{path}")
    client = ClientHandshake(uri, **options)  # type: ignore[arg-type]
    offered = options["subprotocols"]
    assert isinstance(offered, list)
    server = ServerHandshake(subprotocols=offered[::-1], allow_draft75=True, secure=secure)

    requests = [
        server.receive_data(piece) for piece in _chunks(client.request + client_frames, sizes)
    ]
    assert [type(r) for r in requests if r is not None] == [Request]
    request = server.event
    assert isinstance(request, Request)
    assert request.version == options["version"]
    assert request.origin == options["origin"]
    assert request.subprotocols == tuple(offered)
    assert request.target == uri.resource_name
    assert server.trailing == client_frames

    response, _, subprotocol = server.accept()
    assert subprotocol == (offered[-1] if offered else None)
    accepts = [client.receive_data(piece) for piece in _chunks(response + server_frames, sizes)]
    assert [type(a) for a in accepts if a is not None] == [Accept]
    assert client.subprotocol == subprotocol
    assert client.trailing == server_frames


@given(options=_client_options())
def test_our_client_and_server_agree_in_single_bytes(options: dict[str, object]) -> None:
    client = ClientHandshake(parse_uri("ws://h/"), **options)  # type: ignore[arg-type]
    server = ServerHandshake(allow_draft75=True)
    for i in range(len(client.request)):
        server.receive_data(client.request[i : i + 1])
    assert isinstance(server.event, Request)
    response = server.accept()[0]
    for i in range(len(response)):
        client.receive_data(response[i : i + 1])
    assert client.trailing == b""
    assert client.receive_data(b"") is None


@given(seed=st.binary(min_size=1, max_size=64))
def test_our_hixie76_keys_are_always_accepted_and_the_answer_verifies(seed: bytes) -> None:
    client = ClientHandshake(
        parse_uri("ws://h/"), version="hixie-76", random_bytes=_randomness(seed)
    )
    server = ServerHandshake()
    assert isinstance(server.receive_data(client.request), Request)
    assert isinstance(client.receive_data(server.accept()[0]), Accept)


@given(
    status=st.sampled_from([400, 401, 403, 404, 426, 500, 503]),
    body=st.binary(max_size=100),
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=4),
)
def test_our_servers_rejection_reaches_our_client(
    status: int, body: bytes, sizes: list[int]
) -> None:
    client = ClientHandshake(parse_uri("ws://h/"))
    server = ServerHandshake()
    server.receive_data(client.request)
    results = [
        client.receive_data(piece) for piece in _chunks(server.reject(status, [], body), sizes)
    ]
    rejects = [r for r in results if r is not None]
    assert len(rejects) == 1
    assert isinstance(rejects[0], Reject)
    assert (rejects[0].status, rejects[0].body) == (status, body)


_prefixes = st.sampled_from(
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key1: 1 1\r\nSec-WebSocket-Key2: 2 2\r\n\r\n",
    ]
)


@given(prefix=_prefixes, data=st.lists(st.binary(max_size=64), max_size=5), eof=st.booleans())
def test_arbitrary_bytes_to_the_server_raise_only_handshake_error(
    prefix: bytes, data: list[bytes], eof: bool
) -> None:
    server = ServerHandshake(allow_draft75=True, accept_plain_http=True, max_size=512)
    error = None
    try:
        for piece in [prefix, *data, *([b""] if eof else [])]:
            server.receive_data(piece)
    except HandshakeError as exc:
        error = exc
    if error is not None:
        assert server.refuse(error).startswith(b"HTTP/1.1 ")


_response_prefixes = st.sampled_from(
    [
        b"",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        b"HTTP/1.1 403 Forbidden\r\n",
        b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
        b"Upgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n",
    ]
)


@given(
    version=st.sampled_from(SUPPORTED_VERSIONS),
    prefix=_response_prefixes,
    data=st.lists(st.binary(max_size=64), max_size=5),
    eof=st.booleans(),
)
def test_arbitrary_bytes_to_the_client_raise_only_handshake_error(
    version: ProtocolVersion, prefix: bytes, data: list[bytes], eof: bool
) -> None:
    client = ClientHandshake(parse_uri("ws://h/"), version=version, max_size=512)
    try:
        for piece in [prefix, *data, *([b""] if eof else [])]:
            client.receive_data(piece)
    except HandshakeError:
        pass
