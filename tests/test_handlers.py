"""The handler API: routing decisions and per-connection bookkeeping, without sockets."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.events import HTTPRequest, Request
from wsproto_core.handlers import (
    DEFAULT_MAX_MESSAGE_SIZE,
    SERVER_ERROR,
    Handler,
    HandlerConnectionBase,
    Refuse,
    Response,
    Route,
    Router,
    log_connection,
)


def ws_request(
    target: str = "/echo",
    *,
    version: int | str = 13,
    origin: str | None = None,
    subprotocols: tuple[str, ...] = (),
    headers: tuple[tuple[str, str], ...] = (("Host", "example.com"),),
) -> Request:
    return Request(
        target=target,
        host="example.com",
        headers=headers,
        version=version,  # type: ignore[arg-type]
        origin=origin,
        subprotocols=subprotocols,
    )


def http_request(target: str = "/", method: str = "GET") -> HTTPRequest:
    return HTTPRequest(method=method, target=target, headers=(("Host", "example.com"),))


class Chat(Handler):
    subprotocols = ("chat.v2", "chat.v1")


@pytest.fixture
def router() -> Router:
    r = Router()
    r.route("/echo", Handler())
    r.route("/chat", Chat(), allowed_origins=["https://good.example"], max_message_size=1024)
    r.route("/old", Handler(), allow_draft75=True)
    r.route("/modern", Handler(), allow_draft76=False)
    r.page("/", b"<h1>index</h1>")
    r.page("/data.json", b"{}", "application/json")
    return r


# --- Router.resolve: WebSocket requests ---------------------------------------------------------


def test_known_path_resolves_to_its_route(router: Router) -> None:
    decision = router.resolve(ws_request("/echo"))
    assert isinstance(decision, Route)
    assert decision.path == "/echo"


def test_query_is_ignored_when_routing(router: Router) -> None:
    decision = router.resolve(ws_request("/echo?x=1"))
    assert isinstance(decision, Route)
    assert decision.path == "/echo"


def test_unknown_path_is_refused_with_404(router: Router) -> None:
    decision = router.resolve(ws_request("/nowhere"))
    assert isinstance(decision, Response)
    assert decision.status == 404


def test_websocket_request_to_a_page_path_is_404(router: Router) -> None:
    decision = router.resolve(ws_request("/"))
    assert isinstance(decision, Response)
    assert decision.status == 404


def test_origin_not_allowed_is_refused_with_403(router: Router) -> None:
    decision = router.resolve(ws_request("/chat", origin="https://evil.example"))
    assert isinstance(decision, Response)
    assert decision.status == 403


def test_missing_origin_is_refused_when_origins_are_restricted(router: Router) -> None:
    decision = router.resolve(ws_request("/chat"))
    assert isinstance(decision, Response)
    assert decision.status == 403


def test_allowed_origin_resolves(router: Router) -> None:
    decision = router.resolve(ws_request("/chat", origin="https://good.example"))
    assert isinstance(decision, Route)
    assert decision.max_message_size == 1024


def test_any_origin_is_allowed_by_default(router: Router) -> None:
    decision = router.resolve(ws_request("/echo", origin="https://anything.example"))
    assert isinstance(decision, Route)


def test_draft76_is_served_by_default(router: Router) -> None:
    assert isinstance(router.resolve(ws_request("/echo", version="hixie-76")), Route)


def test_draft76_refused_with_400_where_the_route_disallows_it(router: Router) -> None:
    decision = router.resolve(ws_request("/modern", version="hixie-76"))
    assert isinstance(decision, Response)
    assert decision.status == 400


def test_draft75_refused_with_400_by_default(router: Router) -> None:
    decision = router.resolve(ws_request("/echo", version="hixie-75"))
    assert isinstance(decision, Response)
    assert decision.status == 400


def test_draft75_served_where_the_route_allows_it(router: Router) -> None:
    assert isinstance(router.resolve(ws_request("/old", version="hixie-75")), Route)


@pytest.mark.parametrize("version", [13, 8, 7])
def test_rfc6455_versions_are_served_on_a_route_without_drafts(
    router: Router, version: int
) -> None:
    assert isinstance(router.resolve(ws_request("/modern", version=version)), Route)


def test_star_route_answers_any_unrouted_path() -> None:
    r = Router()
    r.route("/a", Handler())
    fallback = Handler()
    r.route("*", fallback)
    decision = r.resolve(ws_request("/b/c"))
    assert isinstance(decision, Route)
    assert decision.handler is fallback


def test_exact_route_wins_over_star() -> None:
    r = Router()
    exact = Handler()
    r.route("*", Handler())
    r.route("/a", exact)
    decision = r.resolve(ws_request("/a"))
    assert isinstance(decision, Route)
    assert decision.handler is exact


def test_for_handler_serves_every_path_with_the_given_options() -> None:
    handler = Handler()
    r = Router.for_handler(handler, max_message_size=10)
    decision = r.resolve(ws_request("/whatever"))
    assert isinstance(decision, Route)
    assert decision.handler is handler
    assert decision.max_message_size == 10


# --- Router.resolve: plain HTTP ----------------------------------------------------------------


def test_page_is_served_with_200_and_its_content_type(router: Router) -> None:
    decision = router.resolve(http_request("/data.json"))
    assert decision == Response(200, (("Content-Type", "application/json"),), b"{}")


def test_page_default_content_type_is_html(router: Router) -> None:
    decision = router.resolve(http_request("/"))
    assert isinstance(decision, Response)
    assert decision.headers == (("Content-Type", "text/html; charset=utf-8"),)
    assert decision.body == b"<h1>index</h1>"


def test_head_of_a_page_is_answered_like_get(router: Router) -> None:
    decision = router.resolve(http_request("/", "HEAD"))
    assert isinstance(decision, Response)
    assert decision.status == 200
    assert decision.body == b"<h1>index</h1>"  # the connection leaves it out for HEAD


def test_post_to_a_page_is_405_with_allow(router: Router) -> None:
    decision = router.resolve(http_request("/", "POST"))
    assert isinstance(decision, Response)
    assert decision.status == 405
    assert ("Allow", "GET, HEAD") in decision.headers


def test_plain_get_of_a_websocket_path_is_426_with_upgrade(router: Router) -> None:
    decision = router.resolve(http_request("/echo"))
    assert isinstance(decision, Response)
    assert decision.status == 426
    assert ("Upgrade", "websocket") in decision.headers


def test_plain_get_of_an_unknown_path_is_404(router: Router) -> None:
    decision = router.resolve(http_request("/missing.html"))
    assert isinstance(decision, Response)
    assert decision.status == 404


def test_plain_get_with_a_star_route_is_426() -> None:
    r = Router.for_handler(Handler())
    decision = r.resolve(http_request("/anything"))
    assert isinstance(decision, Response)
    assert decision.status == 426


def test_page_wins_over_star_route_for_plain_http() -> None:
    r = Router.for_handler(Handler())
    r.page("/", b"x")
    decision = r.resolve(http_request("/"))
    assert isinstance(decision, Response)
    assert decision.status == 200


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_favicon_without_a_page_is_204_no_content(router: Router, method: str) -> None:
    assert router.resolve(http_request("/favicon.ico", method)) == Response(204)


def test_favicon_is_204_beside_a_star_route_too() -> None:
    r = Router.for_handler(Handler())
    assert r.resolve(http_request("/favicon.ico")) == Response(204)


def test_favicon_page_wins_over_the_204(router: Router) -> None:
    router.page("/favicon.ico", b"\x00\x00\x01\x00", "image/x-icon")
    decision = router.resolve(http_request("/favicon.ico"))
    assert decision == Response(200, (("Content-Type", "image/x-icon"),), b"\x00\x00\x01\x00")


def test_post_to_favicon_without_a_page_is_404(router: Router) -> None:
    assert router.resolve(http_request("/favicon.ico", "POST")).status == 404


def test_refusals_have_a_plain_text_body(router: Router) -> None:
    decision = router.resolve(http_request("/missing"))
    assert isinstance(decision, Response)
    assert ("Content-Type", "text/plain; charset=utf-8") in decision.headers
    assert decision.body.endswith(b"\n")


# --- Router configuration ----------------------------------------------------------------------


def test_route_defaults_follow_mod_websocket(router: Router) -> None:
    decision = router.resolve(ws_request("/echo"))
    assert isinstance(decision, Route)
    assert decision.max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 32 * 2**20
    assert decision.allow_draft76 is True
    assert decision.allow_draft75 is False


def test_routing_a_path_twice_is_an_error(router: Router) -> None:
    with pytest.raises(ValueError, match="already routed"):
        router.route("/echo", Handler())


def test_a_page_path_twice_is_an_error(router: Router) -> None:
    with pytest.raises(ValueError, match="already has a page"):
        router.page("/", b"")


@pytest.mark.parametrize("size", [0, -1])
def test_non_positive_max_message_size_is_an_error(size: int) -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        Router().route("/x", Handler(), max_message_size=size)


def test_unlimited_message_size_is_allowed() -> None:
    r = Router()
    r.route("/x", Handler(), max_message_size=None)
    assert r.routes[0].max_message_size is None


def test_routes_and_pages_are_listed_in_order(router: Router) -> None:
    assert [r.path for r in router.routes] == ["/echo", "/chat", "/old", "/modern"]
    assert [p.path for p in router.pages] == ["/", "/data.json"]


def test_connection_options_take_the_most_permissive_drafts(router: Router) -> None:
    assert router.connection_options() == {
        "allow_draft76": True,
        "allow_draft75": True,
        "accept_plain_http": True,
    }


def test_connection_options_without_any_draft_route() -> None:
    r = Router()
    r.route("/x", Handler(), allow_draft76=False)
    assert r.connection_options()["allow_draft76"] is False
    assert r.connection_options()["allow_draft75"] is False


# --- HandlerConnectionBase ---------------------------------------------------------------------


def make_conn(request: Request, route: Route) -> HandlerConnectionBase:
    return HandlerConnectionBase(request, route, ("127.0.0.1", 5555))


def test_handshake_facts_come_from_the_request() -> None:
    request = ws_request("/echo?a=1", headers=(("Host", "h"), ("X-Token", "t")), version=8)
    conn = make_conn(request, Route("/echo", Handler()))
    assert conn.request is request
    assert conn.path == "/echo"
    assert conn.query == "a=1"
    assert conn.headers == (("Host", "h"), ("X-Token", "t"))
    assert conn.header("x-token") == "t"
    assert conn.header("missing", "d") == "d"
    assert conn.protocol_version == 8
    assert conn.remote_address == ("127.0.0.1", 5555)


def test_context_starts_as_none_and_response_headers_empty() -> None:
    conn = make_conn(ws_request(), Route("/echo", Handler()))
    assert conn.context is None
    assert conn.response_headers == []


def test_handler_property_is_the_route_handler() -> None:
    handler = Handler()
    conn = make_conn(ws_request(), Route("/echo", handler))
    assert conn.handler is handler


def test_subprotocol_preselected_in_server_preference_order() -> None:
    request = ws_request(subprotocols=("chat.v1", "chat.v2"))
    conn = make_conn(request, Route("/chat", Chat()))
    assert conn.offered_subprotocols == ("chat.v1", "chat.v2")
    assert conn.subprotocol == "chat.v2"


def test_route_subprotocols_override_the_handler_ones() -> None:
    request = ws_request(subprotocols=("chat.v1", "chat.v2"))
    conn = make_conn(request, Route("/chat", Chat(), subprotocols=("chat.v1",)))
    assert conn.subprotocol == "chat.v1"


def test_no_subprotocol_when_none_in_common() -> None:
    conn = make_conn(ws_request(subprotocols=("other",)), Route("/chat", Chat()))
    assert conn.subprotocol is None


def test_select_subprotocol_picks_an_offered_one() -> None:
    conn = make_conn(ws_request(subprotocols=("a", "b")), Route("/x", Handler()))
    conn.select_subprotocol("b")
    assert conn.subprotocol == "b"


def test_select_subprotocol_none_clears_the_choice() -> None:
    conn = make_conn(ws_request(subprotocols=("chat.v1",)), Route("/chat", Chat()))
    conn.select_subprotocol(None)
    assert conn.subprotocol is None


def test_select_subprotocol_refuses_one_not_offered() -> None:
    conn = make_conn(ws_request(subprotocols=("a",)), Route("/x", Handler()))
    with pytest.raises(ValueError, match="did not offer"):
        conn.select_subprotocol("b")
    assert conn.subprotocol is None


def test_handler_connection_base_has_slots() -> None:
    conn = make_conn(ws_request(), Route("/x", Handler()))
    with pytest.raises(AttributeError):
        conn.unexpected = 1  # type: ignore[attr-defined]


# --- Refuse and Handler -----------------------------------------------------------------------


def test_refuse_defaults_to_403() -> None:
    exc = Refuse()
    assert exc.status == 403
    assert exc.response().status == 403
    assert exc.response().body == b"Forbidden\n"


def test_refuse_carries_status_reason_and_headers() -> None:
    response = Refuse(401, "log in first", [("WWW-Authenticate", "Basic")]).response()
    assert response.status == 401
    assert response.body == b"log in first\n"
    assert ("WWW-Authenticate", "Basic") in response.headers


def test_server_error_is_500() -> None:
    assert SERVER_ERROR.status == 500


def test_default_handler_callbacks_do_nothing() -> None:
    handler = Handler()
    conn = make_conn(ws_request(), Route("/x", handler))
    assert handler.on_connect(conn) is None  # type: ignore[arg-type]
    assert handler.on_message(conn, "x") is None  # type: ignore[arg-type]
    assert handler.on_disconnect(conn, 1000, "") is None  # type: ignore[arg-type]
    assert handler.subprotocols == ()


@given(st.text(alphabet="abc/?=", max_size=12))
def test_resolve_always_decides(target: str) -> None:
    r = Router()
    r.route("/a", Handler())
    r.page("/b", b"")
    for request in (ws_request("/" + target), http_request("/" + target)):
        decision = r.resolve(request)
        assert isinstance(decision, (Route, Response))
        if isinstance(decision, Route):
            assert decision.path == "/a"


# --- log_connection: one line per connection, never ending with a space ---------------------------


def logged_line(
    request: Request | HTTPRequest, status: int, close_code: int | None, close_reason: str
) -> str:
    records: list[logging.LogRecord] = []
    logger = logging.getLogger("test_handlers.log_connection")
    logger.setLevel(logging.INFO)
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        log_connection(logger, ("127.0.0.1", 5), request, status, None, close_code, close_reason)
    finally:
        logger.removeHandler(handler)
    [record] = records
    return record.getMessage()


def test_log_line_shows_the_close_code_and_reason() -> None:
    line = logged_line(ws_request(), 101, 4000, "later")
    assert line == "('127.0.0.1', 5) /echo version=13 status=101 subprotocol=None close=4000 later"


def test_log_line_leaves_out_an_empty_close_reason() -> None:
    assert logged_line(ws_request(), 101, 1000, "").endswith(" close=1000")


def test_log_line_of_a_refused_handshake_ends_with_close_none() -> None:
    assert logged_line(ws_request(), 403, None, "").endswith(
        " status=403 subprotocol=None close=None"
    )


def test_log_line_of_a_plain_http_request_shows_the_method() -> None:
    line = logged_line(http_request("/missing"), 404, None, "")
    assert line.endswith(" /missing version=GET status=404 subprotocol=None close=None")


@pytest.mark.parametrize(
    ("reason", "shown"),
    [("bye ", "'bye '"), (" ", "' '"), ("two\nlines", "'two\\nlines'"), ("tab\t", "'tab\\t'")],
)
def test_log_line_quotes_a_reason_that_would_end_in_a_space_or_break_the_line(
    reason: str, shown: str
) -> None:
    assert logged_line(ws_request(), 101, 1000, reason).endswith(f" close=1000 {shown}")


@given(st.text(max_size=20))
def test_log_line_is_one_line_without_trailing_space(reason: str) -> None:
    line = logged_line(ws_request(), 101, 1000, reason)
    assert line == line.rstrip()
    assert len(line.splitlines()) == 1
