"""The MWAA compatibility DAG, loaded and rendered by the Airflow version MWAA runs.

The project's venv has no Airflow (Dagster is the orchestrator), so the
integration tests build a separate, cached venv from
``infra/mwaa/requirements.txt`` with uv and run ``mwaa_probe.py`` in it, with
AIRFLOW_HOME and a SQLite metadata DB under ``tmp_path``: nothing reaches a
database server or Databricks.

Cache: ``$PINTEREST_AIRFLOW_VENV`` if set, else
``~/.cache/pinterest-pipeline/airflow-venv-<hash of requirements + python>``.
A cold build (empty uv cache, PyPI download) took about 7 s here; a warm one
about 4 s; reusing the cached venv costs nothing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.venvs import cached_venv

ROOT = Path(__file__).resolve().parents[2]
MWAA = ROOT / "infra" / "mwaa"
DAGS = MWAA / "dags"
DAG_FILE = DAGS / "pinterest_pipeline_dag.py"
REQUIREMENTS = MWAA / "requirements.txt"
PROBE = Path(__file__).with_name("mwaa_probe.py")

DAG_ID = "pinterest_pipeline_nightly"
AIRFLOW_VERSION = "3.2.1"
MWAA_PYTHON = "3.12"
PACKAGE_NAME = "pinterest_pipeline"
ENTRY_POINT = "pinterest-pipeline-databricks"

#: What an operator would put in the `pinterest_pipeline` Variable (no secrets in it).
PIPELINE_VARIABLE = {
    "databricks_conn_id": "databricks_pinterest",
    "wheel": "/Volumes/main/pinterest/artifacts/pinterest_pipeline-0.1.0-py3-none-any.whl",
    "landing_uri": "s3://example-landing-bucket",
    "warehouse_uri": "s3://example-warehouse-bucket/warehouse",
    "topic_prefix": "0a1b2c3d4e5f",
    "new_cluster": {
        "spark_version": "17.3.x-scala2.13",
        "node_type_id": "m5d.large",
        "num_workers": 1,
        "spark_env_vars": {"KEEP_ME": "1"},
    },
}


# --- fast checks (no Airflow needed) ---------------------------------------------


def test_requirements_pin_every_package_exactly():
    lines = [
        line.strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines, "requirements.txt is empty"
    unpinned = [
        line
        for line in lines
        if not re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+", line)
    ]
    assert not unpinned, f"not pinned with ==: {unpinned}"
    pins = dict(line.split("==") for line in lines)
    assert pins["apache-airflow"] == AIRFLOW_VERSION
    assert "apache-airflow-providers-databricks" in pins
    names = [n.lower().replace("_", "-") for n in pins]
    assert len(names) == len(set(names)), "a package is pinned twice"


def test_readme_names_the_pinned_version():
    readme = (MWAA / "README.md").read_text()
    assert f"Airflow {AIRFLOW_VERSION}" in readme
    assert "Contract with the package" in readme
    assert ENTRY_POINT in readme


SECRET_PATTERNS = [
    re.compile(r"dapi[0-9a-f]{16,}", re.IGNORECASE),  # Databricks personal access token
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(
        r"""(token|password|secret|api_key|apikey)\s*[=:]\s*["'][^"'{}\s]{6,}["']""", re.IGNORECASE
    ),
    re.compile(r"""["'](token|password|client_secret)["']\s*:\s*["'][^"'{}]+["']""", re.IGNORECASE),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


@pytest.mark.parametrize("path", [DAG_FILE, REQUIREMENTS, MWAA / "README.md"], ids=lambda p: p.name)
def test_no_secret_looking_literals(path: Path):
    text = path.read_text()
    hits = [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(text)]
    assert not hits, f"{path.name} holds secret-looking literals: {hits}"


def test_dag_file_reads_nothing_at_parse_time():
    """Variables are read through Jinja when a task runs, never at module level."""
    source = DAG_FILE.read_text()
    assert "Variable.get(" not in source
    assert "BaseHook.get_connection" not in source and "Connection.get" not in source
    assert "{{" in source and "var.json" in source


# --- the separate Airflow venv ------------------------------------------------------


def _mwaa_python() -> tuple[str, str]:
    """An interpreter for the Airflow venv: MWAA's 3.12 when this machine has one."""
    candidates = [os.environ.get("PINTEREST_AIRFLOW_PYTHON", "")]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{MWAA_PYTHON}*/bin/python{MWAA_PYTHON}"))
    )
    candidates += [f"/usr/bin/python{MWAA_PYTHON}", f"/usr/local/bin/python{MWAA_PYTHON}"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                check=False,
                text=True,
            )
            if probe.returncode == 0:
                return candidate, probe.stdout.strip()
    # Airflow 3.2 supports 3.10-3.13, so the test interpreter is an acceptable stand-in.
    return sys.executable, "{}.{}".format(*sys.version_info[:2])


