"""yesterday_cleaned: red when yesterday's clean partition is missing after 01:00 UTC."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from pinterest_pipeline.definitions import defs
from pinterest_pipeline.defs.clean import CLEAN_KEYS
from pinterest_pipeline.defs.freshness import expected_partition


def test_deadline_is_one_hour_after_the_nightly_run():
    assert expected_partition(datetime(2026, 11, 26, 0, 59, tzinfo=UTC)) == "2026-11-24"
    assert expected_partition(datetime(2026, 11, 26, 1, 0, tzinfo=UTC)) == "2026-11-25"


def test_missing_partition_fails_and_materialized_one_passes():
    now = datetime.now(UTC)
    expected = expected_partition(now)
    job = defs.resolve_job_def("freshness")
    with dg.instance_for_test() as instance:
        for kind, dt in (("pin", expected), ("geo", str((now - timedelta(days=5)).date()))):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(CLEAN_KEYS[kind], partition=dt))
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    found = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert found["pin"].passed
    assert not found["geo"].passed and not found["user"].passed
    assert found["geo"].metadata["expected_partition"].value == expected
    assert found["user"].metadata["latest_partition"].value == "none"
    assert defs.resolve_schedule_def("freshness_at_1am_utc").cron_schedule == "0 1 * * *"


def test_the_runs_it_watches_do_not_run_it():
    for name in ("nightly", "clean"):
        checks = {k.name for k in defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys}
        assert "schema" in checks and "yesterday_cleaned" not in checks, name
