"""Plain stage results -> Dagster events (shared by the local and the Pipes paths),
and the metadata every asset declares (owners, column schemas, code versions)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.stages import StageResult, typed_metadata
from pinterest_pipeline.transforms.validation import CheckOutcome

OWNERS = ["team:data-platform"]

PACKAGE = Path(__file__).resolve().parents[1]

NUMBER_TYPES = {"bigint": int, "int": int, "double": float}
#: check metadata whose rows are shown as a table
CASE_KEYS = {"failure_cases", "pandera_errors"}


def column_schema(columns: Sequence[tuple[str, str]], key: Sequence[str] = (),
                  key_description: str = "key",
                  descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """A contract column list ((name, Spark type), ...) as a TableSchema, in contract order.

    A key column's description is ``key_description``, after the column's own if
    ``descriptions`` has one.
    """
    def describe(name: str) -> str | None:
        own = (descriptions or {}).get(name)
        if name not in key:
            return own
        return f"{own} ({key_description})" if own else key_description

    return dg.TableSchema(columns=[
        dg.TableColumn(name, sql_type, description=describe(name),
                       constraints=dg.TableColumnConstraints(nullable=False, unique=len(key) == 1)
                       if name in key else None)
        for name, sql_type in columns
    ])


def code_version(*modules: str) -> str:
    """A short hash of the source of ``modules`` (paths under the package): changes when the code does."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update((PACKAGE / module).read_bytes())
    return digest.hexdigest()[:12]


_CELL = re.compile(r"(?<!\\)\|")


def markdown_rows(markdown: str) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a markdown table written by ``stages.markdown_table``."""
    lines = [line.strip() for line in markdown.strip().splitlines()]

    def cells(line: str) -> list[str]:
        return [c.strip().replace("\\|", "|") for c in _CELL.split(line.strip("|"))]

    columns = cells(lines[0])
    rows = [dict(zip(columns, cells(line))) for line in lines[2:]]
    return columns, rows


def as_table(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None,
             types: dict[str, str] | None = None) -> dg.TableMetadataValue:
    """Rows (dicts) as a table; ``types`` (contract types) turn text cells into numbers."""
    rows = list(rows)
    columns = list(columns or dict.fromkeys(k for r in rows for k in r))
    types = types or {}

    def scalar(value: Any, sql_type: str) -> Any:
        if isinstance(value, str) and sql_type in NUMBER_TYPES:
            return NUMBER_TYPES[sql_type](value) if value else None
        return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)

    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: scalar(r.get(c), types.get(c, "")) for c in columns})
                 for r in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, types.get(c, "string")) for c in columns]),
    )


def contract_types(asset_key: dg.AssetKey) -> dict[str, str]:
    """column -> contract type of a clean or insight table (empty for others)."""
    layer, name = asset_key.path[0], asset_key.path[-1]
    columns = {"clean": contract.CLEAN_COLUMNS, "insights": contract.INSIGHT_COLUMNS}.get(layer, {})
    return dict(columns.get(name, ()))


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


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


def enrich(event):
    """What the UI shows best, whichever engine reported the event: previews and failure
    cases as tables, ``dagster/uri`` and ``dagster/row_count`` on materializations."""
    meta = dict(event.metadata or {})
    if isinstance(event, dg.MaterializeResult):
        preview = _plain(meta.get("preview"))
        if isinstance(preview, str):
            columns, rows = markdown_rows(preview)
            meta["preview"] = as_table(rows, columns, contract_types(event.asset_key))
        if "table" in meta:
            meta["dagster/uri"] = dg.MetadataValue.path(_plain(meta["table"]))
        rows = _plain(meta.get("rows_out", meta.get("rows")))
        if rows is not None:
            meta["dagster/row_count"] = dg.MetadataValue.int(int(rows))
        return dg.MaterializeResult(asset_key=event.asset_key, metadata=meta,
                                    data_version=event.data_version, tags=event.tags)
    if isinstance(event, dg.AssetCheckResult):
        for key in CASE_KEYS & set(meta):
            cases = _plain(meta[key])
            if isinstance(cases, list) and cases and all(isinstance(c, dict) for c in cases):
                meta[key] = as_table(cases)
        return dg.AssetCheckResult(asset_key=event.asset_key, check_name=event.check_name,
                                   passed=event.passed, severity=event.severity,
                                   metadata=meta, description=event.description)
    return event


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


def selected_checks(context: dg.AssetExecutionContext, asset_key: dg.AssetKey,
                    outcomes: Iterable[CheckOutcome]) -> Iterator[dg.AssetCheckResult]:
    """Check results for the outcomes whose check was selected in this run."""
    return selected_events(context, (check_result(asset_key, o) for o in outcomes))
