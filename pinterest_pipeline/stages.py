"""The two stages of a run, as plain functions over a SparkSession: the one stage API.

:func:`run_stage` is what a Dagster asset computes locally (``LocalCompute``)
and what the Pipes entrypoint computes in a child process, on Databricks or
under MWAA: every path calls it, so the tables, the metadata and the check
results are the same on every engine. :func:`typed_metadata` decides once how
each metadata value is shown and :func:`summary_line` how a result is printed.
Nothing here imports Dagster; results are plain dicts (JSON-able) that the
caller turns into Dagster metadata or Pipes messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from pinterest_pipeline import contract, settings
from pinterest_pipeline.progress import Heartbeat
from pinterest_pipeline.spark import small_queries
from pinterest_pipeline.transforms import clean as clean_rules
from pinterest_pipeline.transforms import insights as insight_sql
from pinterest_pipeline.transforms import io, latest
from pinterest_pipeline.transforms.validation import (
    CheckOutcome,
    count_rule_failures,
    observed_counts,
    run_clean_checks,
    run_insight_check,
)

PREVIEW_ROWS = 10
#: Tables of one stage computed at once (threads sharing the session): the kinds of a
#: date, or the insight tables. One table at a time leaves cores idle while the driver
#: plans, compiles and commits, and an insight's small jobs cannot fill them (about 7%
#: of a run --all on 2 cores, docs/benchmarks.md). Memory stays bounded: tasks share
#: the session's task slots whatever the number of jobs.
PARALLEL_JOBS = 4
STAGES = ("clean", "insights")
#: Metadata keys shown as markdown and as table paths; everything else is typed by value.
MARKDOWN_KEYS = frozenset({"preview"})
PATH_KEYS = frozenset({"table", "quarantine_table"})


@dataclass(frozen=True)
class Locations:
    """Where a run reads and writes (URIs already resolved)."""

    landing_uri: str
    warehouse_uri: str
    topic_prefix: str = contract.DEFAULT_TOPIC_PREFIX
    table_format: str = "parquet"  # "delta" on Databricks

    @classmethod
    def from_settings(
        cls,
        landing_uri: str | None = None,
        warehouse_uri: str | None = None,
        topic_prefix: str | None = None,
        table_format: str | None = None,
    ) -> Locations:
        """From the settings (environment or defaults); a given value wins over its setting."""
        return cls(
            landing_uri=settings.resolve_uri(landing_uri or settings.landing_uri()),
            warehouse_uri=settings.resolve_uri(warehouse_uri or settings.warehouse_uri()),
            topic_prefix=topic_prefix or settings.topic_prefix(),
            table_format=table_format or settings.table_format(),
        )


@dataclass
class StageResult:
    """One asset's outcome: materialization metadata and its check outcomes."""

    asset_key: tuple[str, ...]
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def key(self) -> str:
        return "/".join(self.asset_key)


