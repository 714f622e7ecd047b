"""``pinterest-pipeline show``: the built insight tables as aligned text."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from pinterest_pipeline import contract


def read_insight(name: str) -> tuple[list[str], list[dict[str, Any]]] | None:
    """Columns and rows of a built insight table, or None if it was never built."""
    from pinterest_pipeline.report import read_rows
    from pinterest_pipeline.stages import Locations

    rows = read_rows(name, Locations.from_settings())
    if rows is None:
        return None
    return list(rows[0]) if rows else [c for c, _ in contract.INSIGHT_COLUMNS[name]], rows


def format_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """Rows as aligned text, numbers right-aligned."""
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[c], (int, float)) or r[c] is None for r in rows) for c in columns]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def show(tables: Sequence[str], out: TextIO | None = None) -> int:
    """Print each built table; 1 (naming them) if some were never built."""
    out = out or sys.stdout
    missing = []
    for name in tables:
        found = read_insight(name)
        if found is None:
            missing.append(name)
            continue
        columns, rows = found
        print(f"\n== insights/{name} ({len(rows)} rows)", file=out)
        print(format_table(columns, rows), file=out)
    if missing:
        print(
            f"not built yet: {', '.join(missing)} (run `pinterest-pipeline run --all` first)",
            file=sys.stderr,
        )
        return 1
    return 0
