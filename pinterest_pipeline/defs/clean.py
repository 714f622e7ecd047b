"""``clean/pin``, ``clean/geo``, ``clean/user``: one daily-partitioned multi-asset.

One step cleans the selected tables of a landing date with PySpark (contract
section 4), writes clean and quarantine partitions atomically, and runs the
pandera checks on what it wrote. Check severities (see ``transforms/validation``):
``schema``, ``unique_key`` and ``value_rules`` are blocking ERRORs (the
insights of that run do not run on a broken table); ``known_categories`` is a
WARN (a new category is news, not an outage).
"""

from __future__ import annotations

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.defs.partitions import daily
from pinterest_pipeline.defs.raw import RAW_KEYS
from pinterest_pipeline.defs.resources import ComputeResource
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS

CLEAN_KEYS = {kind: dg.AssetKey(["clean", kind]) for kind in contract.KINDS}

clean_specs = [
    dg.AssetSpec(
        CLEAN_KEYS[kind],
        deps=[RAW_KEYS[kind]],
        description=f"Cleaned `{kind}` records, one row per ind per landing date "
        f"({', '.join(c for c, _ in contract.CLEAN_COLUMNS[kind])}); "
        f"bad lines go to quarantine/{kind}.",
        group_name="clean",
        kinds={"spark", "parquet"},
        metadata={"columns": dg.MetadataValue.json(dict(contract.CLEAN_COLUMNS[kind]))},
    )
    for kind in contract.KINDS
]

clean_check_specs = [
    dg.AssetCheckSpec(
        spec.name,
        asset=CLEAN_KEYS[kind],
        description=spec.description,
        blocking=spec.blocking,
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
    yield from compute.clean(context, selected_kinds(context), context.partition_key)
