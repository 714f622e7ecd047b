"""Compare two sets of the nine insight tables (data contract, section 5).

:func:`read_tables` reads ``<out>/insights/<table>`` as written by any engine:
a Parquet file ``<table>.parquet`` (DuckDB, the notebook job) or a Spark
Parquet folder ``<table>/`` (``_SUCCESS`` and other marker files are ignored).
:func:`normalise` turns rows from anywhere (Parquet, :mod:`tests.reference`)
into plain ints, strings and None, so :func:`diff` compares values, not types.
Row order matters: the contract sorts every table by its grouping columns.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pinterest_pipeline import contract

MAX_ROWS_SHOWN = 3


def _value(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def normalise(rows: list[dict]) -> list[dict]:
    """Rows with only the contract's values: ints, strings and None."""
    return [{k: _value(v) for k, v in row.items()} for row in rows]


def read_tables(out: str) -> dict[str, list[dict]]:
    """The nine insight tables under ``<out>/insights/``, each a list of normalised rows."""
    folder = Path(out) / "insights"
    tables: dict[str, list[dict]] = {}
    for name in contract.INSIGHTS:
        file, spark_folder = folder / f"{name}.parquet", folder / name
        if file.is_file():
            table = pq.read_table(file)
        elif spark_folder.is_dir():
            table = pq.read_table(spark_folder)
        else:
            raise FileNotFoundError(f"no insight table {name!r} under {folder}")
        tables[name] = normalise(table.to_pylist())
    return tables


def diff(a: dict[str, list[dict]], b: dict[str, list[dict]]) -> list[str]:
    """Every difference between two sets of tables (``a`` vs ``b``); empty when equal."""
    problems: list[str] = []
    for name in sorted(set(a) | set(b), key=lambda n: (n not in contract.INSIGHTS, n)):
        if name not in a or name not in b:
            problems.append(f"{name}: only in {'a' if name in a else 'b'}")
            continue
        rows_a, rows_b = normalise(a[name]), normalise(b[name])
        if rows_a and rows_b and list(rows_a[0]) != list(rows_b[0]):
            problems.append(f"{name}: columns {list(rows_a[0])} vs {list(rows_b[0])}")
        if len(rows_a) != len(rows_b):
            problems.append(f"{name}: {len(rows_a)} rows vs {len(rows_b)}")
        differing = [i for i, (x, y) in enumerate(zip(rows_a, rows_b)) if x != y]
        for i in differing[:MAX_ROWS_SHOWN]:
            problems.append(f"{name} row {i}: {rows_a[i]} vs {rows_b[i]}")
        if len(differing) > MAX_ROWS_SHOWN:
            problems.append(f"{name}: {len(differing) - MAX_ROWS_SHOWN} more differing rows")
        shorter = min(len(rows_a), len(rows_b))
        for i in range(shorter, shorter + MAX_ROWS_SHOWN):
            if i < len(rows_a):
                problems.append(f"{name} row {i}: {rows_a[i]} only in a")
            if i < len(rows_b):
                problems.append(f"{name} row {i}: {rows_b[i]} only in b")
    return problems
