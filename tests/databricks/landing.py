"""A small real landing for the Databricks/Pipes/Connect tests, built from the shared sample."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pinterest_pipeline import contract
from tests.sample import require_sample

PREFIX = "pinterest"
#: landing date -> (first line, last line) of the sample, split in files of this many lines
DATES = {"2024-01-02": (0, 1100), "2024-01-03": (1100, 1899)}
FILE_LINES = 600


def write_landing(root: Path) -> Path:
    """The sample in sink layout over two dates, plus a replay and a bad line on the second."""
    sample = require_sample()
    for kind in contract.KINDS:
        topic = contract.topic_name(kind, PREFIX)
        lines = (sample / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
        values = [contract.encode_value(json.loads(line)).decode("utf-8") for line in lines]
        for dt, (start, stop) in DATES.items():
            day = values[start:stop]
            if dt == "2024-01-03":
                day += [day[0], "{not json"]  # an exact replay and a broken line
            for offset in range(0, len(day), FILE_LINES):
                path = root / contract.landing_key(topic, dt, 0, start + offset)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(
                    "\n".join(day[offset : offset + FILE_LINES]) + "\n", encoding="utf-8"
                )
    return root


def rows(path: str) -> list[dict]:
    """A table's rows in a stable order (parquet folder, as written by transforms.io)."""
    table = pq.read_table(path).to_pylist()
    return sorted(table, key=lambda r: json.dumps(r, sort_keys=True, default=str))
