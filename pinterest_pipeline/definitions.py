"""The code location: builds Definitions, nothing else."""

import dagster as dg

from pinterest_pipeline.defs.clean import clean_tables
from pinterest_pipeline.defs.insights import insight_tables
from pinterest_pipeline.defs.jobs import clean_job, insights_job, nightly_job
from pinterest_pipeline.defs.raw import landing_sensor, raw_specs
from pinterest_pipeline.defs.report import insights_report
from pinterest_pipeline.defs.resources import build_resources
from pinterest_pipeline.defs.schedules import nightly_schedule

defs = dg.Definitions(
    assets=[*raw_specs, clean_tables, insight_tables, insights_report],
    jobs=[nightly_job, clean_job, insights_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor],
    resources=build_resources(),
)
