"""The nine insight tables (contract section 5), one subsettable multi-asset.

Each is computed in Spark SQL over all clean partitions (latest ``dt`` wins per
``ind``) except the dates whose blocking clean check failed, written
atomically, previewed in its metadata and checked (``non_empty_unique_keys``:
at least one row, grouping keys unique). A run that selects only checks
re-checks the written tables.
"""

from __future__ import annotations

from collections import defaultdict

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from pinterest_pipeline import contract
from pinterest_pipeline.defs.checks import checked_only, insight_checks_only
from pinterest_pipeline.defs.clean import CLEAN_KEYS
from pinterest_pipeline.defs.metadata import OWNERS, code_version, column_schema, enrich
from pinterest_pipeline.defs.resources import ComputeResource
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS, INSIGHT_CHECK

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

_JOIN_YEAR = " Here `post_year` is the year the user joined (`date_joined`), not the year of a post."

#: The question each insight table answers.
INSIGHT_QUESTIONS = {
    "top_category_by_country": "Which category is posted most in each country, and how often?",
    "top_category_by_year": "Which category was posted most in each year (post_year = year of the "
    "post's geo timestamp, {}-{})?".format(*contract.POST_YEAR_RANGE),
    "top_poster_by_country": "Who is the poster with the most followers in each country?",
    "country_with_top_poster": "Which country is the poster with the most followers overall from?",
    "top_category_by_age_group": "Which category is posted most by each age group of users?",
    "median_followers_by_age_group": "What is the median follower count of the posts of each age group?",
    "users_joined_by_year": "How many users joined in each year?" + _JOIN_YEAR,
    "median_followers_by_join_year": "What is the median follower count of the users who joined in "
    "each year ({}-{})?".format(*contract.JOIN_YEAR_RANGE) + _JOIN_YEAR,
    "median_followers_by_age_group_and_join_year": "What is the median follower count per age "
    "group and join year ({}-{})?".format(*contract.JOIN_YEAR_RANGE) + _JOIN_YEAR,
}

#: Changes when the insight SQL or the contract change: the tables then show as stale.
INSIGHT_CODE_VERSION = code_version("transforms/insights.py", "contract.py")


def check_description(name: str) -> str:
    keys = contract.INSIGHT_KEYS[name]
    if not keys:
        return f"insights/{name} has exactly one row."
    return f"insights/{name} has rows and one row per {', '.join(keys)}."


insight_specs = [
    dg.AssetSpec(
        INSIGHT_KEYS[name],
        deps=[CLEAN_KEYS[kind] for kind in INSIGHT_INPUTS[name]],
        description=INSIGHT_QUESTIONS[name] + " Over every clean date whose blocking checks "
        "passed; the latest row per `ind` wins.",
        group_name="insights",
        kinds={"spark", "sql"},
        code_version=INSIGHT_CODE_VERSION,
        owners=OWNERS,
        tags={"layer": "insights"},
        metadata={"dagster/column_schema": column_schema(
            contract.INSIGHT_COLUMNS[name], contract.INSIGHT_KEYS[name], "grouping key")},
    )
    for name in contract.INSIGHTS
]

insight_check_specs = [
    dg.AssetCheckSpec(INSIGHT_CHECK.name, asset=INSIGHT_KEYS[name], description=check_description(name),
                      blocking=INSIGHT_CHECK.blocking)
    for name in contract.INSIGHTS
]


def failed_partitions(instance: dg.DagsterInstance) -> dict[str, list[str]]:
    """kind -> clean dates whose latest evaluation of a blocking check failed."""
    keys = [dg.AssetCheckKey(CLEAN_KEYS[kind], spec.name)
            for kind in contract.KINDS for spec in CLEAN_CHECKS[kind] if spec.blocking]
    failed: dict[str, set[str]] = defaultdict(set)
    for info in instance.event_log_storage.get_asset_check_partition_info(keys):
        if info.partition_key and info.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED:
            failed[info.check_key.asset_key.path[-1]].add(info.partition_key)
    return {kind: sorted(dates) for kind, dates in sorted(failed.items())}


@dg.multi_asset(
    name="insight_tables", specs=insight_specs, check_specs=insight_check_specs, can_subset=True
)
def insight_tables(context, compute: dg.ResourceParam[ComputeResource]):
    names = [n for n in contract.INSIGHTS if INSIGHT_KEYS[n] in context.selected_asset_keys]
    if names:
        skip = failed_partitions(context.instance)
        if skip:
            context.log.warning("left out of the insights, a blocking clean check failed: "
                                + "; ".join(f"clean/{k} dt={', '.join(d)}" for k, d in skip.items()))
        for event in compute.insights(context, names, skip=skip):
            if isinstance(event, dg.MaterializeResult):
                excluded = "; ".join(f"clean/{k}: {', '.join(d)}" for k, d in skip.items())
                event = dg.MaterializeResult(asset_key=event.asset_key, metadata={
                    **(event.metadata or {}), "excluded_partitions": excluded or "none"})
            yield enrich(event)
    only_checked = checked_only(context, INSIGHT_KEYS)
    if only_checked:
        for event in insight_checks_only(context, compute, only_checked):
            yield enrich(event)
