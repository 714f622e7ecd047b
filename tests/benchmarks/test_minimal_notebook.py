"""The shorter notebook job gives the contract's nine tables on the benchmark's kind of data.

``benchmarks.minimal_notebook`` is the yardstick for a notebook that cleans
less than the contract asks (docs/benchmarks.md compares it with the others).
On a landing made like the benchmark's (real values, new keys, exact replays,
one date) it must still give the reference's nine tables, row for row.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.generate import generate
from pinterest_pipeline import contract
from tests import reference
from tests.benchmarks.test_notebook_job import REPO, read_insights, rows
from tests.sample import require_sample

pytestmark = pytest.mark.integration


def test_minimal_notebook_matches_the_reference_on_benchmark_data(tmp_path):
    require_sample()
    landing, out = tmp_path / "landing", tmp_path / "out"
    generate(str(landing), 3000, records_per_file=500, quiet=True)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.minimal_notebook", "--landing", str(landing), "--out", str(out)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    timings = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(timings) == {"session_start", "clean", "insights", "total"}
    expected = reference.insights(reference.read_landing(landing))
    got = read_insights(out)
    for name in contract.INSIGHTS:
        assert got[name], f"{name} is empty"
        assert rows(got[name]) == rows(expected[name]), name
