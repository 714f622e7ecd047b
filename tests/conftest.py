"""Shared pytest fixtures: one local Spark session for the whole test run."""

from __future__ import annotations

import os

import pytest

# Tests land fixed dates from 2024: the code location's daily partitions start there
# (unset, they would start at the earliest landing in ./data/landing, or today).
os.environ.setdefault("PINTEREST_START_DATE", "2024-01-01")


@pytest.fixture(scope="session")
def spark():
    """The product's local session (``spark.get_session``) on local[2], 2 shuffle partitions."""
    from pinterest_pipeline.spark import get_session

    session = get_session(master="local[2]", app_name="pinterest-pipeline-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()
