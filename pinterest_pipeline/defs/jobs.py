"""Jobs: the nightly run (a date's clean partitions, then the insights) and its parts.

Local runs use the in-process executor, so every asset of a run shares one
SparkSession (one JVM).
"""

from __future__ import annotations

import dagster as dg

from pinterest_pipeline.defs.clean import clean_tables
from pinterest_pipeline.defs.freshness import clean_freshness
from pinterest_pipeline.defs.insights import insight_tables
from pinterest_pipeline.defs.report import insights_report

#: yesterday_cleaned runs on its own schedule (freshness_at_1am_utc), not inside the runs it watches.
FRESHNESS = dg.AssetSelection.checks(clean_freshness)

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.assets(clean_tables, insight_tables, insights_report) - FRESHNESS,
    executor_def=dg.in_process_executor,
    description="Clean one landing date (pin, geo, user), check it, then rebuild the nine insights "
    "and the report.",
)

clean_job = dg.define_asset_job(
    "clean",
    selection=dg.AssetSelection.assets(clean_tables) - FRESHNESS,
    executor_def=dg.in_process_executor,
    description="Clean one landing date (pin, geo, user) and check it.",
)

insights_job = dg.define_asset_job(
    "insights",
    selection=dg.AssetSelection.assets(insight_tables, insights_report),
    executor_def=dg.in_process_executor,
    description="Rebuild the nine insight tables from all clean partitions, then the report.",
)
