"""Freshness of the clean tables: is yesterday's partition there after the nightly run?

``yesterday_cleaned`` runs every day at 01:00 UTC (schedule ``freshness_at_1am_utc``,
an hour after the nightly run starts). From 01:00 it expects the partition of the
day before; earlier in the day the one before that. A missing partition is a
failed check on the asset, whatever the reason (a failed run, a quiet day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from pinterest_pipeline.defs.clean import CLEAN_KEYS
from pinterest_pipeline.defs.partitions import FIRST_DATE

CHECK = "yesterday_cleaned"
DEADLINE_HOUR_UTC = 1


def expected_partition(now: datetime) -> str:
    """The latest date whose clean partition should exist at ``now``."""
    days = 1 if now.hour >= DEADLINE_HOUR_UTC else 2
    return (now.astimezone(UTC) - timedelta(days=days)).strftime("%Y-%m-%d")


@dg.multi_asset_check(
    name="clean_freshness",
    specs=[
        dg.AssetCheckSpec(CHECK, asset=key, description=f"{key.to_user_string()}: yesterday's "
                          f"partition exists from {DEADLINE_HOUR_UTC:02d}:00 UTC on (the nightly "
                          "run starts at 00:00).")
        for key in CLEAN_KEYS.values()
    ],
    can_subset=True,
)
def clean_freshness(context):
    expected = expected_partition(datetime.now(UTC))
    for check_key in context.selected_asset_check_keys:
        key = check_key.asset_key
        materialized = context.instance.get_materialized_partitions(key)
        passed = expected < FIRST_DATE or expected in materialized
        latest = max(materialized, default=None)
        yield dg.AssetCheckResult(
            asset_key=key, check_name=CHECK, passed=passed,
            description=f"dt={expected} " + ("is materialized" if passed else
                                             "is missing: the nightly run failed, was skipped "
                                             "(nothing landed) or has not run"),
            metadata={"expected_partition": expected, "latest_partition": latest or "none"},
        )


freshness_job = dg.define_asset_job(
    "freshness", selection=dg.AssetSelection.checks(clean_freshness),
    description="Is yesterday's clean partition there? (check yesterday_cleaned on clean/*)",
)

freshness_schedule = dg.ScheduleDefinition(
    name="freshness_at_1am_utc", job=freshness_job, cron_schedule="0 1 * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 01:00 UTC: check that yesterday's clean partitions exist.",
)
