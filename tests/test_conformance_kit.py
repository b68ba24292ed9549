"""Our connections, both roles, pass the whole conformance catalogue in memory.

Every case of :func:`wsproto_core.testing.catalogue.catalogue` is played by the
kit's peer against one of our sans-IO connections (an echo application on
top), for each role the case applies to; the verdict must be OK, behaviour and
close both (INFORMATIONAL for a case whose outcome the RFC leaves open). The
limits group runs against a connection with that limit.
"""

from __future__ import annotations

import pytest

from wsproto_core.testing.catalogue import CatalogueOptions, catalogue
from wsproto_core.testing.memory import run_in_memory

MAX_SIZE = 4096
"""The testee's limit for the limits group."""

_CASES = catalogue(CatalogueOptions(max_size=MAX_SIZE))


def _params() -> list[object]:
    return [
        pytest.param(case, role, id=f"{case.id}-{role}")
        for case in _CASES
        for role in ("server", "client")
        if role in case.roles
    ]


@pytest.mark.parametrize(("case", "role"), _params())
def test_case_is_ok(case: object, role: str) -> None:
    from wsproto_core.testing.cases import Case

    assert isinstance(case, Case)
    limit = MAX_SIZE if case.family == "limits" else 32 * 2**20
    result = run_in_memory(case, role, max_message_size=limit)  # type: ignore[arg-type]
    # A case whose outcome the RFC leaves open (no ``ok``) is INFORMATIONAL at best.
    best = "INFORMATIONAL" if case.ok is None and case.request is None else "OK"
    if result.verdict != best:
        log = "\n".join(f"  {w.at:8.3f} {w.direction:4} {w.text}" for w in result.wire)
        pytest.fail(
            f"{case.id} ({role}): {case.description}\n"
            f"expected: {case.expectation}\n"
            f"behaviour {result.behaviour}: {result.behaviour_reason}\n"
            f"close {result.close_behaviour}: {result.close_reason}\n{log}",
            pytrace=False,
        )


def test_echoes_past_the_decode_budget_in_one_read_are_all_judged() -> None:
    """600 compressed echoes in one read inflate past the codec's budget: the peer goes on."""
    from wsproto_core.codec.rfc6455 import DECODE_BUDGET
    from wsproto_core.testing.cases import Case, Deflate, SendMessage, received_binary

    messages = [bytes([n]) * 7 + n.to_bytes(2, "big") * 500 for n in range(60)]
    assert sum(map(len, messages)) * 10 > 2 * DECODE_BUDGET
    steps = tuple(SendMessage(m, binary=True, count=10) for m in messages)
    ok = tuple(received_binary(m) for m in messages for _ in range(10))
    case = Case("budget", "600 compressed messages", "all echoed", steps, ok=ok, deflate=Deflate())
    for role in ("server", "client"):
        result = run_in_memory(case, role)  # type: ignore[arg-type]
        assert (result.verdict, len(result.received)) == ("OK", 600), result.behaviour_reason
