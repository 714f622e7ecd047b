"""Resources of the code location, chosen by the deployment in one place.

``PINTEREST_DEPLOYMENT=local`` (default): embedded Spark (or Spark Connect when
``PINTEREST_SPARK_REMOTE`` is set), landing and warehouse in local folders.
Every value comes from an environment variable through ``EnvVar``; the
defaults of :mod:`pinterest_pipeline.settings` are filled in first, so the UI
shows where each value came from.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence

import dagster as dg
from pyspark.sql import SparkSession

from pinterest_pipeline import settings, stages
from pinterest_pipeline.defs.metadata import stage_events
from pinterest_pipeline.spark import get_session
from pinterest_pipeline.stages import Locations

StageEvent = dg.MaterializeResult | dg.AssetCheckResult


class ComputeResource(Protocol):
    """Where a stage runs; the assets only ever talk to this (resource key ``compute``)."""

    def clean(self, context: dg.AssetExecutionContext, kinds: Sequence[str], dt: str) -> Iterator[StageEvent]:
        """Clean ``kinds`` for landing date ``dt``; yield materializations and check results."""

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str]) -> Iterator[StageEvent]:
        """Build the named insight tables; yield materializations and check results."""


class SparkResource(dg.ConfigurableResource):
    """A SparkSession shared by every asset of a run (one JVM per run)."""

    master: str = "local[*]"
    remote: str = ""

    def session(self) -> SparkSession:
        return get_session(master=self.master, remote=self.remote)


class PipelineConfig(dg.ConfigurableResource):
    """Where the landing and the warehouse are, and the topic prefix."""

    landing_uri: str
    warehouse_uri: str
    topic_prefix: str
    table_format: str = "parquet"

    def locations(self) -> Locations:
        return Locations(
            landing_uri=settings.resolve_uri(self.landing_uri),
            warehouse_uri=settings.resolve_uri(self.warehouse_uri),
            topic_prefix=self.topic_prefix,
            table_format=self.table_format,
        )


class LocalCompute(dg.ConfigurableResource):
    """Runs a stage in this process on the shared SparkSession (local or Spark Connect)."""

    spark: SparkResource
    pipeline: PipelineConfig

    def clean(self, context: dg.AssetExecutionContext, kinds: Sequence[str], dt: str) -> Iterator[StageEvent]:
        session, loc = self.spark.session(), self.pipeline.locations()
        for kind in kinds:
            context.log.info(f"cleaning {kind} for dt={dt}")
            yield from stage_events(context, stages.clean_partition(session, kind, dt, loc))

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str]) -> Iterator[StageEvent]:
        context.log.info(f"computing {len(names)} insight tables: {', '.join(names)}")
        for result in stages.build_insights(self.spark.session(), names, self.pipeline.locations()):
            yield from stage_events(context, result)


def pipeline_config() -> PipelineConfig:
    return PipelineConfig(
        landing_uri=dg.EnvVar("PINTEREST_LANDING_URI"),
        warehouse_uri=dg.EnvVar("PINTEREST_WAREHOUSE_URI"),
        topic_prefix=dg.EnvVar("PINTEREST_TOPIC_PREFIX"),
    )


def local_resources() -> dict[str, dg.ConfigurableResource]:
    spark = SparkResource(
        master=dg.EnvVar("PINTEREST_SPARK_MASTER"), remote=dg.EnvVar("PINTEREST_SPARK_REMOTE")
    )
    return {"compute": LocalCompute(spark=spark, pipeline=pipeline_config())}


def build_resources(deployment: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of a deployment: ``local`` (default) or ``prod``."""
    deployment = deployment or settings.get("PINTEREST_DEPLOYMENT")
    if deployment == "local":
        return local_resources()
    raise ValueError(f"unknown PINTEREST_DEPLOYMENT {deployment!r}; expected local or prod")
