"""The property mode: hypothesis writes the scripts, any echo endpoint must keep the invariants.

Where the catalogue plays fixed cases, :func:`echo_scripts` draws new ones:
a few messages, each cut into fragments at any byte (a character split across
frames included) with pings and pongs between them, written in chops of any
size, with pauses (a :class:`~.cases.Sync`: wait until the testee has read
everything) anywhere, and perhaps a broken frame at the end. The invariants:

* every message comes back, whole, with its type, in order (RFC 6455 §5.4, §5.6);
* every ping is answered with a pong carrying its payload, before the echo of
  the message it interrupted (§5.5.2, §5.4); unsolicited pongs are ignored (§5.5.3);
* the connection ends with the closing handshake, echoing 1000 (§7.1.2, §5.5.1),
  or, after a broken frame, the testee fails it with the code RFC 6455 requires (§7.1.7).

:func:`check_echo_server` runs the property against a live server; on a
failure, hypothesis shrinks the script to a minimal one, which is printed as
Python source that :func:`replay` plays again.

Requires hypothesis: ``pip install wsproto_core[testing]``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import cases as _cases
from . import wire as _wire
from .cases import NORMAL_CLOSE, Case, ExpectedClose, Received, Send, Step, Sync, fails
from .strategies import fragmentations, invalid_frames, messages
from .wire import PING, TEXT, Frame, starts_closing

if TYPE_CHECKING:
    from .engine import CaseResult

__all__ = ["PropertyFailure", "check_echo_server", "echo_scripts", "replay", "source"]

_CHOPS = st.one_of(st.none(), st.just(0), st.integers(1, 64))


@dataclass(frozen=True)
class _Message:
    steps: list[Step]
    expected: list[Received]


@st.composite
def _message(draw: st.DrawFn, max_size: int) -> _Message:
    message, frames = draw(fragmentations(draw(messages(max_size=max_size))))
    expected = [Received("pong", f.payload) for f in frames if f.opcode == PING]
    data = message.encode() if isinstance(message, str) else message
    expected.append(Received("text" if frames[0].opcode == TEXT else "binary", data))
    steps: list[Step] = [Send(tuple(frames), draw(_CHOPS))]
    if draw(st.booleans()):
        steps.append(Sync())
    return _Message(steps, expected)


def _broken_end(frame: Frame, code: int) -> ExpectedClose:
    """How a script that ends with the broken ``frame`` must close.

    A close frame with a bad payload starts the closing handshake: the testee
    answers it with ``code`` (Autobahn 7.3.2, 7.9.x). A badly framed close frame
    (no FIN, reserved bits, the wrong mask) or any other broken frame, the
    testee fails the connection with ``code``.
    """
    return ExpectedClose(True, (code,), False) if starts_closing(frame) else fails(code)


@st.composite
def _echo_script(draw: st.DrawFn, max_messages: int, max_size: int, broken: bool) -> Case:
    steps: list[Step] = []
    expected: list[Received] = []
    for part in draw(st.lists(_message(max_size), max_size=max_messages)):
        steps += part.steps
        expected += part.expected
    close = NORMAL_CLOSE
    if broken and draw(st.booleans()):
        frame, code = draw(invalid_frames(max_size=max_size))
        steps.append(Send((frame,), draw(_CHOPS)))
        close = _broken_end(frame, code)
    return Case(
        "property",
        "a script hypothesis drew: messages in fragments, pings, chops and pauses",
        "every message echoed in order, every ping answered, the close as RFC 6455 requires",
        tuple(steps),
        ok=tuple(expected),
        close=close,
    )


def echo_scripts(
    *, max_messages: int = 4, max_size: int = 256, broken: bool = True
) -> st.SearchStrategy[Case]:
    """Cases for an echo testee, drawn by hypothesis (see the module's invariants).

    Args:
        max_messages: The most messages in a script.
        max_size: The most characters or bytes per message.
        broken: Sometimes end with a broken frame, which the testee must fail.
    """
    return _echo_script(max_messages, max_size, broken)


def source(case: Case) -> str:
    """Python source that builds ``case`` again (for :func:`replay`)."""
    return repr(case)


def _namespace() -> dict[str, object]:
    names: dict[str, object] = {}
    for module in (_cases, _wire):
        names.update({name: getattr(module, name) for name in module.__all__})
    names.update(Frame=_wire.Frame, Received=Received, frozenset=frozenset)
    return names


def replay(case_source: str, url: str, *, timeout: float | None = None) -> CaseResult:
    """Play a case printed by :func:`source` (or by a property failure) against ``url``."""
    from .runner import run_case

    case = eval(case_source, _namespace())  # the source is a Case repr (see source())
    if not isinstance(case, Case):
        raise ValueError("not the source of a Case")
    if timeout is None:
        return asyncio.run(run_case(url, case))
    return asyncio.run(run_case(url, case, timeout=timeout))


class PropertyFailure(AssertionError):
    """The testee broke an invariant; :attr:`result` is the shrunk case's result.

    Attributes:
        result: The result of the minimal failing script.
        source: Python source of that script, for :func:`replay`.
    """

    def __init__(self, result: CaseResult) -> None:
        self.result = result
        self.source = source(result.case)
        super().__init__(
            f"{result.verdict}: behaviour {result.behaviour} ({result.behaviour_reason}); "
            f"close {result.close_behaviour} ({result.close_reason})\n"
            f"minimal script (replay with wsproto_core.testing.properties.replay):\n{self.source}"
        )


def check_echo_server(
    url: str,
    *,
    examples: int = 100,
    max_size: int = 256,
    strict: bool = True,
    seed: int | None = None,
) -> int:
    """Run the property against the echo server at ``url``; return how many scripts passed.

    Args:
        url: The ``ws://`` or ``wss://`` URL of an echo endpoint.
        examples: How many scripts to draw.
        max_size: The most characters or bytes per message.
        strict: NON-STRICT fails the property too.
        seed: Draw the same scripts again (``None``: random).

    Raises:
        PropertyFailure: With the shrunk script, once hypothesis has minimised it.
    """
    from .runner import run_case

    bad = {"FAILED", "NON-STRICT"} if strict else {"FAILED"}
    passed = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(echo_scripts(max_size=max_size))
    def prop(case: Case) -> None:
        nonlocal passed
        result = asyncio.run(run_case(url, case))
        if result.verdict in bad:
            raise PropertyFailure(result)
        passed += 1

    if seed is not None:
        prop = hypothesis.seed(seed)(prop)
    prop()
    return passed
