"""Pinterest pipeline: the nightly Databricks job, as an Amazon MWAA (Airflow 3.2) DAG.

A compatibility path for teams that run Airflow instead of Dagster. It submits
the same Databricks entrypoint that the Dagster prod deployment runs
(``pinterest_pipeline.databricks.entrypoint``, console script
``pinterest-pipeline-databricks`` of the ``pinterest-pipeline`` wheel), once per
stage, so ``clean`` and ``insights`` can be retried separately.

Target: Amazon MWAA, Apache Airflow 3.2.1 (Python 3.12), the newest version
MWAA runs as of late 2026; pins in ``infra/mwaa/requirements.txt``, reasons in
``infra/mwaa/README.md``.

Nothing is read from the metadata database or the network when this file is
parsed: the Databricks connection id, the wheel, the job cluster and the
pipeline's URIs come from the JSON Variable ``pinterest_pipeline`` through Jinja
templates rendered when a task runs. Credentials live only in the Airflow
Connection (``databricks_default`` unless the Variable names another one).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

DAG_ID = "pinterest_pipeline_nightly"

# --- the contract with the package (infra/mwaa/README.md, "Contract with the package")
PACKAGE_NAME = "pinterest_pipeline"  # distribution `pinterest-pipeline`, normalised
ENTRY_POINT = "pinterest-pipeline-databricks"  # -> pinterest_pipeline.databricks.entrypoint:main
STAGES = ("clean", "insights")

#: The Variable (JSON) holding every deployment-specific value.
CONFIG_VARIABLE = "pinterest_pipeline"
DEFAULT_CONN_ID = "databricks_default"
DEFAULT_TOPIC_PREFIX = "pinterest"
DEFAULT_TABLE_FORMAT = "delta"  # as the Dagster prod path (DatabricksCompute) writes
#: Keys the Variable must define; there is no safe default for where data lives.
REQUIRED_KEYS = ("wheel", "landing_uri", "warehouse_uri")
#: A small job cluster (Spark 4, as the package needs); override with `new_cluster`.
DEFAULT_NEW_CLUSTER: dict[str, Any] = {
    "spark_version": "17.3.x-scala2.13",
    "node_type_id": "m5d.large",
    "num_workers": 2,
    "data_security_mode": "SINGLE_USER",
}
RUN_TIMEOUT_SECONDS = 3 * 60 * 60

# The landing date a run processes. The schedule below is a *data interval*
# timetable, so a run fired at 2026-11-26 00:00 UTC covers [11-25, 11-26) and
# `data_interval_start | ds` is 2026-11-25 (for a scheduled run, that is also
# its logical date `ds`). Manual runs in Airflow 3 get the trigger time as their
# logical date, so `ds` would be *today* there; the data interval is still
# yesterday's, which is why the template uses it rather than `ds`. The `date`
# param overrides it for a manual re-run of one day.
LANDING_DATE = "{{ params.date or (data_interval_start | ds) }}"
CONFIG = f"var.json.get('{CONFIG_VARIABLE}', {{}})"


def pipeline_config(cfg: Any) -> dict[str, Any]:
    """The Variable's JSON with defaults filled in; a clear error when it is incomplete."""
    if not isinstance(cfg, dict):
        raise TypeError(f"Airflow Variable {CONFIG_VARIABLE!r} must be a JSON object, got {cfg!r}")
    missing = [key for key in REQUIRED_KEYS if not cfg.get(key)]
    if missing:
        raise ValueError(
            f"Airflow Variable {CONFIG_VARIABLE!r} lacks {', '.join(missing)}; "
            "see infra/mwaa/README.md (Variables and Connection)"
        )
    if "existing_cluster_id" in cfg:
        raise ValueError(
            "existing_cluster_id is not supported: each stage runs on its own job cluster "
            "so that the PINTEREST_* environment can be set per run (use `new_cluster`)"
        )
    return {
        "databricks_conn_id": DEFAULT_CONN_ID,
        "topic_prefix": DEFAULT_TOPIC_PREFIX,
        "table_format": DEFAULT_TABLE_FORMAT,
        "new_cluster": DEFAULT_NEW_CLUSTER,
        **cfg,
    }


