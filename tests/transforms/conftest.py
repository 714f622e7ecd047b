"""Fixtures and helpers for the transform tests (the ``spark`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pinterest_pipeline.transforms.io import LANDING_SCHEMA
from tests.sample import SAMPLE_DIR

SAMPLE_DIR = Path(os.environ.get("PINTEREST_SAMPLE_DIR", SAMPLE_DIR)).resolve()


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


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "pin.jsonl").exists():
        pytest.skip(f"real sample records not found at {SAMPLE_DIR} (shared/data/aicore_sample)")
    return SAMPLE_DIR
