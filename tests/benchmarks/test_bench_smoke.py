"""``make bench`` keeps working: its whole run on 5,000 posts (``--smoke``).

The same scripts as the real benchmark (landing generator, ``run --all``, the
notebook-style job and the shorter one, DuckDB, the profile, the orchestration comparison and the
ingest rates), with the report written to a scratch folder.
"""

from __future__ import annotations

import json
import tempfile

import pytest

from benchmarks import run as bench

pytestmark = pytest.mark.integration


def test_smoke_run_writes_a_report_and_all_engines_agree(tmp_path, monkeypatch):
    report = tmp_path / "benchmarks.md"
    scratch = tmp_path / "tmp"  # the scripts' scratch folders, in this process and its children
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert bench.main(["--smoke", "--report", str(report)]) == 0
    assert not list(scratch.glob("pinterest-*")), "a benchmark script left its scratch folder"
    results = json.loads(report.with_suffix(".json").read_text())
    layouts = {r["layout"]: r for r in results["engines"]}
    assert set(layouts) == {"sink", "large"}
    assert all(r["equal"] and r["run_all_s"] > 0 for r in results["engines"])
    sink = layouts["sink"]
    assert sink["posts"] == 5_000 and sink["notebook_s"] > 0 and sink["duckdb_s"] > 0
    assert sink["pairs"] == [[round(sink["run_all_s"], 1), round(sink["notebook_s"], 1)]]
    # the shorter notebook runs in the same round; its tables may differ (not a failure)
    assert len(sink["shorter_notebook_runs"]) == 1 and sink["shorter_notebook_runs"][0] > 0
    assert sink["ratio_vs_shorter_notebook"] > 0 and isinstance(sink["shorter_notebook_equal"], bool)
    assert results["class_archive"]["state"] in {"present", "recorded", "off"}
    assert set(sink["steps"]) >= {"clean/pin", "clean/geo", "clean/user"}
    assert list(results["profile"]["clean_pin"]) == ["read", "parse + rules", "dedup", "write", "checks"]
    orchestration = results["profile"]["orchestration"]
    assert orchestration["ratio"] > 0
    # Dagster's own time inside its run: the run's wall time minus its stage functions' time
    assert 0 < orchestration["stage_functions_in_runs"][0] < orchestration["dagster_passes"][0]
    assert orchestration["in_run_ratio"] > 1 and orchestration["dagster_own_s"] > 0
    assert results["ingest"]["sink_records_per_s"] > 0
    text = report.read_text()
    assert "| 5,000 | sink |" in text and "tables equal" in text and "class-data archive" in text
    assert "in the runs (" in text and "Dagster's own part" in text
    assert "the shorter notebook job (`benchmarks/minimal_notebook.py`" in text
    assert report.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    # --report-only writes the same report again from the .json, without running anything
    report.unlink()
    report.with_suffix(".png").unlink()
    assert bench.main(["--report-only", "--report", str(report)]) == 0
    assert report.read_text() == text
    assert report.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
