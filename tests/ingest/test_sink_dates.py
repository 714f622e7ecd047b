"""A record timestamp -> its landing date (``dt``), the rule of contract section 3."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from pinterest_pipeline.dates import DAY_MS
from pinterest_pipeline.dates import utc_date as _utc_date


def reference(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def test_dates_at_and_around_midnight_utc():
    midnight = int(datetime(2026, 11, 27, tzinfo=UTC).timestamp() * 1000)
    assert _utc_date(midnight - 1) == "2026-11-26"
    assert _utc_date(midnight) == "2026-11-27"
    assert _utc_date(midnight + DAY_MS - 1) == "2026-11-27"
    assert _utc_date(0) == "1970-01-01"
    assert _utc_date(int(datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)) == "2024-02-29"


def test_agrees_with_datetime_on_random_timestamps():
    rng = random.Random(7)
    for _ in range(20_000):
        ms = rng.randrange(0, 4_102_444_800_000)  # 1970 .. 2100
        assert _utc_date(ms) == reference(ms), ms
