"""What has landed: the listing the sensor, the partitions and the clean step share."""

from __future__ import annotations

import hashlib

from pinterest_pipeline import contract, settings
from pinterest_pipeline.dates import landed
from pinterest_pipeline.ingest.landing import LandedFile, open_landing


def landing_dates(landing_uri: str, topic_prefix: str) -> dict[str, dict[str, list[LandedFile]]]:
    """kind -> dt -> landed files of the landing at ``landing_uri``."""
    return landed(open_landing(settings.resolve_uri(landing_uri)), topic_prefix)


def summarize(files: list[LandedFile], store) -> dict[str, int]:
    """files / bytes / records of one landing date (records = lines)."""
    return {
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "records": sum(store.read(f.key).count(b"\n") for f in files),
    }


def data_version(files: list[LandedFile]) -> str:
    """A hash of a date's file listing (names and sizes): changes when records land."""
    listing = "\n".join(f"{f.key} {f.size}" for f in sorted(files, key=lambda f: f.key))
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def missing_landing(kinds, dt: str, store, topic_prefix: str) -> list[str]:
    """Why ``dt`` cannot be cleaned for ``kinds``: one line per kind with no records (empty: fine).

    ``store``: the landing (``LandingResource.store()``: a folder, or ``s3://`` through dagster-aws).
    """
    problems = []
    for kind in kinds:
        prefix = contract.landing_prefix(contract.topic_name(kind, topic_prefix), dt)
        files = list(store.list(prefix))
        where = f"{store.uri}/{prefix}*.json"
        if not files:
            problems.append(f"{kind}: no files at {where}")
        elif not any(f.size for f in files):
            problems.append(f"{kind}: {len(files)} empty files at {where}")
    return problems
