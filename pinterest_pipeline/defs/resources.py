"""Resources of the code location, chosen by the deployment in one place.

``PINTEREST_DEPLOYMENT=local`` (default): embedded Spark (or Spark Connect when
``PINTEREST_SPARK_REMOTE`` is set), landing and warehouse in local folders.
``subprocess``: the same, but each stage runs in a child process launched
through Dagster Pipes (the Databricks entrypoint, on local Spark or Connect).
``prod``: each stage is one Databricks job run submitted through
dagster-databricks Pipes; landing and warehouse are cloud URIs, tables Delta.
A value whose environment variable is set comes through ``EnvVar`` (the UI
shows where it came from); an unset one is its default from
:mod:`pinterest_pipeline.settings`. Spark is dagster-pyspark's
``PySparkResource`` (local, or Spark Connect through ``spark.remote``), whose
session comes from :func:`pinterest_pipeline.spark.session_from_config`; the
landing on ``s3://`` is reached through dagster-aws' ``S3Resource``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_pyspark import PySparkResource

from pinterest_pipeline import settings, stages
from pinterest_pipeline.databricks import entrypoint
from pinterest_pipeline.dates import landed
from pinterest_pipeline.defs.metadata import selected_events, stage_events
from pinterest_pipeline.ingest.landing import LandingStore, S3Landing, open_landing
from pinterest_pipeline.spark import JIT_CONF, session_from_config, spark_config
from pinterest_pipeline.stages import Locations

StageEvent = dg.MaterializeResult | dg.AssetCheckResult


class ComputeResource(dg.ConfigurableResource):
    """Where a stage runs; the assets only ever talk to this (resource key ``compute``).

    Every implementation yields the same events for the same stage: one
    materialization per asset, then its selected check results.
    """

    def run_stage(
        self, context: dg.AssetExecutionContext, stage: str, selected: Sequence[str], dt: str | None,
        skip: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterable[StageEvent]:
        """One stage's events; ``skip``: clean dates per kind the insights leave out."""
        raise NotImplementedError

    def clean(self, context: dg.AssetExecutionContext, kinds: Sequence[str], dt: str) -> Iterator[StageEvent]:
        """Clean ``kinds`` for landing date ``dt``; yield materializations and check results."""
        yield from selected_events(context, self.run_stage(context, "clean", kinds, dt))

    def insights(self, context: dg.AssetExecutionContext, names: Sequence[str],
                 skip: Mapping[str, Sequence[str]] | None = None) -> Iterator[StageEvent]:
        """Build the named insight tables without the clean dates in ``skip``; yield events."""
        yield from selected_events(context, self.run_stage(context, "insights", names, None, skip))


def env(name: str) -> Any:
    """A setting for a resource field: ``EnvVar`` when its variable is set, else its default."""
    return dg.EnvVar(name) if os.environ.get(name) else settings.get(name)


def env_int(name: str) -> Any:
    return dg.EnvVar.int(name) if os.environ.get(name) else int(settings.get(name))


class LandingResource(dg.ConfigurableResource):
    """The landing zone (a folder or ``s3://bucket/prefix``) and the topic prefix.

    The landing sensor and ``pinterest-pipeline run`` list it through this;
    on ``s3://`` the client is dagster-aws' ``S3Resource`` (endpoint, region and
    credentials as boto3 finds them, ``AWS_ENDPOINT_URL_S3`` included).
    """

    landing_uri: str
    topic_prefix: str
    s3: S3Resource

    def uri(self) -> str:
        return settings.resolve_uri(self.landing_uri)

    def store(self) -> LandingStore:
        uri = self.uri()
        if uri.startswith("s3://"):
            return S3Landing(uri, client=self.s3.get_client())
        return open_landing(uri)


class PipelineConfig(dg.ConfigurableResource):
    """Where the landing and the warehouse are, the topic prefix and the table format."""

    landing: LandingResource
    warehouse_uri: str
    table_format: str = "parquet"

    def locations(self) -> Locations:
        return Locations(
            landing_uri=self.landing.uri(),
            warehouse_uri=settings.resolve_uri(self.warehouse_uri),
            topic_prefix=self.landing.topic_prefix,
            table_format=self.table_format,
        )


class SparkResource(PySparkResource):
    """dagster-pyspark's resource, with the session the rest of the product builds.

    :func:`~pinterest_pipeline.spark.session_from_config` starts a local JVM
    with its stderr relayed without the start-up noise, and sets the session
    settings also on a session that existed already.
    """

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._spark_session = session_from_config(self.spark_config, record_classes=True)


