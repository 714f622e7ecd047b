"""The nightly schedule: at 00:00 UTC, yesterday's clean partitions, then the insights.

A quiet day (nothing landed for yesterday) is a skipped tick that says so,
not a run that fails or, worse, a green empty partition.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.defs.jobs import nightly_job
from pinterest_pipeline.defs.landing import missing_landing
from pinterest_pipeline.defs.partitions import FIRST_DATE
from pinterest_pipeline.defs.resources import LandingResource


def yesterday(scheduled: dg.ScheduleEvaluationContext) -> str:
    return (scheduled.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")


@dg.schedule(
    name="nightly_at_midnight_utc",
    job=nightly_job,
    cron_schedule="0 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 00:00 UTC: clean yesterday's landing date, then the insights. "
    f"Partitions: daily by landing date (UTC) from {FIRST_DATE}; each tick runs the partition "
    "of the day that just ended. A quiet day (nothing landed) is a skipped tick that says so.",
    metadata={"partitions": f"daily by landing date (UTC) from {FIRST_DATE}; "
              "each tick runs the partition of the day before"},
    tags={"layer": "nightly"},
)
def nightly_schedule(
    context: dg.ScheduleEvaluationContext, landing: LandingResource
) -> dg.RunRequest | dg.SkipReason:
    dt = yesterday(context)
    first = FIRST_DATE
    if dt < first:
        return dg.SkipReason(f"dt={dt} is before the first partition {first}: nothing to run")
    missing = missing_landing(contract.KINDS, dt, landing.store(), landing.topic_prefix)
    if len(missing) == len(contract.KINDS):
        return dg.SkipReason(f"quiet day: nothing landed for dt={dt} ({'; '.join(missing)}); no run")
    return dg.RunRequest(run_key=f"nightly-{dt}", partition_key=dt)
