"""Fixtures and helpers for the transform tests (the ``spark`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json

from pinterest_pipeline.transforms.io import LANDING_SCHEMA


def raw_lines(spark, lines, source_file="topic+0+0000000000.json"):
    """A ``read_landing``-shaped DataFrame; dict lines are JSON-encoded, strings kept verbatim.

    A line may also be ``(line, source_file, line_no)``; ``position`` is then
    ``(0, line_no)`` (one split per file).
    """
    rows = []
    for i, line in enumerate(lines, start=1):
        if isinstance(line, tuple):
            text, src, no = line
        else:
            text, src, no = line, source_file, i
        rows.append((json.dumps(text) if isinstance(text, dict) else text, src, (0, no)))
    return spark.createDataFrame(rows, LANDING_SCHEMA)


