"""The Databricks entrypoint run for real through Dagster Pipes, on local Spark.

``SubprocessCompute`` launches ``python -m pinterest_pipeline.databricks.entrypoint``
with ``PipesSubprocessClient`` (the same Pipes protocol the Databricks job speaks,
with temp-file transport instead of DBFS). Its reports must be one
materialization per selected asset and one result per check, and its tables and
metadata (minus timings) must equal what ``LocalCompute`` produces in-process
from the same landing.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource
from dagster_pyspark import PySparkResource

from pinterest_pipeline import contract
from pinterest_pipeline.defs.clean import CLEAN_KEYS, clean_tables
from pinterest_pipeline.defs.insights import insight_tables
from pinterest_pipeline.defs.resources import (
    LandingResource,
    LocalCompute,
    PipelineConfig,
    SubprocessCompute,
)
from pinterest_pipeline.spark import spark_config
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS
from tests.databricks.landing import PREFIX, rows, write_landing

pytestmark = pytest.mark.integration

#: (partition, selected kinds) of the clean runs, then the insights: a subset included.
CLEAN_RUNS = [("2024-01-02", contract.KINDS), ("2024-01-03", ("pin", "geo"))]


def pipeline(landing, warehouse) -> PipelineConfig:
    return PipelineConfig(
        landing=LandingResource(landing_uri=str(landing), topic_prefix=PREFIX, s3=S3Resource()),
        warehouse_uri=str(warehouse),
    )


def run_all(compute) -> list[dg.ExecuteInProcessResult]:
    results = []
    for dt, kinds in CLEAN_RUNS:
        results.append(
            dg.materialize(
                [clean_tables],
                resources={"compute": compute},
                partition_key=dt,
                selection=[CLEAN_KEYS[k] for k in kinds],
            )
        )
    results.append(dg.materialize([insight_tables], resources={"compute": compute}))
    assert all(r.success for r in results)
    return results


def events(results, warehouse) -> tuple[list, list]:
    """Materializations and check evaluations as plain values, timings and paths normalized."""

    def plain(value):
        value = value.value if hasattr(value, "value") else value
        return value.replace(str(warehouse), "<warehouse>") if isinstance(value, str) else value

    mats, checks = [], []
    for result in results:
        for event in result.get_asset_materialization_events():
            m = event.materialization
            meta = {
                k: (type(v).__name__, plain(v)) for k, v in m.metadata.items() if k != "seconds"
            }
            mats.append(("/".join(m.asset_key.path), m.partition, meta))
        for c in result.get_asset_check_evaluations():
            meta = {k: (type(v).__name__, plain(v)) for k, v in c.metadata.items()}
            checks.append(("/".join(c.asset_key.path), c.check_name, c.passed, c.severity, meta))
    return mats, checks


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipes")
    landing = write_landing(root / "landing")
    piped = SubprocessCompute(spark_master="local[2]", pipeline=pipeline(landing, root / "piped"))
    spark = PySparkResource(spark_config=spark_config(master="local[2]"))
    local = LocalCompute(spark=spark, pipeline=pipeline(landing, root / "local"))
    return root, run_all(piped), run_all(local)


def test_pipes_reports_one_materialization_per_selected_asset_and_one_result_per_check(both_runs):
    root, piped, _ = both_runs
    mats, checks = events(piped, root / "piped")
    expected_mats = [(f"clean/{k}", dt) for dt, kinds in CLEAN_RUNS for k in kinds]
    expected_mats += [(f"insights/{n}", None) for n in contract.INSIGHTS]
    assert [(key, partition) for key, partition, _ in mats] == expected_mats
    expected_checks = [
        (f"clean/{k}", s.name) for _, kinds in CLEAN_RUNS for k in kinds for s in CLEAN_CHECKS[k]
    ]
    expected_checks += [(f"insights/{n}", "non_empty_unique_keys") for n in contract.INSIGHTS]
    assert [(key, name) for key, name, *_ in checks] == expected_checks
    meta = dict(mats[0][2])
    assert meta["preview"][0] == "TableMetadataValue"
    assert meta["table"] == ("PathMetadataValue", "<warehouse>/clean/pin/dt=2024-01-02")
    second_pin = next(m for key, dt, m in mats if key == "clean/pin" and dt == "2024-01-03")
    assert second_pin["quarantined"][1] == 1 and second_pin["duplicates_collapsed"][1] == 1
    assert second_pin["quarantine_reasons"][0] == "JsonMetadataValue"


def test_pipes_events_equal_local_events(both_runs):
    root, piped, local = both_runs
    assert events(piped, root / "piped") == events(local, root / "local")


def test_pipes_tables_equal_local_tables_row_by_row(both_runs):
    root, _, _ = both_runs
    compared = 0
    for dt, kinds in CLEAN_RUNS:
        for kind in kinds:
            for path in (contract.clean_path, contract.quarantine_path):
                a = rows(f"{path(str(root / 'piped'), kind)}/dt={dt}")
                b = rows(f"{path(str(root / 'local'), kind)}/dt={dt}")
                assert a == b, f"{path.__name__} {kind} dt={dt}"
                compared += len(a)
    for name in contract.INSIGHTS:
        a = rows(contract.insight_path(str(root / "piped"), name))
        assert a, name
        assert a == rows(contract.insight_path(str(root / "local"), name)), name
    # 3 kinds x 1100 lines, then 2 kinds x (799 rows + 1 quarantined; the replay collapsed)
    assert compared == 3 * 1100 + 2 * 800


def test_entrypoint_outside_dagster_prints_a_summary_and_exits_zero(both_runs):
    """How MWAA runs it: no Pipes parameters; plain output, exit code from the checks."""
    root, _, _ = both_runs
    env = {
        **os.environ,
        "PINTEREST_LANDING_URI": str(root / "landing"),
        "PINTEREST_WAREHOUSE_URI": str(root / "plain"),
        "PINTEREST_TOPIC_PREFIX": PREFIX,
        "PINTEREST_SPARK_MASTER": "local[2]",
    }
    for key in ("DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES", "PINTEREST_TABLE_FORMAT"):
        env.pop(key, None)
    entry = os.path.join(os.path.dirname(sys.executable), "pinterest-pipeline-databricks")
    proc = subprocess.run(
        [entry, "--stage", "clean", "--date", "2024-01-02", "--kinds", "geo"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "clean/geo: 1100 lines -> 1100 rows" in proc.stdout
    assert "schema ok" in proc.stdout
    assert "cleaning geo for dt=2024-01-02" in proc.stderr  # what it does, and its progress
    assert rows(f"{root}/plain/clean/geo/dt=2024-01-02") == rows(
        f"{root}/local/clean/geo/dt=2024-01-02"
    )
