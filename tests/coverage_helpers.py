"""Child processes that do not measure their coverage."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

COVERAGE_VARIABLES = (
    *("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"),  # coverage's patch = ["subprocess"]
    *("COV_CORE_SOURCE", "COV_CORE_CONFIG", "COV_CORE_DATAFILE"),  # pytest-cov before 7
)
"""What makes a child process measure its coverage."""


@contextmanager
def children_without_coverage() -> Iterator[None]:
    """Processes started in the block do not trace themselves for coverage.

    For children that play the conformance catalogue: tracing doubles their time
    (most of it in the compression families), and the rest of the suite covers
    what they run.
    """
    with pytest.MonkeyPatch.context() as environment:
        for name in COVERAGE_VARIABLES:
            environment.delenv(name, raising=False)
        yield
