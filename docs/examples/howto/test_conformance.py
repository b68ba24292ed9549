"""A project's own tests: its WebSocket endpoint passes the conformance kit.

Run with ``pytest test_conformance.py`` (``--conformance-report DIR`` for HTML reports).
"""

import threading

import pytest

from wsproto_core.sync import serve
from wsproto_core.testing.pytest_plugin import assert_case, conformance_cases


def echo(ws):
    """The endpoint under test: it sends every message back, as the kit expects."""
    for message in ws:
        ws.send(message)


@pytest.fixture(scope="module")
def server_url():
    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        yield f"ws://127.0.0.1:{server.port}/"
        server.shutdown()
        thread.join()


def test_the_endpoint_conforms(conformance, server_url):
    # Families 1 to 7 and 10, and the framing rules: one check, one readable failure.
    conformance.check(server_url, cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,rules.*")


@pytest.mark.parametrize("case", conformance_cases("12.1.*,13.1.*"))
def test_compression(case, server_url):
    # One test per case: its own pass or fail, its wire log in the failure.
    assert_case(server_url, case)
