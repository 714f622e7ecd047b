"""``clean/pin``, ``clean/geo``, ``clean/user``: one daily-partitioned multi-asset.

One step cleans the selected tables of a landing date with PySpark (contract
section 4), writes clean and quarantine partitions atomically, and runs the
pandera checks on what it wrote. The checks are partitioned like the tables, so
a failure stays on its date. Severities (see ``transforms/validation``):
``schema``, ``unique_key`` and ``value_rules`` are blocking ERRORs (the
insights of that run do not run on a broken table, and later insight runs
leave the failed date out); ``known_categories`` is a WARN (a new category is
news, not an outage). A date with nothing landed fails, naming what was looked
for. A run that selects only checks re-checks the written partition.
"""

from __future__ import annotations

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.defs.checks import (
    checked_only,
    clean_checks_every_partition,
    clean_checks_only,
    partitioned_check_spec,
)
from pinterest_pipeline.defs.landing import missing_landing
from pinterest_pipeline.defs.metadata import OWNERS, code_version, column_schema, enrich
from pinterest_pipeline.defs.partitions import daily
from pinterest_pipeline.defs.raw import RAW_KEYS
from pinterest_pipeline.defs.resources import ComputeResource
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS

CLEAN_KEYS = {kind: dg.AssetKey(["clean", kind]) for kind in contract.KINDS}

#: Changes when the cleaning rules or the contract change: clean partitions then show as stale.
CLEAN_CODE_VERSION = code_version("transforms/clean.py", "contract.py")

clean_specs = [
    dg.AssetSpec(
        CLEAN_KEYS[kind],
        deps=[RAW_KEYS[kind]],
        description=f"Cleaned `{kind}` records of one landing date, one row per `ind` "
        f"(contract section 4); lines that cannot be cleaned go to `quarantine/{kind}` "
        "with a reason.",
        group_name="clean",
        kinds={"spark", "parquet"},
        code_version=CLEAN_CODE_VERSION,
        owners=OWNERS,
        tags={"layer": "clean", "record_kind": kind},
        metadata={"dagster/column_schema": column_schema(
            contract.CLEAN_COLUMNS[kind], (contract.CLEAN_KEY,), "key: one row per ind and date",
            contract.CLEAN_COLUMN_DESCRIPTIONS)},
    )
    for kind in contract.KINDS
]

clean_check_specs = [
    partitioned_check_spec(
        name=spec.name,
        asset=CLEAN_KEYS[kind],
        description=f"clean/{kind}: {spec.description}"
        + (" Blocking: a failed date is left out of the insights." if spec.blocking else ""),
        blocking=spec.blocking,
        partitions_def=daily,
    )
    for kind in contract.KINDS
    for spec in CLEAN_CHECKS[kind]
]


def selected_kinds(context: dg.AssetExecutionContext) -> list[str]:
    return [k for k in contract.KINDS if CLEAN_KEYS[k] in context.selected_asset_keys]


@dg.multi_asset(
    name="clean_tables",
    specs=clean_specs,
    check_specs=clean_check_specs,
    partitions_def=daily,
    can_subset=True,
)
def clean_tables(context, compute: dg.ResourceParam[ComputeResource]):
    kinds, only_checked = selected_kinds(context), checked_only(context, CLEAN_KEYS)
    if not context.has_partition_key:  # "Execute all" on the checks, no date chosen
        if kinds:
            raise dg.Failure("clean/* is partitioned by landing date: choose a partition")
        for event in clean_checks_every_partition(context, compute, only_checked):
            yield enrich(event)
        return
    dt = context.partition_key
    if kinds:
        landing = compute.pipeline.landing
        problems = missing_landing(kinds, dt, landing.store(), landing.topic_prefix)
        if problems:
            raise dg.Failure(
                description=f"nothing to clean for dt={dt}: " + "; ".join(problems)
                + ". A quiet day has no partition to build; pick a landed date "
                "(raw/* partitions show which dates landed).",
                metadata={"dt": dt, "missing": problems},
                allow_retries=False,
            )
        for event in compute.clean(context, kinds, dt):
            yield enrich(event)
    if only_checked:
        for event in clean_checks_only(context, compute, only_checked, dt):
            yield enrich(event)
