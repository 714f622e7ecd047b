"""The notebook-style baseline gives the contract's nine insight tables, row for row.

A landing of 3,000 posts made from the real sample (with exact replays, over
two landing dates) goes through ``python -m benchmarks.notebook_job``; every
table must equal the plain-Python reference reading of the contract
(tests/reference.py). The job runs in its own process: it starts and stops its
own SparkSession, which must not touch the test session's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.generate import generate
from pinterest_pipeline import contract
from tests import reference
from tests.sample import require_sample

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def normalise(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return int(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows(table: list[dict]) -> list[dict]:
    return [{k: normalise(v) for k, v in row.items()} for row in table]


def read_insights(out: Path) -> dict[str, list[dict]]:
    import pyarrow.parquet as pq

    return {
        name: pq.read_table(contract.insight_path(str(out), name)).to_pylist()
        for name in contract.INSIGHTS
    }


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    require_sample()
    root = tmp_path_factory.mktemp("notebook_job")
    landing, out = root / "landing", root / "out"
    generate(str(landing), 3000, records_per_file=500, dates=2, last_date="2024-06-02",
             quiet=True)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.notebook_job", "--landing", str(landing),
         "--out", str(out), "--json"],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return landing, out, json.loads(proc.stdout.strip().splitlines()[-1])


def test_prints_timings(job):
    _, _, timings = job
    assert set(timings) == {"session_start", "clean", "insights", "total"}
    assert all(v >= 0 for v in timings.values())
    assert timings["total"] >= timings["clean"] + timings["insights"]


def test_insights_match_reference_row_by_row(job):
    landing, out, _ = job
    expected = reference.insights(reference.read_landing(landing))
    got = read_insights(out)
    for name in contract.INSIGHTS:
        assert got[name], f"{name} is empty"
        assert rows(got[name]) == rows(expected[name]), name


def test_insight_columns_and_types_follow_the_contract(job):
    import pyarrow.parquet as pq

    _, out, _ = job
    arrow = {"string": "string", "bigint": "int64", "int": "int32"}
    for name, columns in contract.INSIGHT_COLUMNS.items():
        schema = pq.read_table(contract.insight_path(str(out), name)).schema
        assert [(f.name, str(f.type)) for f in schema] == [(c, arrow[t]) for c, t in columns], name


def test_clean_tables_follow_the_contract(job):
    import pyarrow.parquet as pq

    _, out, _ = job
    for kind in contract.KINDS:
        table = pq.read_table(contract.clean_path(str(out), kind))
        names = [c for c, _ in contract.CLEAN_COLUMNS[kind]]
        assert table.column_names[: len(names)] == names, kind
        posts = table.to_pylist()
        per_dt = {(r["ind"], str(r["dt"])) for r in posts}
        assert len(per_dt) == len(posts), f"{kind}: a replay survived dropDuplicates()"
        assert len({r["ind"] for r in posts}) == 3000, kind
