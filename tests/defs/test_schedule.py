from datetime import datetime, timezone

import dagster as dg

from pinterest_pipeline.definitions import defs
from pinterest_pipeline.defs.schedules import nightly_schedule


def test_schedule_is_midnight_utc_and_running_by_default():
    schedule = defs.resolve_schedule_def("nightly_at_midnight_utc")
    assert schedule.cron_schedule == "0 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "nightly"


def test_midnight_tick_asks_for_yesterdays_partition():
    tick = datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    request = nightly_schedule(context)
    assert request.partition_key == "2026-11-25"
    assert request.run_key == "nightly-2026-11-25"


def test_tick_on_new_year_crosses_the_year():
    tick = datetime(2025, 1, 1, 0, 0, tzinfo=timezone.utc)
    request = nightly_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2024-12-31"
