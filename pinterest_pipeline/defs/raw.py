"""``raw/pin``, ``raw/geo``, ``raw/user``: the landings, and the sensor that observes them.

The landing is written outside Dagster (by the S3 sink or the emulator), so
the raw assets are external assets. The sensor lists the landing on every
tick and, for each ``dt`` folder whose files changed, records an asset
materialization on that date's partition with files, bytes and records.
A landing date before ``PINTEREST_START_DATE`` is not a partition; the sensor
reports it as a warning in its tick log (and ``pinterest-pipeline run`` refuses
such a date with the reason), never skips it silently.
"""

from __future__ import annotations

import json

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.dates import landed
from pinterest_pipeline.defs.partitions import daily, start_date
from pinterest_pipeline.defs.resources import LandingResource
from pinterest_pipeline.ingest.landing import LandedFile

RAW_KEYS = {kind: dg.AssetKey(["raw", kind]) for kind in contract.KINDS}

raw_specs = [
    dg.AssetSpec(
        RAW_KEYS[kind],
        description=f"Landed `{kind}` records: topics/<prefix>.{kind}/dt=YYYY-MM-DD/*.json "
        "(newline-delimited JSON written by the S3 sink).",
        partitions_def=daily,
        group_name="raw",
        kinds={"s3", "json"},
    )
    for kind in contract.KINDS
]


def summarize(files: list[LandedFile], store) -> dict[str, int]:
    """files / bytes / records of one landing date (records = lines)."""
    return {
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "records": sum(store.read(f.key).count(b"\n") for f in files),
    }


@dg.sensor(
    name="landing_sensor",
    description="Notices new landing files and records them as raw/* asset events.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource) -> dg.SensorResult:
    store = landing.store()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    first = start_date()
    events, too_early = [], set()
    for kind, dates in landed(store, landing.topic_prefix).items():
        for dt, files in sorted(dates.items()):
            fingerprint = f"{len(files)}:{sum(f.size for f in files)}:{max(f.mtime for f in files)}"
            if seen.get(f"{kind}/{dt}") == fingerprint:
                continue
            seen[f"{kind}/{dt}"] = fingerprint
            if dt < first:
                too_early.add(dt)
                continue
            metadata = {**summarize(files, store), "landing": f"{store.uri}/topics/", "dt": dt}
            events.append(dg.AssetMaterialization(RAW_KEYS[kind], partition=dt, metadata=metadata))
    if too_early:
        context.log.warning(
            f"landing dates before PINTEREST_START_DATE={first} are not partitions and "
            f"will not be cleaned: {', '.join(sorted(too_early))}"
        )
    return dg.SensorResult(asset_events=events, cursor=json.dumps(seen, sort_keys=True))
