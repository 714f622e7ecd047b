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
from pinterest_pipeline.transforms.validation import INSIGHT_CHECK

INSIGHT_KEYS = {name: dg.AssetKey(["insights", name]) for name in contract.INSIGHTS}

#: Which clean tables each insight reads.
INSIGHT_INPUTS = {
    "top_category_by_country": ("pin", "geo"),
    "top_category_by_year": ("pin", "geo"),
    "top_poster_by_country": ("pin", "geo"),
    "country_with_top_poster": ("pin", "geo"),
    "top_category_by_age_group": ("pin", "user"),
    "median_followers_by_age_group": ("pin", "user"),
    "users_joined_by_year": ("user",),
    "median_followers_by_join_year": ("pin", "user"),
    "median_followers_by_age_group_and_join_year": ("pin", "user"),
}

insight_specs = [
    dg.AssetSpec(
        INSIGHT_KEYS[name],
        deps=[CLEAN_KEYS[kind] for kind in INSIGHT_INPUTS[name]],
        description=f"Insight `{name}`: "
        f"{', '.join(c for c, _ in contract.INSIGHT_COLUMNS[name])}.",
        group_name="insights",
        kinds={"spark", "sql"},
    )
    for name in contract.INSIGHTS
]

insight_check_specs = [
    dg.AssetCheckSpec(INSIGHT_CHECK.name, asset=INSIGHT_KEYS[name], description=INSIGHT_CHECK.description)
    for name in contract.INSIGHTS
]


@dg.multi_asset(
    name="insight_tables", specs=insight_specs, check_specs=insight_check_specs, can_subset=True
)
def insight_tables(context, compute: dg.ResourceParam[ComputeResource]):
    names = [n for n in contract.INSIGHTS if INSIGHT_KEYS[n] in context.selected_asset_keys]
    yield from compute.insights(context, names)
