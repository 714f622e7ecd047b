"""Daily partitions by landing date (``dt``, UTC), today included for development."""

from __future__ import annotations

import dagster as dg

from pinterest_pipeline import settings


def start_date() -> str:
    return settings.get("PINTEREST_START_DATE")


#: One partition per UTC landing date from PINTEREST_START_DATE; end_offset=1
#: makes today's (still filling) date selectable too.
daily = dg.DailyPartitionsDefinition(start_date=start_date(), end_offset=1, timezone="UTC")