class LocalCompute(ComputeResource):
    """Runs a stage in this process on the shared SparkSession (local or Spark Connect)."""

    spark: PySparkResource
    pipeline: PipelineConfig

    def run_stage(self, context, stage, selected, dt, skip=None):
        results = stages.run_stage(
            self.spark.spark_session, stage, self.pipeline.locations(), selected, dt,
            log=context.log.info, skip=skip,
        )
        for result in results:
            yield from stage_events(result)


ENTRYPOINT_MODULE = "pinterest_pipeline.databricks.entrypoint"
WHEEL_PACKAGE = "pinterest_pipeline"
WHEEL_ENTRY_POINT = "pinterest-pipeline-databricks"


class PipesCompute(ComputeResource):
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

    def run_stage(self, context, stage, selected, dt, skip=None):
        if skip:
            context.log.warning("the external run reads every clean date, also those whose "
                                f"blocking check failed: {dict(skip)}")
        context.log.info(f"{stage} {', '.join(selected)} in one external run")
        label = f"clean dt={dt}" if stage == "clean" else stage
        invocation = self.launch(context, entrypoint.command_line(stage, selected, dt), label)
        # No implicit materializations: an asset the job did not report fails the step.
        return invocation.get_results(implicit_materializations=False)


class SubprocessCompute(PipesCompute):
    """Each stage in a child Python process (``PipesSubprocessClient``): local Spark or Connect."""

    spark_master: str = "local[*]"
    spark_remote: str = ""
    python: str = ""

    def launch(self, context, parameters, label):
        env = {
            **entrypoint.location_env(self.pipeline.locations()),
            "PINTEREST_SPARK_MASTER": self.spark_master,
            "PINTEREST_SPARK_REMOTE": self.spark_remote,
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
            task["python_wheel_task"]["parameters"] += entrypoint.location_options(loc)
        else:
            env = {**entrypoint.location_env(loc), "PINTEREST_DEPLOYMENT": "prod"}
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


def landing_resource() -> LandingResource:
    return LandingResource(
        landing_uri=env("PINTEREST_LANDING_URI"), topic_prefix=env("PINTEREST_TOPIC_PREFIX"), s3=S3Resource()
    )


def landed_dates() -> list[str]:
    """Every landed ``dt`` over the three topics, listed through the ``landing`` resource."""
    with landing_resource().process_config_and_initialize_cm() as landing:
        found = landed(landing.store(), landing.topic_prefix)
    return sorted({dt for dates in found.values() for dt in dates})


def pipeline_config(deployment: str) -> PipelineConfig:
    return PipelineConfig(
        landing=landing_resource(),
        warehouse_uri=env("PINTEREST_WAREHOUSE_URI"),
        table_format=settings.table_format(deployment),
    )


def local_resources() -> dict[str, dg.ConfigurableResource]:
    config = spark_config(settings.get("PINTEREST_SPARK_MASTER"), settings.get("PINTEREST_SPARK_REMOTE"))
    spark = SparkResource(spark_config=config)
    return {"compute": LocalCompute(spark=spark, pipeline=pipeline_config("local"))}


def subprocess_resources() -> dict[str, dg.ConfigurableResource]:
    compute = SubprocessCompute(
        pipeline=pipeline_config("subprocess"),
        spark_master=env("PINTEREST_SPARK_MASTER"),
        spark_remote=env("PINTEREST_SPARK_REMOTE"),
    )
    return {"compute": compute}


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
        pipeline=pipeline_config("prod"),
        wheel=env("PINTEREST_DATABRICKS_WHEEL"),
        cluster_id=env("DATABRICKS_CLUSTER_ID"),
        spark_version=env("PINTEREST_DATABRICKS_SPARK_VERSION"),
        node_type=env("PINTEREST_DATABRICKS_NODE_TYPE"),
        num_workers=env_int("PINTEREST_DATABRICKS_WORKERS"),
        pipes_volume=env("PINTEREST_DATABRICKS_PIPES_VOLUME"),
        poll_interval_seconds=env_int("PINTEREST_DATABRICKS_POLL_SECONDS"),
    )
    return {"compute": compute}


DEPLOYMENTS = {"local": local_resources, "subprocess": subprocess_resources, "prod": prod_resources}


def build_resources(deployment: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of a deployment: ``local`` (default), ``subprocess`` or ``prod``.

    ``compute`` runs the stages; ``landing`` is what the landing sensor lists.
    """
    deployment = deployment or settings.get("PINTEREST_DEPLOYMENT")
    if deployment not in DEPLOYMENTS:
        raise ValueError(
            f"unknown PINTEREST_DEPLOYMENT {deployment!r}; expected one of {', '.join(DEPLOYMENTS)}"
        )
    resources = DEPLOYMENTS[deployment]()
    return {**resources, "landing": resources["compute"].pipeline.landing}
