"""Plain stage results -> Dagster events (shared by the local and the Pipes paths)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import dagster as dg

from pinterest_pipeline.stages import StageResult, typed_metadata
from pinterest_pipeline.transforms.validation import CheckOutcome

#: ``stages.metadata_type`` names -> Dagster metadata values (Pipes does the same on its side).
_VALUES = {
    "md": dg.MetadataValue.md,
    "path": dg.MetadataValue.path,
    "json": dg.MetadataValue.json,
    "text": dg.MetadataValue.text,
    "int": dg.MetadataValue.int,
    "float": dg.MetadataValue.float,
    "bool": dg.MetadataValue.bool,
    "null": lambda _: dg.MetadataValue.null(),
}


def to_metadata(values: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    """Plain metadata typed as ``stages.typed_metadata`` says (as the entrypoint reports it)."""
    return {k: _VALUES[v["type"]](v["raw_value"]) for k, v in typed_metadata(values).items()}


def check_result(asset_key: dg.AssetKey, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=to_metadata(outcome.metadata),
    )


def stage_events(result: StageResult) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """A stage result as a materialization followed by its check results."""
    key = dg.AssetKey(list(result.asset_key))
    yield dg.MaterializeResult(asset_key=key, metadata=to_metadata(result.metadata))
    for outcome in result.checks:
        yield check_result(key, outcome)


def selected_events(context: dg.AssetExecutionContext, events: Iterable) -> Iterator:
    """The events, less the check results of checks this run did not select."""
    for event in events:
        if not isinstance(event, dg.AssetCheckResult) or (
            dg.AssetCheckKey(event.asset_key, event.check_name) in context.selected_asset_check_keys
        ):
            yield event