def markdown_table(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    """Rows as a GitHub-flavoured markdown table (the UI's metadata preview)."""
    cols = list(columns)

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def preview(df: DataFrame, n: int = PREVIEW_ROWS) -> str:
    return markdown_table([r.asDict() for r in df.limit(n).collect()], df.columns)


def read_partition(spark: SparkSession, table: str, dt: str, fmt: str) -> DataFrame:
    """One written partition of a table, without its ``dt`` column."""
    df = io.read_table(spark, table, fmt)
    if df is None:
        raise MissingInput(f"{table} was not written")
    col = contract.PARTITION_COLUMN
    return df.where(df[col] == dt).drop(col)


def clean_partition(spark: SparkSession, kind: str, dt: str, loc: Locations) -> StageResult:
    """Clean one landing date of one record kind, write clean + quarantine, run checks."""
    started = time.monotonic()
    topic = contract.topic_name(kind, loc.topic_prefix)
    raw = io.read_landing(spark, loc.landing_uri, topic, dt)
    result = clean_rules.clean(kind, raw, dt)
    clean_table = contract.clean_path(loc.warehouse_uri, kind)
    quarantine_table = contract.quarantine_path(loc.warehouse_uri, kind)
    # The write also counts each value rule's failures: the checks re-read only the keys.
    to_write, rule_failures = count_rule_failures(kind, result.clean)
    io.write_partition(to_write, clean_table, dt, loc.table_format)
    result.written()
    io.write_partition(
        result.quarantine.drop(contract.PARTITION_COLUMN), quarantine_table, dt, loc.table_format
    )
    written = read_partition(spark, clean_table, dt, loc.table_format)
    checks = run_clean_checks(kind, written, observed_counts(rule_failures))
    stats = result.stats
    metadata: dict[str, Any] = {
        "topic": topic,
        "dt": dt,
        "rows_in": stats["rows_in"],
        "rows_out": stats["rows_out"],
        "quarantined": stats["quarantined"],
        "duplicates_collapsed": stats["duplicates_collapsed"],
        "conflicts": stats["conflicts"],
        "table": f"{clean_table}/dt={dt}",
        "quarantine_table": f"{quarantine_table}/dt={dt}",
        "seconds": round(time.monotonic() - started, 2),
        "preview": preview(written),
    }
    if stats["quarantined"]:
        quarantined = read_partition(spark, quarantine_table, dt, loc.table_format)
        metadata["quarantine_reasons"] = {
            r["reason"]: r["count"]
            for r in quarantined.groupBy("reason").count().orderBy("reason").collect()
        }
    return StageResult(("clean", kind), metadata, checks)


def read_clean_tables(spark: SparkSession, loc: Locations) -> dict[str, DataFrame]:
    """All partitions of the three clean tables (with ``dt``); raises if one was never built."""
    tables = {}
    for kind in contract.KINDS:
        df = io.read_table(spark, contract.clean_path(loc.warehouse_uri, kind), loc.table_format)
        if df is None:
            raise MissingInput(
                f"clean/{kind} has no partitions in {loc.warehouse_uri}; "
                "materialize a clean partition first (Dagster UI: clean/* > Materialize, "
                "or pinterest-pipeline run --all)"
            )
        tables[kind] = df
    return tables


class MissingInput(RuntimeError):
    """An upstream table does not exist yet."""


def in_parallel(work: Callable[[str], Any], names: Sequence[str]) -> list[Any]:
    """``work(name)`` for every name, :data:`PARALLEL_JOBS` at once; results in ``names`` order.

    Every call runs to its end, then the first failure (in ``names`` order) is
    raised, with a note naming each other failure. PySpark pins each Python
    thread to a JVM thread, so the jobs of each call are its own.
    """
    if len(names) < 2:
        return [work(n) for n in names]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_JOBS, len(names))) as pool:
        futures = [pool.submit(work, n) for n in names]
        wait(futures)
    failed = [(n, f.exception()) for n, f in zip(names, futures) if f.exception() is not None]
    if failed:
        first = failed[0][1]
        for name, exc in failed[1:]:
            first.add_note(f"{name} failed too: {type(exc).__name__}: {exc}")
        raise first
    return [f.result() for f in futures]


