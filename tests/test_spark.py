"""The embedded session's configuration (``spark.spark_config``) and its JVM's stderr."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pinterest_pipeline.spark import (
    JIT_OPTION,
    JVM_NOISE,
    LOCAL_GC_OPTION,
    LOCAL_INLINING_OPTIONS,
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
def test_the_local_jvm_stderr_comes_through_without_the_start_up_noise():
    """Spark's launcher always adds the incubator vector module and the JVM announces it on
    stderr; the session's JVM stderr is relayed without that line, and with everything else."""
    code = (
        "from pinterest_pipeline.spark import get_session\n"
        "spark = get_session('local[1]')\n"
        "spark._jvm.java.lang.System.err.println('said by the JVM')\n"
        "assert get_session('local[1]').range(3).count() == 3\n"
        "spark.stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "said by the JVM" in done.stderr
    assert not any(line.encode() in JVM_NOISE for line in done.stderr.splitlines()), done.stderr


def test_local_sessions_build_plans_without_recording_python_call_sites(spark):
    """Each column function would otherwise cost several more JVM calls (spark.LOCAL_CONF)."""
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    assert not is_debugging_enabled()
