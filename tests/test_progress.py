"""Progress lines while a stage runs (``progress.Heartbeat``): the setting, the CLI, the stages."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.generate import generate
from pinterest_pipeline import contract, progress, stages

CLI = str(Path(sys.executable).parent / "pinterest-pipeline")


def test_the_interval_is_a_number_of_seconds(monkeypatch):
    monkeypatch.delenv("PINTEREST_PROGRESS_SECONDS", raising=False)
    assert progress.interval() == 15
    monkeypatch.setenv("PINTEREST_PROGRESS_SECONDS", "0")
    assert progress.interval() == 0
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("PINTEREST_PROGRESS_SECONDS", bad)
        with pytest.raises(ValueError, match=f"PINTEREST_PROGRESS_SECONDS .*{bad!r}"):
            progress.interval()


def test_run_refuses_a_bad_interval_before_starting_anything(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PINTEREST_PROGRESS_SECONDS": "soon", "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([CLI, "run", "--all"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: PINTEREST_PROGRESS_SECONDS must be a number of seconds "
                                   "(0: none), not 'soon'")


def test_short_work_says_nothing_and_zero_turns_it_off():
    said: list[str] = []
    with progress.Heartbeat(said.append, "quick", every=5):
        pass
    with progress.Heartbeat(said.append, "off", every=0):
        time.sleep(0.2)
    assert said == []


def test_a_beat_names_the_work_and_its_seconds():
    said: list[str] = []
    with progress.Heartbeat(said.append, "clean dt=2024-01-02", every=0.05):
        time.sleep(0.3)
    assert len(said) >= 2
    assert all(re.match(r"^clean dt=2024-01-02: \d+ s(, Spark: .*)?$", line) for line in said), said


def test_a_say_that_fails_ends_the_heartbeat_not_the_work():
    calls = []

    def broken(line: str) -> None:
        calls.append(line)
        raise BrokenPipeError

    with progress.Heartbeat(broken, "work", every=0.02):
        time.sleep(0.2)
    assert len(calls) == 1


@pytest.mark.integration
def test_running_spark_tasks_are_counted(spark):
    said: list[str] = []
    sleepy = spark.range(0, 6, 1, 6).selectExpr("reflect('java.lang.Thread', 'sleep', cast(400 as bigint))")
    with progress.Heartbeat(said.append, "sleepy", every=0.1):
        sleepy.collect()  # 6 tasks of 0.4 s on 2 cores
    counted = [line for line in said if "tasks done" in line]
    assert counted, said
    assert re.match(r"^sleepy: \d+ s, Spark: \d of 6 tasks done \(1 stage running\)$", counted[-1]), counted


@pytest.mark.integration
def test_a_stage_logs_its_progress(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("PINTEREST_PROGRESS_SECONDS", "0.2")
    landing = tmp_path / "landing"
    (day,) = generate(str(landing), 2000, records_per_file=100, quiet=True)["dates"]
    loc = stages.Locations(landing_uri=str(landing), warehouse_uri=str(tmp_path / "warehouse"))
    logged: list[str] = []
    stages.run_stage(spark, "clean", loc, contract.KINDS, dt=day, log=logged.append)
    beats = [line for line in logged if line.startswith(f"clean dt={day}: ")]
    assert beats, logged
    assert any("Spark: " in line for line in beats), beats
    assert {f"cleaning {kind} for dt={day}" for kind in contract.KINDS} <= set(logged)
