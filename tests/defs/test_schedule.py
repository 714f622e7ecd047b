from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from pinterest_pipeline.definitions import defs
from pinterest_pipeline.defs.resources import LandingResource
from pinterest_pipeline.defs.schedules import nightly_schedule
from tests.defs.test_sensor import land

RESOURCE: dict[str, LandingResource] = {}


@pytest.fixture
def landing(tmp_path):
    RESOURCE["landing"] = LandingResource(landing_uri=str(tmp_path / "landing"), topic_prefix="pinterest",
                                          s3=S3Resource())
    yield RESOURCE["landing"].store()
    RESOURCE.clear()


def tick(year, month, day):
    when = datetime(year, month, day, 0, 0, tzinfo=UTC)
    resource = RESOURCE.get("landing") or LandingResource(landing_uri="/nonexistent", topic_prefix="pinterest",
                                                          s3=S3Resource())
    with dg.build_schedule_context(scheduled_execution_time=when, resources={"landing": resource}) as context:
        return nightly_schedule(context)


def test_schedule_is_midnight_utc_and_running_by_default():
    schedule = defs.resolve_schedule_def("nightly_at_midnight_utc")
    assert schedule.cron_schedule == "0 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "nightly"
    assert "daily by landing date (UTC) from 2024-01-01" in schedule.metadata["partitions"].value


def test_midnight_tick_asks_for_yesterdays_partition(landing):
    land(landing, "pin", "2026-11-25", 0, 2)
    request = tick(2026, 11, 26)
    assert request.partition_key == "2026-11-25"
    assert request.run_key == "nightly-2026-11-25"


def test_tick_on_new_year_crosses_the_year(landing):
    land(landing, "user", "2024-12-31", 0, 1)
    assert tick(2025, 1, 1).partition_key == "2024-12-31"


def test_quiet_day_is_a_skip_that_says_so(landing):
    land(landing, "pin", "2026-11-24", 0, 2)
    skip = tick(2026, 11, 26)
    assert isinstance(skip, dg.SkipReason)
    assert "quiet day: nothing landed for dt=2026-11-25" in skip.skip_message
    assert "topics/pinterest.geo/dt=2026-11-25/*.json" in skip.skip_message


def test_tick_before_the_first_partition_skips():
    skip = tick(2024, 1, 1)
    assert isinstance(skip, dg.SkipReason) and "before the first partition 2024-01-01" in skip.skip_message
