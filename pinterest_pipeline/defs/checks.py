"""Check-only runs ("Execute" on a check in the UI): check what is already written.

A run that selects a check but not its asset materializes nothing: it reads the
table (a clean partition, or an insight table) and evaluates the same checks as
a materialization does. A clean check run without a partition checks every
written date and reports which ones fail.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import dagster as dg

from pinterest_pipeline import contract, stages
from pinterest_pipeline.defs.metadata import selected_checks
from pinterest_pipeline.transforms import io
from pinterest_pipeline.transforms.validation import (
    MAX_FAILURE_CASES,
    CheckOutcome,
    run_clean_checks,
    run_insight_check,
)


def partitioned_check_spec(**kwargs) -> dg.AssetCheckSpec:
    """An AssetCheckSpec with ``partitions_def`` (a preview API in Dagster 1.13; the warning is known)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(**kwargs)


def _session(compute):
    spark = getattr(compute, "spark", None)
    if spark is None:
        raise dg.Failure(
            "a check-only run reads the table with local Spark or Spark Connect, which this "
            "deployment has no session for: materialize the partition instead (its checks run with it)"
        )
    return spark.spark_session, compute.pipeline.locations()


def clean_checks_only(context: dg.AssetExecutionContext, compute, kinds: Sequence[str],
                      dt: str) -> Iterator[dg.AssetCheckResult]:
    """The selected checks of ``clean/<kind>`` for partition ``dt``, on the written partition."""
    spark, loc = _session(compute)
    for kind in kinds:
        table = contract.clean_path(loc.warehouse_uri, kind)
        try:
            df = stages.read_partition(spark, table, dt, loc.table_format)
        except stages.MissingInput:
            df = None
        if df is None or df.limit(1).count() == 0:
            raise dg.Failure(f"clean/{kind} has no partition dt={dt} in {table}: materialize it "
                             "first (its checks run with it)")
        context.log.info(f"checking clean/{kind} dt={dt} as written in {table}")
        yield from selected_checks(context, dg.AssetKey(["clean", kind]), run_clean_checks(kind, df))


def clean_checks_every_partition(context: dg.AssetExecutionContext, compute,
                                 kinds: Sequence[str]) -> Iterator[dg.AssetCheckResult]:
    """Without a partition ("Execute all" on the checks): each check over every written date.

    One result per check: passed if it passed on every date; the failed dates and their
    failure cases (with their ``dt``) in the metadata.
    """
    spark, loc = _session(compute)
    for kind in kinds:
        table = contract.clean_path(loc.warehouse_uri, kind)
        df = io.read_table(spark, table, loc.table_format)
        dates = [] if df is None else sorted(
            r[0] for r in df.select(contract.PARTITION_COLUMN).distinct().collect())
        if not dates:
            raise dg.Failure(f"clean/{kind} has no partitions in {table}: materialize one first")
        context.log.info(f"checking clean/{kind} on every written date: {', '.join(dates)}")
        by_check: dict[str, list[tuple[str, CheckOutcome]]] = {}
        for dt in dates:
            written = stages.read_partition(spark, table, dt, loc.table_format)
            for outcome in run_clean_checks(kind, written):
                by_check.setdefault(outcome.name, []).append((dt, outcome))
        outcomes = []
        for name, results in by_check.items():
            failed = [(dt, o) for dt, o in results if not o.passed]
            cases = [{"dt": dt, **case} for dt, o in failed
                     for case in o.metadata.get("failure_cases", [])][:MAX_FAILURE_CASES]
            first = results[0][1]
            outcomes.append(CheckOutcome(name, not failed, first.severity, first.blocking,
                                         first.description, {
                "scope": "every written date (no partition chosen)",
                "dates_checked": len(results),
                "failed_dates": ", ".join(dt for dt, _ in failed) or "none",
                **({"failure_cases": cases} if cases else {}),
            }))
        yield from selected_checks(context, dg.AssetKey(["clean", kind]), outcomes)


def insight_checks_only(context: dg.AssetExecutionContext, compute,
                        names: Sequence[str]) -> Iterator[dg.AssetCheckResult]:
    """The selected checks of the named insight tables, on the written tables."""
    spark, loc = _session(compute)
    for name in names:
        rows = stages.read_insight_rows(spark, name, loc)
        if rows is None:
            raise dg.Failure(f"insights/{name} was not written to "
                             f"{contract.insight_path(loc.warehouse_uri, name)}: materialize it first")
        key = dg.AssetKey(["insights", name])
        yield from selected_checks(context, key, [run_insight_check(name, rows)])


def checked_only(context: dg.AssetExecutionContext, keys: dict[str, dg.AssetKey]) -> list[str]:
    """Names (of ``keys``) whose checks are selected in this run but whose asset is not."""
    checked = {k.asset_key for k in context.selected_asset_check_keys}
    return [n for n, key in keys.items() if key in checked and key not in context.selected_asset_keys]