@pytest.fixture(scope="session")
def airflow_venv() -> dict[str, object]:
    python, version = _mwaa_python()
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + version.encode()).hexdigest()[:16]
    venv, built_seconds = cached_venv(
        "airflow-venv", key, python, ["-r", str(REQUIREMENTS)], "PINTEREST_AIRFLOW_VENV"
    )
    if built_seconds is not None:
        print(f"\nbuilt Airflow venv {venv} (Python {version}) in {built_seconds}s")
    return {
        "python": str(venv / "bin" / "python"),
        "version": version,
        "built_seconds": built_seconds,
    }


def _probe(airflow_venv, tmp_path: Path, *args: str) -> dict:
    home = tmp_path / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV", "DAGSTER"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_VAR_PINTEREST_PIPELINE": json.dumps(PIPELINE_VARIABLE),
            "TZ": "UTC",
        }
    )
    done = subprocess.run(
        [airflow_venv["python"], str(PROBE), *args],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE-JSON ")]
    assert done.returncode == 0 and lines, (
        f"probe failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return json.loads(lines[-1][len("PROBE-JSON ") :])


@pytest.fixture(scope="module")
def described(airflow_venv, tmp_path_factory) -> dict:
    return _probe(airflow_venv, tmp_path_factory.mktemp("describe"), "describe", str(DAGS))


@pytest.fixture(scope="module")
def rendered(airflow_venv, tmp_path_factory) -> dict:
    return _probe(airflow_venv, tmp_path_factory.mktemp("render"), "render", DAG_ID)


def _task_json(rendered_task: dict) -> dict:
    (task,) = rendered_task["json"]["tasks"]
    return task


# --- DagBag ---------------------------------------------------------------------------


@pytest.mark.integration
def test_dagbag_loads_the_dag_without_import_errors(described):
    assert described["airflow_version"] == AIRFLOW_VERSION
    assert described["import_errors"] == {}
    assert described["dag_ids"] == [DAG_ID]


@pytest.mark.integration
def test_schedule_is_daily_at_midnight_utc_for_yesterday(described):
    dag = described["dags"][DAG_ID]
    schedule = dag["schedule"]
    assert schedule["timetable_class"] == "CronDataIntervalTimetable"
    assert schedule["expression"] == "0 0 * * *"
    assert schedule["timezone"] == "UTC"
    # The scheduler's view: the run fired at 2026-11-26 00:00 covers 2026-11-25.
    nxt = schedule["next_after_2026_11_24"]
    assert nxt["run_after"] == "2026-11-26T00:00:00+00:00"
    assert nxt["logical_date"] == "2026-11-25T00:00:00+00:00"
    assert nxt["data_interval_start"] == "2026-11-25T00:00:00+00:00"
    assert nxt["data_interval_end"] == "2026-11-26T00:00:00+00:00"
    assert nxt["manual_at_midnight_interval_start"] == "2026-11-25T00:00:00+00:00"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["has_doc_md"] and dag["tags"]


@pytest.mark.integration
def test_tasks_clean_then_insights_on_databricks(described):
    tasks = described["dags"][DAG_ID]["tasks"]
    assert set(tasks) == {"clean", "insights"}
    assert tasks["clean"]["downstream"] == ["insights"] and tasks["clean"]["upstream"] == []
    assert tasks["insights"]["upstream"] == ["clean"] and tasks["insights"]["downstream"] == []
    for task in tasks.values():
        assert task["operator"] == "DatabricksSubmitRunOperator"
        assert task["operator_module"] == "airflow.providers.databricks.operators.databricks"
        assert task["owner"] and task["owner"] != "airflow"
        assert task["retries"] > 0 and task["retry_delay_seconds"] > 0
        # conn id and cluster come from the Variable, rendered at run time
        assert "var.json" in task["databricks_conn_id"]
        assert {"json", "databricks_conn_id"} <= set(task["template_fields"])
    default_args = described["dags"][DAG_ID]["default_args"]
    assert default_args["retries"] > 0 and default_args["retry_delay"]["seconds"] > 0


@pytest.mark.integration
def test_raw_payload_names_the_entrypoint(described):
    tasks = described["dags"][DAG_ID]["tasks"]
    for stage in ("clean", "insights"):
        (task,) = tasks[stage]["json"]["tasks"]
        wheel_task = task["python_wheel_task"]
        assert wheel_task["package_name"] == PACKAGE_NAME
        assert wheel_task["entry_point"] == ENTRY_POINT
        assert wheel_task["parameters"][:2] == ["--stage", stage]
    (clean,) = tasks["clean"]["json"]["tasks"]
    assert clean["python_wheel_task"]["parameters"][2] == "--date"
    assert "data_interval_start | ds" in clean["python_wheel_task"]["parameters"][3]


# --- rendering through Airflow ---------------------------------------------------------


@pytest.mark.integration
def test_scheduled_run_at_midnight_renders_yesterday(rendered):
    run = rendered["scheduled_run"]
    assert run["run_after"] == "2026-11-26T00:00:00+00:00"
    clean = _task_json(rendered["scheduled"]["clean"])
    assert clean["python_wheel_task"] == {
        "package_name": PACKAGE_NAME,
        "entry_point": ENTRY_POINT,
        "parameters": ["--stage", "clean", "--date", "2026-11-25"],
    }
    insights = _task_json(rendered["scheduled"]["insights"])
    assert insights["python_wheel_task"]["parameters"] == ["--stage", "insights"]
    assert rendered["scheduled"]["clean"]["json"]["run_name"].endswith("2026-11-25")


@pytest.mark.integration
def test_manual_run_at_midnight_also_renders_yesterday(rendered):
    """Airflow 3 gives a manual run the trigger time as logical date; the data interval is yesterday."""
    clean = _task_json(rendered["manual_at_midnight"]["clean"])
    assert clean["python_wheel_task"]["parameters"] == ["--stage", "clean", "--date", "2026-11-25"]


@pytest.mark.integration
def test_rendered_cluster_wheel_env_and_connection(rendered):
    for stage in ("clean", "insights"):
        out = rendered["scheduled"][stage]
        assert out["databricks_conn_id"] == PIPELINE_VARIABLE["databricks_conn_id"]
        task = _task_json(out)
        assert task["libraries"] == [{"whl": PIPELINE_VARIABLE["wheel"]}]
        cluster = task["new_cluster"]
        assert cluster["spark_version"] == PIPELINE_VARIABLE["new_cluster"]["spark_version"]
        assert cluster["num_workers"] == 1
        assert cluster["spark_env_vars"] == {
            "KEEP_ME": "1",
            "PINTEREST_DEPLOYMENT": "prod",
            "PINTEREST_LANDING_URI": PIPELINE_VARIABLE["landing_uri"],
            "PINTEREST_WAREHOUSE_URI": PIPELINE_VARIABLE["warehouse_uri"],
            "PINTEREST_TOPIC_PREFIX": PIPELINE_VARIABLE["topic_prefix"],
            "PINTEREST_TABLE_FORMAT": "delta",
        }
        assert "existing_cluster_id" not in task
