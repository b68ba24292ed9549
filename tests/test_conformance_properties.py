"""The property mode, played in memory against our connections of both roles.

:func:`wsproto_core.testing.properties.echo_scripts` draws scripts (messages in
fragments, pings, chops, pauses, perhaps a broken frame at the end); our
connections must keep every invariant, so the verdict is OK. A testee that
breaks one is caught, and the printed source replays the very same case.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsproto_core import ServerConnection
from wsproto_core.testing.cases import Case, Received, Send
from wsproto_core.testing.memory import run_in_memory
from wsproto_core.testing.properties import _broken_end, _namespace, echo_scripts, source
from wsproto_core.testing.wire import CLOSE, TEXT, Frame

if TYPE_CHECKING:
    from wsproto_core.testing.cases import Role

ROLES = st.sampled_from(["server", "client"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=echo_scripts(), role=ROLES)
def test_our_connections_keep_the_echo_invariants(case: Case, role: Role) -> None:
    result = run_in_memory(case, role)
    assert result.verdict == "OK", (result.behaviour_reason, result.close_reason, source(case))


@settings(max_examples=50, deadline=None)
@given(case=echo_scripts())
def test_the_printed_source_builds_the_same_case(case: Case) -> None:
    assert eval(source(case), _namespace()) == case


class _SilentOnPings(ServerConnection):
    """Our server connection, but the pongs of empty pings never leave: it breaks §5.5.2."""

    def data_to_send(self) -> bytes:
        return super().data_to_send().replace(b"\x8a\x00", b"")


def _silent(case: Case, role: Role) -> ServerConnection:
    return _SilentOnPings()


class _Caught(Exception):
    pass


def test_a_testee_that_breaks_an_invariant_is_caught() -> None:
    failures: list[Case] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(case=echo_scripts(broken=False))
    def prop(case: Case) -> None:
        result = run_in_memory(case, "server", _silent)
        if result.verdict != "OK":
            failures.append(case)
            raise _Caught(result.behaviour_reason)

    with contextlib.suppress(_Caught):
        prop()
    assert failures, "no script drew an empty ping"
    smallest = eval(source(failures[-1]), _namespace())
    # Hypothesis replays the shrunk script last: a message or two, the ping the testee ignored.
    assert len(smallest.steps) <= 2, smallest
    assert run_in_memory(smallest, "server", _silent).verdict == "FAILED"
    assert run_in_memory(smallest, "server").verdict == "OK"


@pytest.mark.parametrize(
    "frame",
    [
        Frame(CLOSE, b"", fin=False),
        Frame(CLOSE, b"\x03\xe8", rsv=4),
        Frame(CLOSE, b"\x03\xe8", wrong_mask=True),
        Frame(CLOSE, b"\x00"),
        Frame(CLOSE, b"\x03\xe7"),
    ],
    ids=["no-fin", "rsv", "wrong-mask", "1-byte-payload", "code-999"],
)
@pytest.mark.parametrize("role", ["server", "client"])
def test_a_script_ending_in_a_broken_close_expects_the_close_rfc_6455_requires(
    frame: Frame, role: Role
) -> None:
    # CI once drew an empty text message, then a close frame without FIN: the script
    # expected the testee to answer a close, but a fragmented control frame is a framing
    # error the testee fails the connection on (RFC 6455 §5.5).
    case = Case(
        "property",
        "an empty text message, then a broken close frame",
        "the echo, then the close RFC 6455 requires",
        (Send((Frame(TEXT, b""),)), Send((frame,))),
        ok=(Received("text", b""),),
        close=_broken_end(frame, 1002),
    )
    result = run_in_memory(case, role)
    assert result.verdict == "OK", (result.behaviour_reason, result.close_reason)
