"""Resources: dagster-pyspark's PySparkResource for Spark, dagster-aws' S3Resource for the landing,
settings from the environment without writing it."""

import os
import subprocess
import sys

import boto3
import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_pyspark import PySparkResource

from pinterest_pipeline import contract
from pinterest_pipeline.defs.resources import build_resources, env, landed_dates
from pinterest_pipeline.ingest.landing import encode_lines
from pinterest_pipeline.spark import LOCAL_CONF, SESSION_CONF, spark_config
from tests.net import moto_s3_server


def test_spark_is_a_pyspark_resource_local_or_connect(monkeypatch):
    monkeypatch.delenv("PINTEREST_SPARK_REMOTE", raising=False)
    monkeypatch.delenv("PINTEREST_SPARK_JAVA_OPTIONS", raising=False)  # tests/test_spark.py
    spark = build_resources("local")["compute"].spark
    assert isinstance(spark, PySparkResource)
    assert spark.spark_config == spark_config("local[*]")
    assert spark.spark_config["spark.master"] == "local[*]"
    assert LOCAL_CONF.items() <= spark.spark_config.items()

    monkeypatch.setenv("PINTEREST_SPARK_REMOTE", "sc://127.0.0.1:15002")
    remote = build_resources("local")["compute"].spark.spark_config
    assert remote == {"spark.remote": "sc://127.0.0.1:15002", "spark.app.name": "pinterest-pipeline",
                      **SESSION_CONF}


def test_a_set_variable_is_an_env_var_an_unset_one_its_default(monkeypatch):
    monkeypatch.delenv("PINTEREST_TOPIC_PREFIX", raising=False)
    assert env("PINTEREST_TOPIC_PREFIX") == "pinterest"
    monkeypatch.setenv("PINTEREST_TOPIC_PREFIX", "abc")
    assert env("PINTEREST_TOPIC_PREFIX") == dg.EnvVar("PINTEREST_TOPIC_PREFIX")


def test_loading_the_code_location_writes_no_environment():
    code = ("import os; before = dict(os.environ); import pinterest_pipeline.definitions; "
            "assert dict(os.environ) == before, set(os.environ) ^ set(before)")
    env_ = {k: v for k, v in os.environ.items() if not k.startswith("PINTEREST_")}
    done = subprocess.run([sys.executable, "-c", code], env=env_, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_run_lists_an_s3_landing_through_the_s3_resource(monkeypatch, tmp_path):
    with moto_s3_server() as endpoint:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": endpoint}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PINTEREST_LANDING_URI", "s3://bucket/landing")
        monkeypatch.setenv("PINTEREST_TOPIC_PREFIX", "t")
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bucket")
        for kind, dt in (("pin", "2024-02-01"), ("geo", "2024-02-03")):
            key = contract.landing_key(contract.topic_name(kind, "t"), dt, 0, 0)
            s3.put_object(Bucket="bucket", Key=f"landing/{key}", Body=encode_lines([b"{}"]))
        assert landed_dates() == ["2024-02-01", "2024-02-03"]
        landing = build_resources("local")["landing"]
        assert isinstance(landing.s3, S3Resource)
