"""Resources of the code location, chosen by the deployment in one place.

``PINTEREST_DEPLOYMENT=local`` (default): embedded Spark (or Spark Connect when
``PINTEREST_SPARK_REMOTE`` is set), landing and warehouse in local folders.
``subprocess``: the same, but each stage runs in a child process launched
through Dagster Pipes (the Databricks entrypoint, on local Spark or Connect).
``prod``: each stage is one Databricks job run submitted through
dagster-databricks Pipes; landing and warehouse are cloud URIs, tables Delta.
Every value comes from an environment variable through ``EnvVar``; the
defaults of :mod:`pinterest_pipeline.settings` are filled in first, so the UI
shows where each value came from.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import dagster as dg
from pyspark.sql import SparkSession

from pinterest_pipeline import settings, stages
from pinterest_pipeline.defs.metadata import stage_events
from pinterest_pipeline.spark import JIT_CONF, get_session
from pinterest_pipeline.stages import Locations

StageEvent = dg.MaterializeResult | dg.AssetCheckResult


class ComputeResource(Protocol):
    """Where a stage runs; the assets only ever talk to this (resource key ``compute``)."""

    def clean(self, context: dg.AssetExecutionContext, kinds: Sequence[str], dt: str) -> Iterator[StageEvent]:
        """Clean ``kinds`` for landing date ``dt``; yield materializations and check results."""

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str],
                 skip: Mapping[str, Sequence[str]] | None = None) -> Iterator[StageEvent]:
        """Build the named insight tables without the clean dates in ``skip``; yield events."""


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

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str],
                 skip: Mapping[str, Sequence[str]] | None = None) -> Iterator[StageEvent]:
        context.log.info(f"computing {len(names)} insight tables: {', '.join(names)}")
        loc = self.pipeline.locations()
        for result in stages.build_insights(self.spark.session(), names, loc, skip):
            yield from stage_events(context, result)


ENTRYPOINT_MODULE = "pinterest_pipeline.databricks.entrypoint"
WHEEL_PACKAGE = "pinterest_pipeline"
WHEEL_ENTRY_POINT = "pinterest-pipeline-databricks"


def stage_parameters(stage: str, *, dt: str | None = None, selected: Sequence[str] = ()) -> list[str]:
    """The entrypoint's parameters for one stage invocation (only the selected kinds/names)."""
    if stage == "clean":
        return ["--stage", "clean", "--date", str(dt), "--kinds", ",".join(selected)]
    return ["--stage", "insights", "--names", ",".join(selected)]


def location_env(loc: Locations) -> dict[str, str]:
    """Where the entrypoint reads and writes, as its environment variables."""
    return {
        "PINTEREST_LANDING_URI": loc.landing_uri,
        "PINTEREST_WAREHOUSE_URI": loc.warehouse_uri,
        "PINTEREST_TOPIC_PREFIX": loc.topic_prefix,
        "PINTEREST_TABLE_FORMAT": loc.table_format,
    }


class PipesCompute(dg.ConfigurableResource):
    """Runs each stage invocation as one external process speaking Dagster Pipes.

    The process is ``pinterest-pipeline-databricks`` (the entrypoint module); it
    reports one materialization per asset and one result per check, which are
    yielded here as the multi-asset's events. Subclasses only say how to launch it.
    """

    pipeline: PipelineConfig

    def launch(
        self, context: dg.AssetExecutionContext, parameters: list[str], label: str
    ) -> dg.PipesClientCompletedInvocation:
        raise NotImplementedError

    def clean(self, context: dg.AssetExecutionContext, kinds: Sequence[str], dt: str) -> Iterator[StageEvent]:
        context.log.info(f"cleaning {', '.join(kinds)} for dt={dt} in one external run")
        params = stage_parameters("clean", dt=dt, selected=kinds)
        yield from self._events(context, self.launch(context, params, f"clean dt={dt}"))

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str],
                 skip: Mapping[str, Sequence[str]] | None = None) -> Iterator[StageEvent]:
        if skip:
            context.log.warning("the external run reads every clean date, also those whose "
                                f"blocking check failed: {dict(skip)}")
        context.log.info(f"computing {len(names)} insight tables in one external run: {', '.join(names)}")
        params = stage_parameters("insights", selected=names)
        yield from self._events(context, self.launch(context, params, "insights"))

    @staticmethod
    def _events(context: dg.AssetExecutionContext, invocation) -> Iterator[StageEvent]:
        # No implicit materializations: an asset the job did not report fails the step.
        for result in invocation.get_results(implicit_materializations=False):
            if isinstance(result, dg.AssetCheckResult):
                key = dg.AssetCheckKey(result.asset_key, result.check_name)
                if key not in context.selected_asset_check_keys:
                    continue
            yield result


