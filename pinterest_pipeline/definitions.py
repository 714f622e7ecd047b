"""The code location: builds Definitions, nothing else."""

import dagster as dg

from pinterest_pipeline import settings

settings.apply_defaults()

from pinterest_pipeline.defs.clean import clean_tables  # noqa: E402
from pinterest_pipeline.defs.insights import insight_tables  # noqa: E402
from pinterest_pipeline.defs.jobs import clean_job, insights_job, nightly_job  # noqa: E402
from pinterest_pipeline.defs.raw import landing_sensor, raw_specs  # noqa: E402
from pinterest_pipeline.defs.report import insights_report  # noqa: E402
from pinterest_pipeline.defs.resources import build_resources  # noqa: E402
from pinterest_pipeline.defs.schedules import nightly_schedule  # noqa: E402

defs = dg.Definitions(
    assets=[*raw_specs, clean_tables, insight_tables, insights_report],
    jobs=[nightly_job, clean_job, insights_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor],
    resources=build_resources(),
)
