"""Daily partitions by landing date (``dt``, UTC), today included for development.

The first partition is ``PINTEREST_START_DATE`` when it is set, else the
earliest date in the landing (when the code location loads), else today: the
UI lists the dates that have data, not years of empty days.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dagster as dg

from pinterest_pipeline import settings
from pinterest_pipeline.defs.landing import landing_dates

log = logging.getLogger(__name__)


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def earliest_landing() -> str | None:
    try:
        found = landing_dates(settings.landing_uri(), settings.topic_prefix())
    except Exception as exc:  # noqa: BLE001 -- an unreachable landing must not stop the code location
        log.warning("cannot list the landing %s (%s); partitions start today",
                    settings.landing_uri(), exc)
        return None
    return min((dt for dates in found.values() for dt in dates), default=None)


def start_date() -> str:
    """PINTEREST_START_DATE, else the earliest landed date, else today (UTC)."""
    return settings.start_date() or min(earliest_landing() or today(), today())


#: One partition per UTC landing date from :data:`FIRST_DATE`; end_offset=1
#: makes today's (still filling) date selectable too.
FIRST_DATE = start_date()
daily = dg.DailyPartitionsDefinition(start_date=FIRST_DATE, end_offset=1, timezone="UTC")
