"""The tables that describe the catalogue say what it holds: they cannot go stale."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from wsproto_core.testing.catalogue import CatalogueOptions, catalogue

HOWTO = Path(__file__).resolve().parent.parent / "docs" / "howto" / "conformance.rst"


def _howto_rows() -> list[tuple[list[str], int]]:
    """(families, cases) of each row of the how-to's "What the catalogue holds" table."""
    text = HOWTO.read_text(encoding="utf-8")
    section = text.split("What the catalogue holds\n", 1)[1]
    table = section.split("\n\n", 3)[2]  # after the underline, the directive and its options
    rows: list[list[str]] = []
    for line in table.splitlines():
        if line.startswith("   * - "):
            rows.append([line[len("   * - ") :]])
        elif line.startswith("     - "):
            rows[-1].append(line[len("     - ") :])
    header, *body = rows
    assert header == ["Family", "What it covers", "Cases"]
    assert all(len(row) == 3 for row in body), body
    return [([f.strip() for f in row[0].split(",")], int(row[2])) for row in body]


def test_the_howto_table_counts_each_family_as_the_catalogue_does() -> None:
    # The limits group is there with a max size alone; the other rows count the default catalogue.
    plain = Counter(case.family for case in catalogue())
    with_limit = Counter(case.family for case in catalogue(CatalogueOptions(max_size=4096)))
    rows = _howto_rows()
    for families, count in rows:
        counts = with_limit if families == ["limits"] else plain
        assert sum(counts[f] for f in families) == count, (families, count)
    listed = [f for families, _ in rows for f in families]
    assert sorted(listed) == sorted(with_limit), "every family and group has a row, once"


def test_the_deflate_group_is_numbered_as_its_table_says() -> None:
    from wsproto_core.testing.catalogue import deflate

    assert deflate.__doc__ is not None
    ranges = re.findall(r"^(\d+)-(\d+) ", deflate.__doc__, re.MULTILINE)
    numbers = [n for first, last in ranges for n in range(int(first), int(last) + 1)]
    ids = [case.id for case in catalogue() if case.family == "deflate"]
    assert ids == [f"deflate.{n}" for n in numbers]
