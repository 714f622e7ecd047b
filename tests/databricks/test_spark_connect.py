"""The whole pipeline through Spark Connect equals the embedded local run.

A Spark Connect server is started from the pyspark wheel itself
(``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``,
its jar ships in ``pyspark/jars``) on 127.0.0.1 and a free port. Then
``pinterest-pipeline run --all`` runs once with ``PINTEREST_SPARK_REMOTE`` set
and once without, on the same landing, and the nine insight tables (and the
clean tables) must be identical row by row. Client and server share this
machine's file system, so local landing and warehouse paths work for both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinterest_pipeline import contract
from tests.databricks.landing import DATES, rows, write_landing
from tests.net import free_port

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "pinterest-pipeline")
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 180


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def connect_server(tmp_path_factory):
    """``sc://127.0.0.1:<port>`` of a Spark Connect server in local mode; stopped at the end."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    if not list((spark_home / "jars").glob("spark-connect_*.jar")):
        pytest.skip(f"no spark-connect jar in {spark_home / 'jars'}")
    log_path = tmp_path_factory.mktemp("connect") / "server.log"
    port = free_port()
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--name",
        "pinterest-pipeline-tests-connect",
        "--master",
        "local[2]",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "--conf",
        "spark.driver.extraJavaOptions=-Duser.timezone=UTC "
        + os.environ.get("PINTEREST_SPARK_JAVA_OPTIONS", ""),
        "--conf",
        "spark.executor.extraJavaOptions=-Duser.timezone=UTC",
        "spark-internal",
    ]
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(port):
            if server.poll() is not None:
                pytest.fail(
                    f"Spark Connect server exited {server.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Spark Connect server not listening after {START_TIMEOUT_S} s:\n"
                    f"{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the group we started: spark-submit and its JVM
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


def run_all(root: Path, landing: Path, name: str, remote: str = "") -> Path:
    warehouse = root / name / "warehouse"
    env = {
        **os.environ,
        "PINTEREST_LANDING_URI": str(landing),
        "PINTEREST_WAREHOUSE_URI": str(warehouse),
        "DAGSTER_HOME": str(root / name / "dagster"),
        "PINTEREST_TOPIC_PREFIX": "pinterest",
        "PINTEREST_START_DATE": "2024-01-01",
        "PINTEREST_SPARK_REMOTE": remote,
        "PINTEREST_DEPLOYMENT": "local",
    }
    env.pop("PINTEREST_TABLE_FORMAT", None)
    proc = subprocess.run(
        [CLI, "run", "--all"], check=False, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, (
        f"run --all ({name}) exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    assert "ok:" in proc.stdout
    return warehouse


def test_run_all_through_spark_connect_equals_local(connect_server, tmp_path):
    landing = write_landing(tmp_path / "landing")
    remote = run_all(tmp_path, landing, "connect", remote=connect_server)
    local = run_all(tmp_path, landing, "local")
    for name in contract.INSIGHTS:
        got = rows(contract.insight_path(str(remote), name))
        assert got, f"{name} is empty"
        assert got == rows(contract.insight_path(str(local), name)), name
    for kind in contract.KINDS:
        for dt in DATES:
            for path in (contract.clean_path, contract.quarantine_path):
                a, b = (rows(f"{path(str(w), kind)}/dt={dt}") for w in (remote, local))
                assert a == b, f"{path.__name__} {kind} dt={dt}"