def pipeline_env(cfg: Any) -> dict[str, str]:
    """The environment the entrypoint reads (pinterest_pipeline/settings.py)."""
    cfg = pipeline_config(cfg)
    return {
        "PINTEREST_DEPLOYMENT": "prod",
        "PINTEREST_LANDING_URI": str(cfg["landing_uri"]),
        "PINTEREST_WAREHOUSE_URI": str(cfg["warehouse_uri"]),
        "PINTEREST_TOPIC_PREFIX": str(cfg["topic_prefix"]),
        "PINTEREST_TABLE_FORMAT": str(cfg["table_format"]),
    }


def job_cluster(cfg: Any) -> dict[str, Any]:
    """The Variable's `new_cluster` with the pipeline's environment added to spark_env_vars."""
    cluster = copy.deepcopy(pipeline_config(cfg)["new_cluster"])
    cluster["spark_env_vars"] = {**(cluster.get("spark_env_vars") or {}), **pipeline_env(cfg)}
    return cluster


def submit_run_json(stage: str) -> dict[str, Any]:
    """The runs/submit payload of one stage: one Databricks task on one job cluster."""
    parameters = ["--stage", stage]
    if stage == "clean":
        parameters += ["--date", LANDING_DATE]
    return {
        "run_name": f"{DAG_ID}.{stage} {LANDING_DATE}",
        "timeout_seconds": RUN_TIMEOUT_SECONDS,
        "tasks": [
            {
                "task_key": stage,
                "python_wheel_task": {
                    "package_name": PACKAGE_NAME,
                    "entry_point": ENTRY_POINT,
                    "parameters": parameters,
                },
                "libraries": [{"whl": f"{{{{ pipeline_config({CONFIG})['wheel'] }}}}"}],
                "new_cluster": f"{{{{ job_cluster({CONFIG}) }}}}",
            }
        ],
    }


DOC_MD = """
### Pinterest pipeline, nightly (Databricks)

Every day at **00:00 UTC** this DAG processes **yesterday's** landing date
(`dt=YYYY-MM-DD` of `topics/<prefix>.{pin,geo,user}/`), exactly like the Dagster
schedule `nightly_at_midnight_utc`:

1. `clean` - Databricks run of `pinterest-pipeline-databricks --stage clean --date <day>`:
   clean + quarantine tables of that day, with their checks.
2. `insights` - `pinterest-pipeline-databricks --stage insights`: the nine insight
   tables over all cleaned partitions.

Each task is one Databricks run on its own job cluster; retry either one on its own
(clear the task). To re-run one day by hand, trigger with the `date` param
(`YYYY-MM-DD`); empty means the run's data interval start (yesterday).
Configuration: Airflow Variable `pinterest_pipeline` (JSON) and the Databricks
connection it names; see `infra/mwaa/README.md`.
"""

with DAG(
    dag_id=DAG_ID,
    description="Nightly: clean yesterday's landing date on Databricks, then the nine insights",
    doc_md=DOC_MD,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=8),
    tags=["pinterest", "databricks", "nightly", "mwaa"],
    params={
        "date": Param(
            "",
            type="string",
            pattern=r"^(\d{4}-\d{2}-\d{2})?$",
            description="Landing date YYYY-MM-DD to clean; empty = data interval start (yesterday)",
        )
    },
    user_defined_macros={"pipeline_config": pipeline_config, "job_cluster": job_cluster},
    render_template_as_native_obj=True,  # the cluster macro renders to a dict, not its repr
    default_args={
        "owner": "data-platform",
        "depends_on_past": False,
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=4),
    },
) as dag:
    clean, insights = (
        DatabricksSubmitRunOperator(
            task_id=stage,
            databricks_conn_id=f"{{{{ pipeline_config({CONFIG})['databricks_conn_id'] }}}}",
            json=submit_run_json(stage),
            polling_period_seconds=30,
            databricks_retry_limit=5,
            databricks_retry_delay=10,
            wait_for_termination=True,
            deferrable=True,  # waits in the triggerer, not in a worker slot
        )
        for stage in STAGES
    )
    clean >> insights
