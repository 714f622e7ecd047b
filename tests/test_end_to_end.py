"""The real sample, emulated into a landing, run end to end through the CLI.

Every insight row must equal the plain-Python reference reading of the
contract (tests/reference.py), and re-running gives identical tables.
"""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pinterest_pipeline import contract
from tests import reference
from tests.sample import SAMPLE_DIR as SAMPLE
from tests.sample import require_sample

CLI = str(Path(sys.executable).parent / "pinterest-pipeline")

pytestmark = pytest.mark.integration


def cli(env, *args, check=True):
    proc = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory):
    require_sample()
    root = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "PINTEREST_LANDING_URI": str(root / "landing"),
        "PINTEREST_WAREHOUSE_URI": str(root / "warehouse"),
        "DAGSTER_HOME": str(root / "dagster"),
        "PINTEREST_TOPIC_PREFIX": "pinterest",
    }
    cli(env, "emulate", "--source", f"jsonl:{SAMPLE}", "--posts", "1899", "--via", "landing",
        "--no-progress")
    return root, env


def read_insight(root: Path, name: str) -> list[dict]:
    return pq.read_table(contract.insight_path(str(root / "warehouse"), name)).to_pylist()


def test_run_all_matches_reference_on_every_row(pipeline_env):
    root, env = pipeline_env
    proc = cli(env, "run", "--all")
    assert "ok:" in proc.stdout
    assert "incubator" not in proc.stderr, proc.stderr  # the JVM's start-up line (spark.JVM_NOISE)
    expected = reference.insights(reference.read_landing(root / "landing"))
    for name in contract.INSIGHTS:
        got = read_insight(root, name)
        assert got, f"{name} is empty"
        assert got == expected[name], name


def test_show_prints_every_table(pipeline_env):
    root, env = pipeline_env
    proc = cli(env, "show")
    for name in contract.INSIGHTS:
        assert f"insights/{name}" in proc.stdout


def test_rerun_gives_identical_tables(pipeline_env):
    root, env = pipeline_env
    before = {name: read_insight(root, name) for name in contract.INSIGHTS}
    clean_before = pq.read_table(contract.clean_path(str(root / "warehouse"), "pin")).to_pylist()
    cli(env, "run", "--all")
    assert {name: read_insight(root, name) for name in contract.INSIGHTS} == before
    clean_after = pq.read_table(contract.clean_path(str(root / "warehouse"), "pin")).to_pylist()
    key = lambda r: r["ind"]
    assert sorted(clean_after, key=key) == sorted(clean_before, key=key)


def test_runs_are_recorded_in_the_dagster_instance(pipeline_env):
    root, env = pipeline_env
    code = (
        "from dagster import DagsterInstance\n"
        "with DagsterInstance.get() as i:\n"
        "    print(sorted({r.job_name for r in i.get_runs()}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.strip() == "['nightly']"  # one landed date: run --all is one nightly run


def test_date_before_start_is_reported_not_skipped(pipeline_env, tmp_path):
    root, env = pipeline_env
    env = {**env, "PINTEREST_START_DATE": "2099-01-01", "DAGSTER_HOME": str(tmp_path)}
    proc = cli(env, "run", "--all", check=False)
    assert proc.returncode != 0
    assert "PINTEREST_START_DATE" in proc.stderr


def test_run_one_date_cleans_it_and_rebuilds_insights(pipeline_env):
    root, env = pipeline_env
    dates = sorted(p.name[3:] for p in (root / "landing" / "topics" / "pinterest.pin").iterdir())
    proc = cli(env, "run", "--date", dates[-1])
    assert f"run nightly dt={dates[-1]}" in proc.stdout
    assert "insights/top_category_by_country" in proc.stdout


def test_date_with_nothing_landed_is_a_clear_error(pipeline_env, tmp_path):
    root, env = pipeline_env
    proc = cli(env, "run", "--date", "2024-05-05", check=False)
    assert proc.returncode == 1
    assert "nothing has landed for dt=2024-05-05" in proc.stderr
