"""The code location: builds Definitions, nothing else."""

import warnings

import dagster as dg

from pinterest_pipeline.defs.clean import clean_tables
from pinterest_pipeline.defs.freshness import clean_freshness, freshness_job, freshness_schedule
from pinterest_pipeline.defs.insights import insight_tables
from pinterest_pipeline.defs.jobs import clean_job, insights_job, nightly_job
from pinterest_pipeline.defs.raw import landing_sensor, raw_specs
from pinterest_pipeline.defs.report import insights_report
from pinterest_pipeline.defs.resources import build_resources
from pinterest_pipeline.defs.schedules import nightly_schedule

with warnings.catch_warnings():  # code references are a beta API in Dagster 1.13
    warnings.simplefilter("ignore", dg.BetaWarning)
    assets = dg.with_source_code_references(
        [*raw_specs, clean_tables, insight_tables, insights_report])

defs = dg.Definitions(
    assets=assets,
    asset_checks=[clean_freshness],
    jobs=[nightly_job, clean_job, insights_job, freshness_job],
    schedules=[nightly_schedule, freshness_schedule],
    sensors=[landing_sensor],
    resources=build_resources(),
)
