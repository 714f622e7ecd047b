"""Night after night: the insights built date by date (their inputs kept incrementally)
equal the reference reading of every date at once, row for row."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from benchmarks.generate import generate
from pinterest_pipeline import contract, stages
from tests import reference
from tests.sample import require_sample

pytestmark = pytest.mark.integration


def test_nights_one_by_one_match_the_reference(spark, tmp_path):
    require_sample()  # real values; replays 50 posts later cross each midnight
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    days = generate(str(landing), 3000, records_per_file=200, dates=3, quiet=True)["dates"]
    loc = stages.Locations(landing_uri=str(landing), warehouse_uri=str(warehouse))
    logged: list[str] = []
    for day in days:
        stages.run_stage(spark, "clean", loc, contract.KINDS, dt=day)
        stages.run_stage(spark, "insights", loc, contract.INSIGHTS, log=logged.append)
    refreshes = [line for line in logged if line.startswith("insight inputs:")]
    assert refreshes[0].startswith("insight inputs: rebuilt from 1 clean date(s)")
    assert all(line.startswith("insight inputs: added 1 clean date(s)") for line in refreshes[1:])
    assert all("keys moved from earlier dates" in line for line in refreshes[1:])
    expected = reference.insights(reference.read_landing(landing))
    for name in contract.INSIGHTS:
        got = pq.read_table(contract.insight_path(str(warehouse), name)).to_pylist()
        assert got and got == expected[name], name
