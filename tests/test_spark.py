"""The embedded session's configuration (``spark.spark_config``) and its JVM's stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from pinterest_pipeline.spark import (
    JIT_OPTION,
    JVM_NOISE,
    LOCAL_GC_OPTION,
    LOCAL_INLINING_OPTIONS,
    LOCAL_JIT_DIRECTIVES_OPTION,
    spark_config,
)


def test_extra_java_options_come_after_the_defaults(monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_JAVA_OPTIONS", " -XX:TieredStopAtLevel=1 -Xss4m ")
    options = spark_config("local[2]")["spark.driver.extraJavaOptions"].split()
    assert options[-2:] == ["-XX:TieredStopAtLevel=1", "-Xss4m"]
    assert JIT_OPTION in options and LOCAL_GC_OPTION in options
    assert set(LOCAL_INLINING_OPTIONS.split()) <= set(options[:-2])


def test_no_extra_java_options_by_default(monkeypatch):
    monkeypatch.delenv("PINTEREST_SPARK_JAVA_OPTIONS", raising=False)
    options = spark_config("local[2]")["spark.driver.extraJavaOptions"].split()
    assert options[0] == "-Duser.timezone=UTC" and not any("TieredStopAtLevel" in o for o in options)


def test_spark_connect_sessions_take_no_local_jvm_options(monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
    config = spark_config(remote="sc://127.0.0.1:15002")
    assert config["spark.remote"] == "sc://127.0.0.1:15002"
    assert not any("JavaOptions" in key for key in config)


@pytest.mark.integration
def test_the_local_jvm_output_comes_through_on_stderr_without_the_start_up_noise():
    """Spark's launcher always adds the incubator vector module and the JVM announces it on
    stderr, HotSpot counts our compiler directives on stdout; the session's JVM output is
    relayed to stderr without those lines, and with everything else."""
    code = (
        "from pinterest_pipeline.spark import get_session\n"
        "spark = get_session('local[1]')\n"
        "spark._jvm.java.lang.System.err.println('said by the JVM')\n"
        "spark._jvm.java.lang.System.out.println('printed by the JVM')\n"
        "assert get_session('local[1]').range(3).count() == 3\n"
        "spark.stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "said by the JVM" in done.stderr and "printed by the JVM" in done.stderr
    assert not done.stdout, done.stdout
    assert not any(line.encode() in JVM_NOISE for line in done.stderr.splitlines()), done.stderr


def test_the_local_jvm_accepts_the_compiler_directives_and_counts_them_as_the_noise_says():
    """A directives file HotSpot cannot parse stops the JVM from starting at all."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    done = subprocess.run([java, *LOCAL_JIT_DIRECTIVES_OPTION.split(), "-version"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert [line.encode() for line in done.stdout.splitlines()] == [b"1 compiler directives added"]
    assert b"1 compiler directives added" in JVM_NOISE
    assert LOCAL_JIT_DIRECTIVES_OPTION in spark_config("local[2]")["spark.driver.extraJavaOptions"]


def test_local_sessions_build_plans_without_recording_python_call_sites(spark):
    """Each column function would otherwise cost several more JVM calls (spark.LOCAL_CONF)."""
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    assert not is_debugging_enabled()


def _run(query):
    """A fresh copy of ``query``: its rows, and whether its final plan ran generated code."""
    df = query.select("*")
    rows = sorted(df.collect())
    # Spark marks each operator of a whole-stage generated stage "*(<stage id>)"
    return rows, re.search(r"\*\(\d+\)", df._jdf.queryExecution().executedPlan().toString()) is not None


def test_small_queries_run_without_generated_code_and_restore_the_session(spark):
    from pyspark.sql import functions as F

    from pinterest_pipeline.spark import SMALL_QUERY_CONF, small_queries

    spark.conf.set("spark.sql.codegen.factoryMode", "CODEGEN_ONLY")  # a value the user set
    try:
        query = spark.range(1000).groupBy((F.col("id") % 7).alias("k")).agg(F.sum("id").alias("s"))
        expected, generated = _run(query)
        assert generated and len(expected) == 7
        with small_queries(spark):
            assert {k: spark.conf.get(k) for k in SMALL_QUERY_CONF} == SMALL_QUERY_CONF
            assert _run(query) == (expected, False)
        assert spark.conf.get("spark.sql.codegen.factoryMode") == "CODEGEN_ONLY"
        assert spark.conf.get("spark.sql.codegen.wholeStage") == "true"
        assert _run(query) == (expected, True)
    finally:
        spark.conf.unset("spark.sql.codegen.factoryMode")


def test_small_queries_restore_the_session_when_the_block_fails(spark):
    from pinterest_pipeline.spark import small_queries

    before = spark.conf.get("spark.sql.codegen.wholeStage")
    with pytest.raises(ZeroDivisionError), small_queries(spark):
        1 / 0  # noqa: B018
    assert spark.conf.get("spark.sql.codegen.wholeStage") == before