class SubprocessCompute(PipesCompute):
    """Each stage in a child Python process (``PipesSubprocessClient``): local Spark or Connect."""

    spark: SparkResource
    python: str = ""

    def launch(self, context, parameters, label):
        env = {
            **location_env(self.pipeline.locations()),
            "PINTEREST_SPARK_MASTER": self.spark.master,
            "PINTEREST_SPARK_REMOTE": self.spark.remote,
        }
        command = [self.python or sys.executable, "-m", ENTRYPOINT_MODULE, *parameters]
        return dg.PipesSubprocessClient(env=env).run(context=context, command=command)


class DatabricksCompute(PipesCompute):
    """Each stage invocation is one Databricks job run (python_wheel_task), through Pipes.

    Credentials are not configuration: :meth:`workspace_client` uses the SDK's
    default authentication (``DATABRICKS_HOST`` + ``DATABRICKS_TOKEN``, a
    profile, OAuth, ...). Nothing secret goes into the job payload.
    """

    wheel: str
    cluster_id: str = ""
    spark_version: str = "17.3.x-scala2.13"
    node_type: str = "i3.xlarge"
    num_workers: int = 1
    pipes_volume: str = ""
    poll_interval_seconds: int = 10

    def workspace_client(self):
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient()

    def cluster_spec(self, env: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "spark_version": self.spark_version,
            "node_type_id": self.node_type,
            "num_workers": self.num_workers,
            "spark_env_vars": env,
            # The cleaning's generated code is large: let the JIT compile it (spark.py).
            "spark_conf": dict(JIT_CONF),
        }
        if self.num_workers == 0:
            spec["spark_conf"].update({
                "spark.databricks.cluster.profile": "singleNode",
                "spark.master": "local[*]",
            })
            spec["custom_tags"] = {"ResourceClass": "SingleNode"}
        return spec

    def task(self, parameters: list[str]):
        """The one task of a run: the entrypoint of this project's wheel."""
        from databricks.sdk.service import jobs

        if not self.wheel:
            raise ValueError("PINTEREST_DATABRICKS_WHEEL is not set: build the wheel (make wheel), "
                             "upload it to a UC volume or DBFS and set its path (docs/deploy.md)")
        loc = self.pipeline.locations()
        task: dict[str, Any] = {
            "task_key": "pinterest_" + parameters[1],
            "python_wheel_task": {
                "package_name": WHEEL_PACKAGE,
                "entry_point": WHEEL_ENTRY_POINT,
                "parameters": list(parameters),
            },
            "libraries": [{"whl": self.wheel}],
        }
        if self.cluster_id:
            # A running cluster's environment cannot change per run: locations go as options.
            task["existing_cluster_id"] = self.cluster_id
            task["python_wheel_task"]["parameters"] += [
                "--landing-uri", loc.landing_uri, "--warehouse-uri", loc.warehouse_uri,
                "--topic-prefix", loc.topic_prefix, "--table-format", loc.table_format,
            ]
        else:
            env = {**location_env(loc), "PINTEREST_DEPLOYMENT": "prod"}
            task["new_cluster"] = self.cluster_spec(env)
        return jobs.SubmitTask.from_dict(task)

    def pipes_client(self):
        from dagster_databricks.pipes import (
            PipesDatabricksClient,
            PipesDbfsContextInjector,
            PipesDbfsMessageReader,
            PipesUnityCatalogVolumesContextInjector,
            PipesUnityCatalogVolumesMessageReader,
        )

        client = self.workspace_client()
        interval = max(1, self.poll_interval_seconds)
        if self.pipes_volume:
            volume = self.pipes_volume.rstrip("/")
            injector = PipesUnityCatalogVolumesContextInjector(client=client, volume_path=volume)
            reader = PipesUnityCatalogVolumesMessageReader(client=client, volume_path=volume,
                                                           interval=interval)
        else:  # a temporary folder in DBFS /tmp
            injector = PipesDbfsContextInjector(client=client)
            reader = PipesDbfsMessageReader(client=client, interval=interval)
        return PipesDatabricksClient(
            client=client,
            context_injector=injector,
            message_reader=reader,
            poll_interval_seconds=self.poll_interval_seconds,
        )

    def launch(self, context, parameters, label):
        return self.pipes_client().run(
            context=context,
            task=self.task(parameters),
            submit_args={"run_name": f"pinterest-pipeline {label}"},
        )


