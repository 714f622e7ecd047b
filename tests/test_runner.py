"""``pinterest-pipeline run`` planning: dates outside the partitions and empty landings are refused."""

import io

import dagster as dg
import pytest

from pinterest_pipeline import contract, runner


@pytest.fixture
def empty_landing(tmp_path, monkeypatch):
    monkeypatch.setenv("PINTEREST_LANDING_URI", str(tmp_path / "landing"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return tmp_path


def test_plan_dates_uses_the_partitions_definition():
    parts = dg.DailyPartitionsDefinition(start_date="2024-01-02", end_date="2024-01-05")
    plan = runner.plan_dates(["2024-01-04", "2024-01-01", "2024-01-02", "2024-01-05"], parts)
    assert plan == runner.DatePlan(["2024-01-02", "2024-01-04"], ["2024-01-01"], ["2024-01-05"])


def test_plan_dates_default_is_the_code_locations_range():
    from pinterest_pipeline.defs.partitions import daily

    keys = daily.get_partition_keys()
    assert runner.plan_dates([keys[0], keys[-1]]).dates == [keys[0], keys[-1]]


def test_run_all_with_nothing_landed_says_so(empty_landing):
    outcome = runner.run_dates(None, out=io.StringIO())
    assert not outcome.ok and not outcome.run_ids
    assert "nothing has landed" in outcome.problems[0] and "emulate" in outcome.problems[0]


def test_run_date_before_the_start_is_refused_with_the_reason(empty_landing):
    outcome = runner.run_dates(["2023-12-31"], out=io.StringIO())
    assert not outcome.ok and not outcome.run_ids
    assert "PINTEREST_START_DATE=2024-01-01" in outcome.problems[0]
    assert "set PINTEREST_START_DATE=2023-12-31" in outcome.problems[0]


def test_run_date_not_landed_lists_the_landed_ones(empty_landing):
    outcome = runner.run_dates(["2024-01-03"], out=io.StringIO())
    assert not outcome.ok
    assert "nothing has landed for dt=2024-01-03" in outcome.problems[-1]
    assert "landed dates: none" in outcome.problems[-1]


def _land(root, *dates):
    topic = contract.topic_name("pin", "pinterest")
    for dt in dates:
        folder = root / "landing" / contract.landing_prefix(topic, dt)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{topic}+0+0000000000.json").write_text('{"index": 1}\n')


@pytest.mark.parametrize(("landed", "runs"), [
    (["2024-01-02"], [("nightly", "2024-01-02")]),
    (["2024-01-02", "2024-01-03"], [("clean", "2024-01-02"), ("clean", "2024-01-03"), ("insights", None)]),
])
def test_run_all_is_one_nightly_run_for_one_date_else_a_clean_run_per_date(
        empty_landing, monkeypatch, landed, runs):
    """Which runs ``run --all`` launches (their execution is the end-to-end tests')."""
    monkeypatch.setenv("PINTEREST_TOPIC_PREFIX", "pinterest")
    _land(empty_landing, *landed)
    launched = []
    monkeypatch.setattr(runner, "_execute", lambda job, dt, outcome, out: launched.append((job, dt)))
    assert runner.run_dates(None, out=io.StringIO()).ok
    assert launched == runs


def test_plan_dates_with_a_start_in_the_future_has_no_partitions():
    parts = dg.DailyPartitionsDefinition(start_date="2099-01-01", end_offset=1)
    plan = runner.plan_dates(["2024-01-02", "2099-01-01"], parts)
    assert plan == runner.DatePlan([], ["2024-01-02"], ["2099-01-01"])


def test_summary_prints_each_stage_line_and_the_report_path():
    @dg.asset(key=["clean", "pin"])
    def pin():
        return dg.MaterializeResult(metadata={
            "rows_in": 3, "rows_out": 2, "quarantined": 1, "duplicates_collapsed": 0, "conflicts": 0,
            "dt": "2024-01-02", "seconds": 1.5, "dagster/uri": dg.MetadataValue.path("/w/clean/pin")})

    @dg.asset(key=["reports", "insights"])
    def report():
        return dg.MaterializeResult(metadata={"dagster/uri": dg.MetadataValue.path("/w/report.html")})

    out = io.StringIO()
    runner._summarize(dg.materialize([pin, report]), out)
    assert out.getvalue().splitlines() == [
        "  clean/pin: 3 lines -> 2 rows, 1 quarantined, 0 duplicates collapsed (0 conflicts) "
        "[dt=2024-01-02, 1.5 s]",
        "  reports/insights: /w/report.html",
    ]