def build_insights(
    spark: SparkSession, names: Iterable[str], loc: Locations,
    skip: Mapping[str, Collection[str]] | None = None, log: Callable[[str], None] | None = None,
) -> list[StageResult]:
    """Compute the selected insight tables over all clean partitions but ``skip``, write, check.

    The inputs (one row per key, latest date wins) and their summaries are
    brought up to date first (:func:`latest.refresh`: only new dates are read on
    a normal night); the statements merge the summaries.
    """
    tables = read_clean_tables(spark, loc)
    # The statements merge the summaries kept with the inputs (a few thousand rows), not
    # the inputs themselves: on 11M keys scanning them took about 20 s of a 90 s night.
    _, refreshed = latest.refresh(spark, tables, loc.warehouse_uri, loc.table_format, skip, log)
    insight_sql.register(spark, refreshed.summaries)

    def build(name: str) -> StageResult:
        started = time.monotonic()
        path = contract.insight_path(loc.warehouse_uri, name)
        # An insight is a few rows: computed once by its write (one file, rows in key
        # order), then read back whole: the preview and the check show what was written.
        io.write_table(insight_sql.compute(spark, name).coalesce(1), path, loc.table_format)
        written = io.read_table(spark, path, loc.table_format)
        rows = written.collect()
        metadata = {
            "rows": len(rows),
            "table": path,
            "seconds": round(time.monotonic() - started, 2),
            "preview": markdown_table([r.asDict() for r in rows[:50]], written.columns),
        }
        check = run_insight_check(name, [r.asDict() for r in rows])
        return StageResult(("insights", name), metadata, [check])

    with small_queries(spark):  # a few thousand summary rows: no generated code
        return in_parallel(build, list(names))


def run_stage(
    spark: SparkSession,
    stage: str,
    loc: Locations,
    selected: Sequence[str],
    dt: str | None = None,
    log: Callable[[str], None] | None = None,
    skip: Mapping[str, Collection[str]] | None = None,
) -> list[StageResult]:
    """One stage: ``clean`` the ``selected`` kinds of date ``dt``, or build the ``selected``
    insights (over every clean date but those in ``skip``, per kind).

    With ``log``, a progress line goes there every ``PINTEREST_PROGRESS_SECONDS``
    while the stage runs (:mod:`pinterest_pipeline.progress`).
    """
    if log is None:
        return _run_stage(spark, stage, loc, selected, dt, log, skip)
    with Heartbeat(log, f"{stage} dt={dt}" if dt else stage):
        return _run_stage(spark, stage, loc, selected, dt, log, skip)


def _run_stage(spark, stage, loc, selected, dt, log, skip) -> list[StageResult]:
    if stage == "clean":
        if not dt:
            raise ValueError("the clean stage needs a landing date")

        def clean_kind(kind: str) -> StageResult:
            if log:
                log(f"cleaning {kind} for dt={dt}")
            return clean_partition(spark, kind, dt, loc)

        return in_parallel(clean_kind, list(selected))
    if stage != "insights":
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    if log:
        log(f"computing {len(selected)} insight tables: {', '.join(selected)}")
    return build_insights(spark, selected, loc, skip, log)


def metadata_type(key: str, value: Any) -> str:
    """How a metadata value is shown (a Dagster Pipes metadata type name)."""
    if key in MARKDOWN_KEYS:
        return "md"
    if key in PATH_KEYS:
        return "path"
    if isinstance(value, (dict, list, tuple)):
        return "json"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "null" if value is None else "text"


def typed_metadata(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Plain metadata as ``{"raw_value", "type"}`` pairs (Pipes' form; ``defs/metadata`` maps it locally)."""
    out = {}
    for key, value in values.items():
        kind = metadata_type(key, value)
        out[key] = {"raw_value": str(value) if kind == "text" else value, "type": kind}
    return out


def summary_line(key: str, meta: dict[str, Any]) -> str:
    """One line per materialized asset, as ``run`` and the entrypoint print it."""
    if "rows_in" in meta:
        return (
            f"{key}: {meta['rows_in']} lines -> {meta['rows_out']} rows, {meta['quarantined']} "
            f"quarantined, {meta['duplicates_collapsed']} duplicates collapsed "
            f"({meta['conflicts']} conflicts) [dt={meta['dt']}, {meta['seconds']} s]"
        )
    return f"{key}: {meta.get('rows')} rows [{meta.get('seconds')} s]"


def read_insight_rows(spark: SparkSession, name: str, loc: Locations) -> list[dict[str, Any]] | None:
    """The rows of a built insight table, or None if it was never built."""
    df = io.read_table(spark, contract.insight_path(loc.warehouse_uri, name), loc.table_format)
    return None if df is None else [r.asDict() for r in df.collect()]
