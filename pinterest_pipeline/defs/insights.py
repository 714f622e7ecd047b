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
from pinterest_pipeline.insight_registry import BY_NAME, REGISTRY
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS, INSIGHT_CHECK

INSIGHT_KEYS = {name: dg.AssetKey(["insights", name]) for name in contract.INSIGHTS}

#: Changes when the insight SQL or the contract change: the tables then show as stale.
INSIGHT_CODE_VERSION = code_version("insight_registry.py", "transforms/insights.py", "contract.py")

insight_specs = [
    dg.AssetSpec(
        INSIGHT_KEYS[name],
        deps=[CLEAN_KEYS[kind] for kind in BY_NAME[name].inputs],
        description=BY_NAME[name].description + " Over every clean date whose blocking checks "
        "passed; the latest row per `ind` wins.",
        group_name="insights",
        kinds={"spark", "sql"},
        code_version=INSIGHT_CODE_VERSION,
        owners=OWNERS,
        tags={"layer": "insights"},
        metadata={"dagster/column_schema": column_schema(
            contract.INSIGHT_COLUMNS[name], contract.INSIGHT_KEYS[name], "grouping key",
            {c: BY_NAME[name].column_description(c) for c in BY_NAME[name].column_names})},
    )
    for name in contract.INSIGHTS
]

insight_check_specs = [
    dg.AssetCheckSpec(INSIGHT_CHECK.name, asset=INSIGHT_KEYS[i.name], description=i.check_description,
                      blocking=INSIGHT_CHECK.blocking)
    for i in REGISTRY
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
