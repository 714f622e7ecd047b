"""``raw/pin``, ``raw/geo``, ``raw/user``: the landings, and the sensor that observes them.

The landing is written outside Dagster (by the S3 sink or the emulator), so
the raw assets are external assets. The sensor lists the landing on every
tick and, for each ``dt`` folder whose files changed, records an asset
materialization on that date's partition with files, bytes and records, and
an observation with a data version (a hash of the date's file listing; Dagster
compares an external asset's observations): a clean partition built from an
older listing shows as stale. A landing date before the first
partition is reported as a warning in the tick log (and ``pinterest-pipeline
run`` refuses such a date with the reason), never skipped silently.
"""

from __future__ import annotations

import json
import warnings

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.dates import landed
from pinterest_pipeline.defs.landing import data_version, summarize
from pinterest_pipeline.defs.metadata import OWNERS
from pinterest_pipeline.defs.partitions import FIRST_DATE, daily
from pinterest_pipeline.defs.resources import LandingResource

RAW_KEYS = {kind: dg.AssetKey(["raw", kind]) for kind in contract.KINDS}
SHOWN = 9  # landings named in a tick's message; the tick log has every one

raw_specs = [
    dg.AssetSpec(
        RAW_KEYS[kind],
        description=f"Landed `{kind}` records: `topics/<prefix>.{kind}/dt=YYYY-MM-DD/*.json` "
        "(newline-delimited JSON written by the S3 sink; `<prefix>` is PINTEREST_TOPIC_PREFIX). "
        "Recorded per date by `landing_sensor`, with a data version that changes when files land.",
        partitions_def=daily,
        group_name="raw",
        kinds={"s3", "json"},
        owners=OWNERS,
        tags={"layer": "raw", "record_kind": kind},
    )
    for kind in contract.KINDS
]


@dg.sensor(
    name="landing_sensor",
    description="Notices new landing files and records them as raw/* asset events "
    "(one per kind and date, with files, bytes, records and a data version).",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource) -> dg.SensorResult:
    store = landing.store()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    first = FIRST_DATE
    events, recorded, too_early = [], [], set()
    for kind, dates in landed(store, landing.topic_prefix).items():
        for dt, files in sorted(dates.items()):
            fingerprint = f"{len(files)}:{sum(f.size for f in files)}:{max(f.mtime for f in files)}"
            if seen.get(f"{kind}/{dt}") == fingerprint:
                continue
            seen[f"{kind}/{dt}"] = fingerprint
            if dt < first:
                too_early.add(dt)
                continue
            summary = summarize(files, store)
            version = data_version(files)
            metadata = {**summary, "dt": dt,
                        "dagster/uri": dg.MetadataValue.path(
                            f"{store.uri}/{contract.landing_prefix(contract.topic_name(kind, landing.topic_prefix), dt)}")}
            events.append(dg.AssetMaterialization(
                RAW_KEYS[kind], partition=dt, metadata=metadata,
                tags={"dagster/data_version": version},
            ))
            # Dagster reads an external asset's data version from observations: this one is
            # what marks clean partitions built from an older listing as stale.
            events.append(dg.AssetObservation(
                RAW_KEYS[kind], partition=dt, metadata={"dt": dt, "files": summary["files"]},
                tags={"dagster/data_version": version},
            ))
            recorded.append(f"raw/{kind} dt={dt}: {summary['files']} files, "
                            f"{summary['records']} records (data version {version})")
            context.log.info(f"recorded raw/{kind} dt={dt}: {summary}, data version {version}")
    if too_early:
        context.log.warning(
            f"landing dates before the first partition {first} are not partitions and "
            f"will not be cleaned: {', '.join(sorted(too_early))} (set PINTEREST_START_DATE "
            "or reload the code location to start the partitions there)"
        )
    if recorded:
        shown = "; ".join(recorded[:SHOWN]) + (
            f"; and {len(recorded) - SHOWN} more (tick log)" if len(recorded) > SHOWN else "")
        skip = f"recorded {len(recorded)} landing(s), no run requested: {shown}"
    else:
        skip = f"no new landing files in {store.uri}/topics/ ({len(seen)} kind/date folders known)"
    if too_early:
        skip += f"; not partitions (before {first}): {', '.join(sorted(too_early))}"
    return dg.SensorResult(asset_events=events, cursor=json.dumps(seen, sort_keys=True),
                           skip_reason=dg.SkipReason(skip))


def _code_references() -> dg.CodeReferencesMetadataValue:
    """Where raw data comes from in this repository: the file writer the S3 sink (and
    ``emulate --via landing``) lands records with, and the sensor that records them."""
    import inspect

    from pinterest_pipeline.ingest.writer import PartitionWriter

    here = inspect.getsourcefile(_code_references)
    sensor_line = next(n for n, line in enumerate(inspect.findsource(_code_references)[0], 1)
                       if line.startswith("def landing_sensor("))
    with warnings.catch_warnings():  # code references are a beta API in Dagster 1.13
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(code_references=[
            dg.LocalFileCodeReference(file_path=inspect.getsourcefile(PartitionWriter),
                                      line_number=inspect.getsourcelines(PartitionWriter)[1],
                                      label="written by the S3 sink's file writer"),
            dg.LocalFileCodeReference(file_path=here, line_number=sensor_line,
                                      label="recorded by landing_sensor"),
        ])


# Specs have no function for `with_source_code_references` to point at: name the code here.
_references = _code_references()
raw_specs = [spec.merge_attributes(metadata={"dagster/code_references": _references})
             for spec in raw_specs]
