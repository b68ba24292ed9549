"""The case catalogue: the Autobahn families by number, and our own groups.

=========  ======================================================  ===================
Family     What it covers                                          Module
=========  ======================================================  ===================
1          framing: payload lengths at every edge, chopped writes  :mod:`.framing`
2          ping and pong                                           :mod:`.pings`
3          reserved bits                                           :mod:`.reserved`
4          reserved opcodes                                        :mod:`.reserved`
5          fragmentation, control frames inside messages           :mod:`.fragments`
6          UTF-8, failing fast on invalid text                     :mod:`.utf8`
7          closing: codes, reasons, frames after the close         :mod:`.closing`
9          limits and performance (sizes scaled by ``scale``)      :mod:`.limits`
10         miscellaneous (auto-fragmentation)                      :mod:`.misc`
12, 13     permessage-deflate: payloads, then parameters           :mod:`.compression`
rules      rules Autobahn leaves out: masking, lengths, UTF-8      :mod:`.rules`
deflate    permessage-deflate rules Autobahn leaves out            :mod:`.deflate`
handshake  the opening handshake, valid and broken                 :mod:`.handshake`
legacy     versions 8 and 7, draft-hixie-76 and -75                :mod:`.legacy`
limits     the testee's maximum message size (``max_size``)        :mod:`.limits`
=========  ======================================================  ===================

Ids of the Autobahn families are Autobahn's (``5.19``, ``6.4.1``), with the
same description and expectation; the other groups number their own.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import (
    closing,
    compression,
    deflate,
    fragments,
    framing,
    handshake,
    legacy,
    limits,
    misc,
    pings,
    reserved,
    rules,
    utf8,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..cases import Case

__all__ = ["CatalogueOptions", "catalogue", "select"]


@dataclass(frozen=True)
class CatalogueOptions:
    """What shapes the catalogue for one testee.

    Attributes:
        scale: Family 9's message sizes and counts, as a fraction of Autobahn's
            (``1.0`` sends its 16 MiB messages; the default keeps the whole
            catalogue well under a minute against a local server).
        max_size: The testee's maximum message size, if it has one: the
            ``limits`` group checks a message of exactly that size is echoed and
            one byte more, whole or in fragments, fails with 1009. ``None``
            leaves the group out (and keeps family 9 below it is the caller's
            business: give ``scale`` accordingly).
    """

    scale: float = 1 / 64
    max_size: int | None = None


_MODULES = (framing, pings, reserved, fragments, utf8, closing, limits, misc, compression)
_GROUPS = (rules, deflate, handshake, legacy)


def catalogue(options: CatalogueOptions | None = None) -> list[Case]:
    """Every case: Autobahn's, in its order, then the limits, rules, deflate, handshake, legacy."""
    options = options or CatalogueOptions()
    cases = [case for module in (*_MODULES, *_GROUPS) for case in module.cases(options)]
    numbered = sorted((c for c in cases if c.family.isdigit()), key=lambda c: c.sort_key())
    return numbered + [c for c in cases if not c.family.isdigit()]


def select(
    cases: Iterable[Case], include: Sequence[str] = ("*",), exclude: Sequence[str] = ()
) -> list[Case]:
    """The cases whose id matches a pattern of ``include`` and none of ``exclude``.

    Patterns are shell-style over ids: ``5.*``, ``6.4.?``, ``12.1.*``; a bare
    family (``7``) stands for the family's cases (``7.*``).
    """

    def matches(case_id: str, patterns: Sequence[str]) -> bool:
        return any(
            fnmatch.fnmatchcase(case_id, p) or fnmatch.fnmatchcase(case_id, f"{p}.*")
            for p in patterns
        )

    return [c for c in cases if matches(c.id, include) and not matches(c.id, exclude)]
