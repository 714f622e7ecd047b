"""A temporary warehouse and landing for the report tests."""

import pytest


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """Settings pointing at a temporary warehouse and landing, and no Dagster instance."""
    wh = tmp_path / "warehouse"
    landing = tmp_path / "landing" / "topics" / "pinterest.pin" / "dt=2026-11-20"
    landing.mkdir(parents=True)
    (landing / "pinterest.pin+0+0000000000.json").write_text('{"index": 1}\n')
    monkeypatch.setenv("PINTEREST_WAREHOUSE_URI", str(wh))
    monkeypatch.setenv("PINTEREST_LANDING_URI", str(tmp_path / "landing"))
    monkeypatch.setenv("PINTEREST_TABLE_FORMAT", "parquet")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "no-dagster-here"))
    return str(wh)
