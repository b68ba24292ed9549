"""(to be written)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..cases import Case
    from . import CatalogueOptions


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """The cases of this group."""
    return iter(())
