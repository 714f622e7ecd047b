"""The nightly schedule: at 00:00 UTC, yesterday's clean partitions, then the insights."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from pinterest_pipeline.defs.jobs import nightly_job


def yesterday(scheduled: "dg.ScheduleEvaluationContext") -> str:
    return (scheduled.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")


@dg.schedule(
    name="nightly_at_midnight_utc",
    job=nightly_job,
    cron_schedule="0 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 00:00 UTC: clean yesterday's landing date, then the insights.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    dt = yesterday(context)
    return dg.RunRequest(run_key=f"nightly-{dt}", partition_key=dt)
