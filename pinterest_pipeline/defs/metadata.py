"""Plain stage results -> Dagster events (shared by the local and the Pipes paths)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from pinterest_pipeline.stages import StageResult
from pinterest_pipeline.transforms.validation import CheckOutcome

MARKDOWN_KEYS = {"preview"}


def to_metadata(values: dict[str, Any]) -> dict[str, Any]:
    """Markdown previews as markdown, tables as paths, everything else as is."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in MARKDOWN_KEYS:
            out[key] = dg.MetadataValue.md(value)
        elif key in {"table", "quarantine_table"}:
            out[key] = dg.MetadataValue.path(value)
        elif isinstance(value, (dict, list)):
            out[key] = dg.MetadataValue.json(value)
        else:
            out[key] = value
    return out


def check_result(asset_key: dg.AssetKey, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                  for k, v in outcome.metadata.items()},
    )


def selected_checks(context: dg.AssetExecutionContext, asset_key: dg.AssetKey, outcomes):
    """Check results for the outcomes whose check was selected in this run."""
    for outcome in outcomes:
        if dg.AssetCheckKey(asset_key, outcome.name) in context.selected_asset_check_keys:
            yield check_result(asset_key, outcome)


def stage_events(context: dg.AssetExecutionContext, result: StageResult):
    """A stage result as a materialization followed by its selected check results."""
    key = dg.AssetKey(list(result.asset_key))
    yield dg.MaterializeResult(asset_key=key, metadata=to_metadata(result.metadata))
    yield from selected_checks(context, key, result.checks)