def table_format(deployment: str) -> str:
    return settings.get("PINTEREST_TABLE_FORMAT") or ("delta" if deployment == "prod" else "parquet")


def pipeline_config(fmt: str = "parquet") -> PipelineConfig:
    return PipelineConfig(
        landing_uri=dg.EnvVar("PINTEREST_LANDING_URI"),
        warehouse_uri=dg.EnvVar("PINTEREST_WAREHOUSE_URI"),
        topic_prefix=dg.EnvVar("PINTEREST_TOPIC_PREFIX"),
        table_format=fmt,
    )


def spark_resource() -> SparkResource:
    return SparkResource(
        master=dg.EnvVar("PINTEREST_SPARK_MASTER"), remote=dg.EnvVar("PINTEREST_SPARK_REMOTE")
    )


def local_resources() -> dict[str, dg.ConfigurableResource]:
    return {"compute": LocalCompute(spark=spark_resource(), pipeline=pipeline_config(table_format("local")))}


def subprocess_resources() -> dict[str, dg.ConfigurableResource]:
    pipeline = pipeline_config(table_format("subprocess"))
    return {"compute": SubprocessCompute(spark=spark_resource(), pipeline=pipeline)}


def prod_problems() -> list[str]:
    """What is missing for ``prod`` (checked when the code location loads)."""
    problems = []
    for env in ("PINTEREST_LANDING_URI", "PINTEREST_WAREHOUSE_URI"):
        value = settings.get(env)
        if "://" not in value and not value.startswith(("dbfs:/", "/Volumes/")):
            problems.append(f"{env}={value!r} is not visible to a Databricks cluster; "
                            "use s3://bucket/prefix (or dbfs:/..., /Volumes/...)")
    if not settings.get("PINTEREST_DATABRICKS_WHEEL"):
        problems.append("PINTEREST_DATABRICKS_WHEEL is not set (make wheel, upload, set its path)")
    return problems


def prod_resources() -> dict[str, dg.ConfigurableResource]:
    problems = prod_problems()
    if problems:
        raise ValueError("PINTEREST_DEPLOYMENT=prod: " + "; ".join(problems) + " (see docs/deploy.md)")
    compute = DatabricksCompute(
        pipeline=pipeline_config(table_format("prod")),
        wheel=dg.EnvVar("PINTEREST_DATABRICKS_WHEEL"),
        cluster_id=settings.get("DATABRICKS_CLUSTER_ID"),
        spark_version=dg.EnvVar("PINTEREST_DATABRICKS_SPARK_VERSION"),
        node_type=dg.EnvVar("PINTEREST_DATABRICKS_NODE_TYPE"),
        num_workers=dg.EnvVar.int("PINTEREST_DATABRICKS_WORKERS"),
        pipes_volume=settings.get("PINTEREST_DATABRICKS_PIPES_VOLUME"),
        poll_interval_seconds=dg.EnvVar.int("PINTEREST_DATABRICKS_POLL_SECONDS"),
    )
    return {"compute": compute}


DEPLOYMENTS = {"local": local_resources, "subprocess": subprocess_resources, "prod": prod_resources}


def build_resources(deployment: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of a deployment: ``local`` (default), ``subprocess`` or ``prod``."""
    deployment = deployment or settings.get("PINTEREST_DEPLOYMENT")
    if deployment not in DEPLOYMENTS:
        raise ValueError(
            f"unknown PINTEREST_DEPLOYMENT {deployment!r}; expected one of {', '.join(DEPLOYMENTS)}"
        )
    return DEPLOYMENTS[deployment]()
