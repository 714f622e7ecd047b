"""Materialize through Dagster's own API, recorded in the Dagster instance.

``pinterest-pipeline run`` uses this, so its runs show up in ``dagster dev``
afterwards exactly like runs launched from the UI or the schedule. All runs of
one command execute in this process, so they share one SparkSession. While a
run works, a progress line goes to stderr every ``PINTEREST_PROGRESS_SECONDS``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

from pinterest_pipeline import settings
from pinterest_pipeline.defs.resources import landed_dates
from pinterest_pipeline.progress import Heartbeat
from pinterest_pipeline.stages import summary_line


def prepare_dagster_home() -> str:
    """Make sure DAGSTER_HOME exists (default ./data/dagster) and is absolute."""
    home = settings.resolve_uri(settings.get("DAGSTER_HOME"))
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        with open(config, "w") as fh:
            fh.write("# Dagster instance of pinterest-pipeline (storage defaults to this folder).\n"
                     "telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = home
    return home


@dataclass
class RunOutcome:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


@dataclass
class DatePlan:
    dates: list[str]
    too_early: list[str]
    too_late: list[str]


def plan_dates(requested: list[str], partitions=None) -> DatePlan:
    """Split landing dates into partitions and dates outside ``partitions`` (default: ``daily``)."""
    from pinterest_pipeline.defs.partitions import daily

    partitions = partitions or daily
    start = partitions.start.strftime("%Y-%m-%d")
    last = partitions.get_last_partition_key()  # None while the start is in the future
    return DatePlan(
        dates=sorted(d for d in requested if start <= d and last and d <= last),
        too_early=sorted(d for d in requested if d < start),
        too_late=sorted(d for d in requested if d >= start and (not last or d > last)),
    )


def _describe_failure(result) -> list[tuple[str, bool]]:
    """(problem, fails the command) per failed step and failed check; a WARN check does not fail it."""
    from dagster import AssetCheckSeverity

    problems = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.message.strip() if error else "unknown error"
            problems.append((f"step {event.step_key} failed: {message}", True))
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            severity = evaluation.severity
            key = "/".join(evaluation.asset_key.path)
            details = {k: v.value for k, v in evaluation.metadata.items()}
            problems.append((f"check {key}:{evaluation.check_name} failed ({severity.value}): {details}",
                             severity != AssetCheckSeverity.WARN))
    return problems


def _summarize(result, out: TextIO) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        key = "/".join(mat.asset_key.path)
        stage = "rows_in" in meta or "rows" in meta  # a clean or insight table, else the report
        line = summary_line(key, meta) if stage else f"{key}: {meta.get('dagster/uri')}"
        print(f"  {line}", file=out)


def _progress(line: str) -> None:
    """A progress line of a run (:mod:`pinterest_pipeline.progress`): stderr, stdout has the results."""
    print(f"  ... {line}", file=sys.stderr, flush=True)


def _execute(job_name: str, partition_key: str | None, outcome: RunOutcome, out: TextIO) -> None:
    from dagster import DagsterInstance

    from pinterest_pipeline.definitions import defs

    job = defs.resolve_job_def(job_name)
    label = f"{job_name}" + (f" dt={partition_key}" if partition_key else "")
    print(f"run {label} ...", file=out, flush=True)
    with DagsterInstance.get() as instance, Heartbeat(_progress, label):
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition_key,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": settings.get("PINTEREST_LOG_LEVEL")}}}},
        )
    outcome.run_ids.append(result.run_id)
    _summarize(result, out)
    problems = _describe_failure(result)
    blocking = [p for p, fails in problems if fails]
    for p, _ in problems:
        print(f"  ! {p}", file=out)
    if not result.success or blocking:
        outcome.ok = False
        outcome.problems += blocking or [f"run {result.run_id} of {label} failed"]


def run_dates(dates: list[str] | None, out: TextIO = sys.stdout) -> RunOutcome:
    """``run --date D`` or ``run --all`` (dates=None).

    One date is one run of the nightly job (its clean partitions, then the
    insights); several dates are a clean run per date, then an insights run.
    """
    prepare_dagster_home()
    outcome = RunOutcome()
    requested = landed_dates() if dates is None else dates
    plan = plan_dates(requested)
    start = settings.start_date()
    if plan.too_early:
        outcome.ok = False
        outcome.problems.append(
            f"landing dates before PINTEREST_START_DATE={start} are not partitions and were not "
            f"cleaned: {', '.join(plan.too_early)} (set PINTEREST_START_DATE={plan.too_early[0]})"
        )
    if plan.too_late:
        outcome.ok = False
        outcome.problems.append(f"dates in the future are not partitions: {', '.join(plan.too_late)}")
    if dates is None and not requested:
        outcome.ok = False
        outcome.problems.append(
            f"nothing has landed in {settings.resolve_uri(settings.landing_uri())} "
            f"for topic prefix {settings.topic_prefix()!r}; run `pinterest-pipeline emulate` first"
        )
        return outcome
    if dates is not None:
        missing = sorted(set(plan.dates) - set(landed_dates()))
        if missing:
            outcome.ok = False
            outcome.problems.append(
                f"nothing has landed for dt={', '.join(missing)} in "
                f"{settings.resolve_uri(settings.landing_uri())} (topic prefix "
                f"{settings.topic_prefix()!r}); landed dates: {', '.join(landed_dates()) or 'none'}"
            )
            return outcome
    if len(plan.dates) == 1:  # one date: clean it and build the insights in one run
        _execute("nightly", plan.dates[0], outcome, out)
        return outcome
    cleaned = RunOutcome()
    for dt in plan.dates:
        _execute("clean", dt, cleaned, out)
    outcome.run_ids += cleaned.run_ids
    if not cleaned.ok:
        outcome.ok = False
        outcome.problems += cleaned.problems + ["insights not rebuilt: a clean run failed"]
    elif plan.dates:
        _execute("insights", None, outcome, out)
    return outcome
