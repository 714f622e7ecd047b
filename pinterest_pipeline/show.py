"""``pinterest-pipeline show``: the built insight tables as aligned text."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from pinterest_pipeline import contract, settings


def read_insight(name: str) -> tuple[list[str], list[dict[str, Any]]] | None:
    """Columns and rows of a built insight table, or None if it was never built."""
    path = contract.insight_path(settings.resolve_uri(settings.warehouse_uri()), name)
    if "://" in path:
        from pinterest_pipeline.spark import get_session

        spark = get_session(remote=settings.get("PINTEREST_SPARK_REMOTE"))
        df = spark.read.parquet(path)
        return df.columns, [r.asDict() for r in df.collect()]
    if not os.path.isdir(path):
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.column_names, table.to_pylist()


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
