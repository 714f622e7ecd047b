"""Landing dates: parsing a date, a record timestamp's date, reading one off a landing key, the
landed dates of a store.

The partition range itself is ``defs/partitions.daily`` (the one source);
:func:`landed` is what the landing sensor and ``pinterest-pipeline run`` list
(through the ``landing`` resource, ``defs/resources.landed_dates``).
"""

from __future__ import annotations

import argparse
import functools
import re
from collections import defaultdict
from datetime import date, datetime, timedelta

from pinterest_pipeline import contract

DATE_FORMAT = "%Y-%m-%d"
DAY_MS = 86_400_000

#: ``topics/<topic>/dt=YYYY-MM-DD/<file>.json`` (contract section 3, ``contract.landing_key``).
_LANDING_KEY = re.compile(
    rf"^{re.escape(contract.landing_prefix('TOPIC')).replace('TOPIC', '(?P<topic>[^/]+)')}"
    r"dt=(?P<dt>\d{4}-\d{2}-\d{2})/[^/]+\.json$"
)


def valid_date(text: str) -> str:
    """``YYYY-MM-DD`` normalized; an argparse type (raises ``ArgumentTypeError``)."""
    try:
        return datetime.strptime(text, DATE_FORMAT).strftime(DATE_FORMAT)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def utc_date(epoch_ms: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of a timestamp in epoch milliseconds: the ``dt`` a
    record lands under (contract section 3)."""
    return _day(epoch_ms // DAY_MS)


@functools.lru_cache(maxsize=64)
def _day(days: int) -> str:
    # the sink calls this per record: a datetime and strftime cost about 5 us, at 90,000
    # records/s the sink has 11 us a record
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


def landing_date(key: str, topic: str) -> str | None:
    """The ``dt`` of a landing key of ``topic``, or None if the key is not a dated landing file."""
    match = _LANDING_KEY.match(key)
    if not match or match["topic"] != topic:
        return None
    try:
        return valid_date(match["dt"])
    except argparse.ArgumentTypeError:
        return None  # dt=2024-13-45 is not a date


def landed(store, topic_prefix: str) -> dict[str, dict[str, list]]:
    """kind -> dt -> the landed files (``ingest.landing.LandedFile``) of that date."""
    found: dict[str, dict[str, list]] = {kind: defaultdict(list) for kind in contract.KINDS}
    for kind in contract.KINDS:
        topic = contract.topic_name(kind, topic_prefix)
        for f in store.list(contract.landing_prefix(topic)):
            dt = landing_date(f.key, topic)
            if dt is not None:
                found[kind][dt].append(f)
    return found
