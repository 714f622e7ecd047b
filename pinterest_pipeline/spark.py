"""One way to configure a SparkSession: embedded local mode or Spark Connect.

:func:`spark_config` is the builder configuration; the code location hands it
to dagster-pyspark's ``PySparkResource`` and everything else (the Pipes
entrypoint, the CLI, the tests) calls :func:`get_session`, which builds the same
session. Spark's own ``getOrCreate`` hands every caller in the process the
same session, so a run starts one JVM (or one Connect channel) however many
assets it computes. Nothing here imports Dagster (the entrypoint runs on
clusters without it).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from pyspark.sql import SparkSession

from pinterest_pipeline import settings

#: Settings every session gets: UTC everywhere, dt partitions read as strings.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}

#: JIT-compile Spark's large generated methods too: HotSpot skips methods over 8,000
#: bytecodes, which leaves the cleaning projections interpreted (2-3x slower). Job
#: clusters get the same options (``DatabricksCompute.cluster_spec``).
JIT_OPTION = "-XX:-DontCompileHugeMethods"
JIT_CONF = {
    "spark.driver.extraJavaOptions": JIT_OPTION,
    "spark.executor.extraJavaOptions": JIT_OPTION,
}

#: The embedded session's JVM uses the throughput collector: G1's concurrent marking threads
#: compete with the task threads for a laptop's few cores (measured on 2 cores: see
#: docs/benchmarks.md). Clusters keep their runtime's collector.
LOCAL_GC_OPTION = "-XX:+UseParallelGC"

#: Driver logging of local sessions: warnings only, without the per-run noise (see the file).
LOG4J2_OPTION = "-Dlog4j2.configurationFile=file:" + str(Path(__file__).with_name("log4j2.properties"))

#: Extra settings for the embedded local session (small data, laptop-sized).
LOCAL_CONF = {
    "spark.log.level": "WARN",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # AQE coalesces small shuffles; 16 keeps a million-row dedup in memory.
    "spark.sql.shuffle.partitions": "16",
    # Shuffle files stay on this machine (page cache): compressing them only costs CPU.
    "spark.shuffle.compress": "false",
    "spark.default.parallelism": "4",
    "spark.driver.memory": "2g",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC {JIT_OPTION} {LOCAL_GC_OPTION} {LOG4J2_OPTION}",
    "spark.executor.extraJavaOptions": f"-Duser.timezone=UTC {JIT_OPTION}",
}


def spark_config(master: str = "local[*]", remote: str = "", app_name: str = "pinterest-pipeline") -> dict[str, str]:
    """The builder configuration: ``remote`` (sc://host:port) if set, else local ``master``."""
    if remote:
        return {"spark.remote": remote, "spark.app.name": app_name, **SESSION_CONF}
    config = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.pyspark.python": sys.executable,
        **LOCAL_CONF,
        **SESSION_CONF,
    }
    extra = settings.get("PINTEREST_SPARK_JAVA_OPTIONS").strip()
    if extra:  # after ours, so the user's options win
        config["spark.driver.extraJavaOptions"] += " " + extra
    return config


def session_from_config(config: dict[str, str]) -> SparkSession:
    """The process's SparkSession for a :func:`spark_config` (as ``PySparkResource`` builds it)."""
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # also on a session that existed already
        spark.conf.set(key, value)
    return spark


def get_session(master: str = "local[*]", remote: str = "", app_name: str = "pinterest-pipeline") -> SparkSession:
    """The process's SparkSession: ``remote`` (sc://host:port) if set, else local ``master``."""
    return session_from_config(spark_config(master, remote, app_name))


def start_in_background(master: str = "local[*]", remote: str = "") -> threading.Thread:
    """Start the process's session in a daemon thread and return the thread.

    Launching the JVM takes seconds, and so does importing Dagster: ``run``
    starts the session first, so both happen at once. Whoever asks for the
    session later (``getOrCreate``) waits for this start and gets the same
    session; if the start fails, the later call fails with Spark's own error.
    """

    def start() -> None:
        try:
            get_session(master, remote)
        except Exception:  # noqa: BLE001, S110 - the caller's own getOrCreate reports it
            pass

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.start()
    return thread
