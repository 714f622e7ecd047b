"""Fixtures and helpers for the transform tests (the ``spark`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.sample import SAMPLE_DIR  # noqa: E402
SAMPLE_DIR = Path(os.environ.get("PINTEREST_SAMPLE_DIR", SAMPLE_DIR)).resolve()


def raw_lines(spark, lines, source_file="topic+0+0000000000.json"):
    """A ``read_landing``-shaped DataFrame; dict lines are JSON-encoded, strings kept verbatim.

    A line may also be ``(line, source_file, line_no)``.
    """
    rows = []
    for i, line in enumerate(lines, start=1):
        if isinstance(line, tuple):
            text, src, no = line
        else:
            text, src, no = line, source_file, i
        rows.append((json.dumps(text) if isinstance(text, dict) else text, src, no))
    return spark.createDataFrame(rows, "raw_line string, source_file string, line_no long")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "pin.jsonl").exists():
        pytest.skip(f"real sample records not found at {SAMPLE_DIR} (shared/data/aicore_sample)")
    return SAMPLE_DIR
