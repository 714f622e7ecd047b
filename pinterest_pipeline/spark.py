"""One way to configure a SparkSession: embedded local mode or Spark Connect.

:func:`spark_config` is the builder configuration; the code location hands it
to its ``PySparkResource`` (dagster-pyspark's) and everything else (the Pipes
entrypoint, the CLI, the tests) calls :func:`get_session`; both build the
session with :func:`session_from_config`. Spark's own ``getOrCreate`` hands
every caller in the process the same session, so a run starts one JVM (or one
Connect channel) however many assets it computes. A local JVM's output (its
stdout and stderr) reaches the user on stderr, without the lines the JVM prints
on every start (:data:`JVM_NOISE`).
Nothing here imports Dagster (the entrypoint runs on clusters without it).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from pinterest_pipeline import class_archive, settings

#: Settings every session gets: UTC everywhere, dt partitions read as strings.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}

#: Settings for queries over a few thousand rows (the nine statements, which merge the
#: insights' summaries): Spark evaluates their expressions without generating Java
#: for them. A statement's plan is small but new, and compiling its code costs more
#: than the rows it reads: the nine compiled about 110 classes (2.4 s) in a
#: 1,000,000-post ``run --all`` (docs/benchmarks.md). Not for tables of many rows:
#: the same settings made the refresh of the inputs (1,000,000 keys) 5 s slower.
SMALL_QUERY_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
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

#: The embedded session's JVM inlines less when it compiles with C2. A batch on a laptop is
#: short and its cores are few: the C2 compiler thread competes with the task threads, and
#: its cost grows with the size of what it inlines. On 2 cores, a 1,000,000-post
#: ``run --all`` spent 58 core-seconds compiling with HotSpot's defaults (15 levels,
#: 325-byte hot methods, 2,500-byte compiled callees) and 33 with these, and its tasks
#: did not get slower (docs/benchmarks.md). Clusters keep their runtime's defaults.
LOCAL_INLINING_OPTIONS = "-XX:MaxInlineLevel=6 -XX:FreqInlineSize=100 -XX:InlineSmallCode=1000"

#: The embedded session's JVM compiles the libraries that only plan a job (Janino, ASM,
#: ANTLR, Catalyst's analyzer and optimizer, Java serialization) with C1 only, by the
#: HotSpot compiler directives of ``jit_directives.json``; rows are still handled by
#: C2-compiled code. On 2 cores, a 1,000,000-post ``run --all`` spent 44 s in C2 compiles
#: with C2 for everything and 33 s with these, about 4 fewer core-seconds of compiler
#: threads (docs/benchmarks.md). Clusters keep their runtime's defaults.
LOCAL_JIT_DIRECTIVES_OPTION = (
    "-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=" + str(Path(__file__).with_name("jit_directives.json"))
)

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
    # What opening a file costs, in bytes of reading: Spark's 4 MB suits object stores.
    # A local file opens in about 0.3 ms of CPU (Hadoop copies its configuration for
    # each), and counting each landing file as 4 MB split 101,000 one-line files into
    # 3,157 tasks (146 s for 100,000 posts; 97 s with this) and the sink's 1,000-line
    # files of 1,000,000 posts into 101 tasks (about 2 s slower; docs/benchmarks.md).
    "spark.sql.files.openCostInBytes": str(64 * 1024),
    "spark.driver.memory": "2g",
    "spark.sql.adaptive.enabled": "true",
    # PySpark's DataFrame debugging records the Python call site of every function that
    # builds a column: four to six more JVM calls each. The cleaner's plans are thousands
    # of columns: without it they are built in about 60% of the time (pin, warm JVM: 0.6-0.7 s
    # against 1.0-1.1 s), and Spark's errors keep their message, without the Python line.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
    "spark.driver.extraJavaOptions": (
        f"-Duser.timezone=UTC {JIT_OPTION} {LOCAL_GC_OPTION} {LOCAL_INLINING_OPTIONS} "
        f"{LOCAL_JIT_DIRECTIVES_OPTION} {LOG4J2_OPTION}"
    ),
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


#: What the local JVM prints on every start that tells the user nothing: Spark's launcher
#: always adds ``--add-modules=jdk.incubator.vector`` and the JVM announces it on stderr;
#: HotSpot counts the directives of :data:`LOCAL_JIT_DIRECTIVES_OPTION` on stdout (one).
JVM_NOISE = frozenset({b"WARNING: Using incubator modules: jdk.incubator.vector",
                       b"1 compiler directives added"})

_LAUNCH_LOCK = threading.Lock()


def _relay_output(fd: int) -> None:
    """Copy the JVM's output (``fd``) to this process's stderr, without :data:`JVM_NOISE`."""
    writable = True
    with os.fdopen(fd, "rb") as lines:
        for line in lines:  # read to the end whatever happens, so the JVM never blocks on stderr
            if not writable or line.rstrip(b"\r\n") in JVM_NOISE:
                continue
            try:
                while line:  # fd 2 at the time of writing, as the JVM's own stderr would be
                    line = line[os.write(2, line):]
            except OSError:  # stderr closed (a pipe to `head`, say): drop the rest
                writable = False


def _launch_local_jvm(config: dict[str, str], record_classes: bool = False) -> None:
    """Start the local session's JVM with its output relayed through :func:`_relay_output`.

    Only for a local configuration (``spark.master``) and only when this process
    has no JVM yet; ``getOrCreate`` then uses this context. The relay thread reads
    from the start, so a JVM that fails to start still shows why. It maps the
    class-data archive (:mod:`class_archive`); without one, a session that runs
    the pipeline (``record_classes``) records it, so it holds every class a run loads.
    """
    from pyspark import SparkConf, SparkContext  # classic PySpark only (not on Connect clients)
    from pyspark.java_gateway import launch_gateway

    with _LAUNCH_LOCK:
        # SparkContext._gateway: the JVM of this process, once one was started (kept after stop()).
        if "spark.master" not in config or "spark.remote" in config or SparkContext._gateway is not None:
            return
        read, write = os.pipe()
        threading.Thread(target=_relay_output, args=(read,), name="jvm-output", daemon=True).start()
        archive, recording = class_archive.java_options(record_classes)
        if archive:  # Spark's classes mapped from the archive, or recorded into it at exit
            # first, so PINTEREST_SPARK_JAVA_OPTIONS (last) still wins (-Xshare:off, say)
            config = {**config, "spark.driver.extraJavaOptions":
                      f"{archive} {config.get('spark.driver.extraJavaOptions', '')}".strip()}
        conf = SparkConf(loadDefaults=False).setAll(config.items())
        try:
            # the JVM's stdout too: this process's stdout is its own (the CLI's results)
            gateway = launch_gateway(conf, popen_kwargs={"stdout": write, "stderr": write})
        except BaseException:
            if recording is not None:
                recording.finish(None)
            raise
        finally:
            os.close(write)  # the JVM holds its own copy; the relay ends when the JVM does
        if recording is not None:
            class_archive.finish_at_exit(recording, gateway.proc)
        SparkContext(conf=conf, gateway=gateway)


def session_from_config(config: dict[str, str], record_classes: bool = False) -> SparkSession:
    """The process's SparkSession for a :func:`spark_config` (as ``PySparkResource`` builds it).

    ``record_classes``: the session will run pipeline stages (see :func:`_launch_local_jvm`).
    """
    _launch_local_jvm(config, record_classes)
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # also on a session that existed already
        spark.conf.set(key, value)
    return spark


def get_session(master: str = "local[*]", remote: str = "", app_name: str = "pinterest-pipeline",
                record_classes: bool = False) -> SparkSession:
    """The process's SparkSession: ``remote`` (sc://host:port) if set, else local ``master``."""
    return session_from_config(spark_config(master, remote, app_name), record_classes)


@contextlib.contextmanager
def small_queries(spark: SparkSession) -> Iterator[None]:
    """Run the queries of the block with :data:`SMALL_QUERY_CONF`, then restore the session's values.

    The settings are the session's: nothing else may run on it meanwhile (the
    insights step runs alone). Where the session refuses them (a cluster that
    locks its configuration), the queries run as they would have.
    """
    previous: dict[str, str | None] = {}
    try:
        for key, value in SMALL_QUERY_CONF.items():
            previous[key] = spark.conf.get(key, None)
            spark.conf.set(key, value)
    except PySparkException:
        pass
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def start_in_background(master: str = "local[*]", remote: str = "") -> threading.Thread:
    """Start the process's session in a daemon thread and return the thread.

    Launching the JVM takes seconds, and so does importing Dagster: ``run``
    starts the session first, so both happen at once. Whoever asks for the
    session later (``getOrCreate``) waits for this start and gets the same
    session; if the start fails, the later call fails with Spark's own error.
    """

    def start() -> None:
        try:
            get_session(master, remote, record_classes=True)
        except Exception:  # noqa: BLE001, S110 - the caller's own getOrCreate reports it
            pass

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.start()
    return thread
