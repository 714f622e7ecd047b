"""The nine insight tables (contract section 5), one subsettable multi-asset.

Each is computed in Spark SQL over all clean partitions (latest ``dt`` wins per
``ind``), written atomically, previewed in its metadata and checked
(``non_empty_unique_keys``: at least one row, grouping keys unique).
"""

from __future__ import annotations

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.defs.clean import CLEAN_KEYS
from pinterest_pipeline.defs.resources import ComputeResource
from pinterest_pipeline.insight_registry import BY_NAME, REGISTRY
from pinterest_pipeline.transforms.validation import INSIGHT_CHECK

INSIGHT_KEYS = {name: dg.AssetKey(["insights", name]) for name in contract.INSIGHTS}

insight_specs = [
    dg.AssetSpec(
        INSIGHT_KEYS[name],
        deps=[CLEAN_KEYS[kind] for kind in BY_NAME[name].inputs],
        description=f"{BY_NAME[name].description} Columns: {', '.join(BY_NAME[name].column_names)}.",
        group_name="insights",
        kinds={"spark", "sql"},
    )
    for name in contract.INSIGHTS
]

insight_check_specs = [
    dg.AssetCheckSpec(INSIGHT_CHECK.name, asset=INSIGHT_KEYS[i.name], description=i.check_description)
    for i in REGISTRY
]


@dg.multi_asset(
    name="insight_tables", specs=insight_specs, check_specs=insight_check_specs, can_subset=True
)
def insight_tables(context, compute: dg.ResourceParam[ComputeResource]):
    names = [n for n in contract.INSIGHTS if INSIGHT_KEYS[n] in context.selected_asset_keys]
    yield from compute.insights(context, names)
