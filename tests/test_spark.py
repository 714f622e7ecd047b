"""The embedded session's configuration (``spark.spark_config``)."""

from __future__ import annotations

from pinterest_pipeline.spark import JIT_OPTION, LOCAL_GC_OPTION, spark_config


def test_extra_java_options_come_after_the_defaults(monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_JAVA_OPTIONS", " -XX:TieredStopAtLevel=1 -Xss4m ")
    options = spark_config("local[2]")["spark.driver.extraJavaOptions"].split()
    assert options[-2:] == ["-XX:TieredStopAtLevel=1", "-Xss4m"]
    assert JIT_OPTION in options and LOCAL_GC_OPTION in options


def test_no_extra_java_options_by_default(monkeypatch):
    monkeypatch.delenv("PINTEREST_SPARK_JAVA_OPTIONS", raising=False)
    options = spark_config("local[2]")["spark.driver.extraJavaOptions"].split()
    assert options[0] == "-Duser.timezone=UTC" and not any("TieredStopAtLevel" in o for o in options)


def test_spark_connect_sessions_take_no_local_jvm_options(monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
    config = spark_config(remote="sc://127.0.0.1:15002")
    assert config["spark.remote"] == "sc://127.0.0.1:15002"
    assert not any("JavaOptions" in key for key in config)
