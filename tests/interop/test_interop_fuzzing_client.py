"""Node's ws as a testee client of our fuzzing server, through Autobahn's protocol.

``fuzzing_client.mjs`` is an Autobahn testee client as ws's own are written; the
server runs the cases of ``tests/fuzzing_helpers.py`` (an echo, fragments, a ping
inside a message, an RSV bit that must fail with 1002, invalid UTF-8 that must
fail with 1007) and judges ws on each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fuzzing_helpers import CLIENT_CASES, describe_failures, threaded_fuzzing_server

if TYPE_CHECKING:
    from interop_harness import NodeRunner

pytestmark = pytest.mark.interop

AGENT = "Node ws"


def test_ws_client_gets_ok_on_every_case(node: NodeRunner) -> None:
    with threaded_fuzzing_server() as (server, url):
        result = node.run("fuzzing_client.mjs", {"url": url, "agent": AGENT})
    assert result["count"] == len(CLIENT_CASES)
    results = server.results(AGENT)
    assert [r.case.id for r in results] == [case.id for case in CLIENT_CASES]
    assert all(r.verdict == "OK" for r in results), describe_failures(results)
    codes = [r.testee_close[0] if r.testee_close else None for r in results]
    assert codes == [1000, 1000, 1000, 1002, 1007]
    # ws's own view: the server's 1000 after the echo cases; where ws failed the
    # connection, its error (it stops reading then, so it reports 1006, not the echo).
    seen = [(entry["code"], entry["error"]) for entry in result["cases"]]
    assert seen[:3] == [(1000, None)] * 3
    assert seen[3] == (1006, "Invalid WebSocket frame: RSV2 and RSV3 must be clear")
    assert seen[4] == (1006, "Invalid WebSocket frame: invalid UTF-8 sequence")
    assert result["report"] == {"code": 1000, "error": None}
