"""The insights report: one self-contained HTML page, a chart per insight table.

Reads the nine insight tables without Spark where it can (:func:`read_rows`),
takes each table's ``non_empty_unique_keys`` result from the Dagster instance
when it recorded one (else recomputes it from the rows), and writes an HTML
page that embeds plotly.js, so it opens offline. A missing or unreadable table
gets a clear message in its place, never a crash.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pinterest_pipeline import contract, settings
from pinterest_pipeline.report_charts import BASE_PX, ROW_PX, SEARCHABLE, TITLES, figure_json

REPORT_FILE = "insights.html"


@dataclass
class CheckStatus:
    passed: bool
    severity: str
    source: str  # where the result comes from: a Dagster run, or recomputed now
    details: dict[str, Any] = field(default_factory=dict)
    at: float | None = None  # epoch seconds Dagster recorded it


@dataclass
class Section:
    """One insight table in the report: its rows, or why there are none."""

    name: str
    rows: list[dict[str, Any]] | None = None
    problem: str | None = None
    check: CheckStatus | None = None
    computed_at: float | None = None  # epoch seconds the table was written


@dataclass
class Report:
    sections: list[Section]
    generated_at: float
    warehouse: str
    latest_landing: str | None
    latest_clean: str | None
    clean_written: float | None = None  # when a clean partition was last written (local)

    def stale(self, section: Section) -> bool:
        """Computed before the clean tables last changed."""
        return bool(section.computed_at and self.clean_written
                    and section.computed_at < self.clean_written)

    @property
    def problems(self) -> list[str]:
        out = [f"insights/{s.name}: {s.problem}" for s in self.sections if s.problem]
        out += [f"insights/{s.name}: check non_empty_unique_keys failed ({s.check.source})"
                for s in self.sections if s.check and not s.check.passed and not s.problem]
        return out


# --- reading --------------------------------------------------------------------


def read_rows(name: str, loc) -> list[dict[str, Any]] | None:
    """The rows of one insight table, or None if it was never built.

    Local Parquet with pyarrow, Delta (local or ``s3://``) with deltalake, other
    URIs (``dbfs:/``, ``abfss://``, ...) through Spark.
    """
    from pinterest_pipeline.transforms import io

    path = contract.insight_path(loc.warehouse_uri, name)
    local = io.is_local(path)
    if local and not os.path.isdir(io.local_path(path)):
        return None
    if loc.table_format == "delta" and (local or path.startswith("s3://")):
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            return DeltaTable(io.local_path(path) if local else path).to_pyarrow_table().to_pylist()
        except TableNotFoundError:
            return None
    if local:
        import pyarrow.parquet as pq

        return pq.read_table(io.local_path(path)).to_pylist()
    from pinterest_pipeline.spark import get_session
    from pinterest_pipeline.stages import read_insight_rows

    return read_insight_rows(get_session(remote=settings.get("PINTEREST_SPARK_REMOTE")), name, loc)


def read_section(name: str, loc) -> Section:
    path = contract.insight_path(loc.warehouse_uri, name)
    try:
        rows = read_rows(name, loc)
    except Exception as exc:  # noqa: BLE001 - an unreadable table is reported, not fatal
        return Section(name, problem=f"cannot read {path}: {type(exc).__name__}: {exc}"[:400])
    if rows is None:
        return Section(name, problem=f"not built yet: no table at {path} "
                                     "(run `pinterest-pipeline run --all`)")
    expected = [c for c, _ in contract.INSIGHT_COLUMNS[name]]
    found = list(rows[0]) if rows else expected
    missing = [c for c in expected if c not in found]
    if missing:
        return Section(name, rows=rows, problem=(
            f"columns {', '.join(missing)} missing in {path} (found {', '.join(found)}); "
            "rebuild it with `pinterest-pipeline run --all`"))
    written = os.path.getmtime(path) if os.path.isdir(path) else None
    return Section(name, rows=rows, computed_at=written)


def dagster_records(instance, names: list[str]) -> tuple[dict[str, CheckStatus], dict[str, float]]:
    """Latest recorded check results and materialization times of the insights in ``instance``."""
    import dagster as dg

    from pinterest_pipeline.transforms.validation import INSIGHT_CHECK

    keys = {n: dg.AssetCheckKey(dg.AssetKey(["insights", n]), INSIGHT_CHECK.name) for n in names}
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys.values()))
    checks, materialized = {}, {}
    for name, key in keys.items():
        record = latest.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is not None:
            run = f"Dagster run {record.run_id[:8]}" if record.run_id else "Dagster"
            checks[name] = CheckStatus(
                evaluation.passed, evaluation.severity.value,
                f"{run}, {_utc(record.event.timestamp)}",
                {k: v.value for k, v in evaluation.metadata.items()}, record.event.timestamp,
            )
        event = instance.get_latest_materialization_event(key.asset_key)
        if event is not None:
            materialized[name] = event.timestamp
    return checks, materialized


def recomputed_check(name: str, rows: list[dict[str, Any]]) -> CheckStatus:
    from pinterest_pipeline.transforms.validation import run_insight_check

    outcome = run_insight_check(name, rows)
    return CheckStatus(outcome.passed, outcome.severity, "recomputed from the rows",
                       outcome.metadata)


def freshness(loc) -> tuple[str | None, str | None, float | None]:
    """Latest landing date, latest clean partition and when one was last written (or None)."""
    from pinterest_pipeline.transforms import io

    try:
        from pinterest_pipeline.defs.resources import landed_dates

        landed = landed_dates()
    except Exception:  # noqa: BLE001 - an unreachable landing only leaves the date unknown
        landed = []
    partitions = [os.path.join(io.local_path(table), f"{contract.PARTITION_COLUMN}={dt}")
                  for table in (contract.clean_path(loc.warehouse_uri, k) for k in contract.KINDS)
                  if io.is_local(table) for dt in io.list_partitions(table)]
    latest = max((p.rsplit("=", 1)[1] for p in partitions), default=None)
    written = max((os.path.getmtime(p) for p in partitions), default=None)
    return (landed[-1] if landed else None), latest, written


def collect(loc, instance=None) -> Report:
    """Everything the page shows; ``instance``: a DagsterInstance to take check results from."""
    sections = [read_section(name, loc) for name in contract.INSIGHTS]
    names = list(contract.INSIGHTS)
    checks, materialized = dagster_records(instance, names) if instance else ({}, {})
    for s in sections:
        written = s.computed_at  # the files' time (local tables), whoever wrote them
        s.computed_at = written or materialized.get(s.name)
        if s.rows is None or s.problem:
            continue
        recorded = checks.get(s.name)
        if recorded and written and recorded.at < written:  # rewritten since Dagster checked it
            recorded = None
        s.check = recorded or recomputed_check(s.name, s.rows)
    return Report(sections, time.time(), loc.warehouse_uri, *freshness(loc))


# --- page -----------------------------------------------------------------------


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min ago" if minutes else "just now"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def status(section: Section) -> str:
    if section.problem:
        return "missing"
    return "passed" if section.check and section.check.passed else "failed"


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, int) and column != "post_year":
        return f"<td class='num'>{value:,}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _rows_table(name: str, rows: list[dict[str, Any]]) -> str:
    columns = [c for c, _ in contract.INSIGHT_COLUMNS[name]]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(c, r.get(c)) for c in columns) + "</tr>" for r in rows)
    return (f"<details><summary>Rows ({len(rows)})</summary>"
            f"<div class='rows'><table><tr>{head}</tr>{body}</table></div></details>")


def render_section(s: Section, now: float, stale: bool = False) -> str:
    title, question = TITLES[s.name]
    state = status(s)
    badge = {"passed": "check passed", "failed": "check failed", "missing": "no data"}[state]
    parts = [(f"<header><h2>{html.escape(title)}</h2>"
             f"<span class='badge {state}'>{badge}</span></header>"),
             f"<p class='question'>{html.escape(question)}</p>"]
    meta = [f"<code>insights/{s.name}</code>"]
    if s.rows is not None:
        meta.append(f"{len(s.rows):,} rows")
    if s.computed_at:
        meta.append(f"computed {_utc(s.computed_at)} ({_ago(now - s.computed_at)})")
    if stale:
        meta.append("<b class='stale'>stale: the clean tables changed since</b>")
    if s.check:
        meta.append(f"check non_empty_unique_keys ({s.check.severity}): "
                    f"{'passed' if s.check.passed else 'FAILED'}, {html.escape(s.check.source)}")
    parts.append(f"<p class='meta'>{' · '.join(meta)}</p>")
    if s.problem:
        parts.append(f"<div class='problem'>{html.escape(s.problem)}</div>")
    elif s.rows:
        chart = f"chart-{s.name}"
        if s.name in SEARCHABLE:
            parts.append(f"<input type='search' class='search' data-chart='{chart}' "
                         f"data-row-px='{ROW_PX}' data-base-px='{BASE_PX}' "
                         f"placeholder='Search a country…' aria-label='search a country'>"
                         f"<span class='matches' id='{chart}-matches'>"
                         f"{len(s.rows)} countries</span>")
        figure = figure_json(s.name, s.rows).replace("</", "<\\/")
        parts.append(f"<div class='scroll'><div class='chart' id='{chart}'></div></div>"
                     f"<script type='application/json' data-chart='{chart}'>{figure}</script>")
        parts.append(_rows_table(s.name, s.rows))
    if s.check and not s.check.passed:
        details = json.dumps(s.check.details, indent=2, default=str)
        parts.append("<details open><summary>check details</summary>"
                     f"<pre>{html.escape(details)}</pre></details>")
    wide = " wide" if s.name in SEARCHABLE else ""
    return (f"<section class='card{wide}' id='t-{s.name}' data-table='{s.name}' "
            f"data-status='{state}'>{''.join(parts)}</section>")


def render(report: Report) -> str:
    """The report as one HTML page with plotly.js inlined (no network needed)."""
    from plotly.offline import get_plotlyjs

    states = [status(s) for s in report.sections]
    facts = [f"generated {_utc(report.generated_at)}",
             f"warehouse <code>{html.escape(report.warehouse)}</code>",
             f"latest landing date <b>{report.latest_landing or 'unknown'}</b>",
             f"latest clean partition <b>{report.latest_clean or 'unknown'}</b>",
             f"tables built {len(states) - states.count('missing')} / {len(states)}",
             f"checks passed {states.count('passed')} / {len(states)}"]
    nav = "".join(f"<a class='{state}' href='#t-{s.name}'><span class='dot'></span>{s.name}</a>"
                  for s, state in zip(report.sections, states))
    alerts = [html.escape(p) for p in report.problems]
    landing, clean = report.latest_landing, report.latest_clean
    if landing and clean and landing > clean:
        alerts.append(f"records landed for dt={landing}, after the latest clean "
                      f"partition dt={clean}: the insights do not include them yet "
                      "(run `pinterest-pipeline run --all`)")
    stale = [s.name for s in report.sections if report.stale(s)]
    if stale:
        alerts.append(f"computed before the clean tables last changed ({_utc(report.clean_written)}"
                      f"): {', '.join(stale)}; rebuild the insights to include the new rows")
    with open(os.path.join(os.path.dirname(__file__), "report.html"), encoding="utf-8") as fh:
        page = fh.read()
    replacements = {
        "{{FACTS}}": "".join(f"<span>{f}</span>" for f in facts),
        "{{NAV}}": nav,
        "{{ALERTS}}": "".join(f"<div class='alert'>{a}</div>" for a in alerts),
        "{{SECTIONS}}": "\n".join(
            render_section(s, report.generated_at, report.stale(s)) for s in report.sections),
        "{{PLOTLYJS}}": get_plotlyjs(),  # last: the library's own text is not scanned for markers
    }
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page


# --- writing --------------------------------------------------------------------


def locations():
    """Where the tables are, from the settings (the same ones the CLI runs use)."""
    from pinterest_pipeline.stages import Locations

    return Locations.from_settings()


def default_path(loc) -> str:
    """``<warehouse>/reports/insights.html``; ``./data/reports/`` when the warehouse is remote."""
    base = loc.warehouse_uri if "://" not in loc.warehouse_uri else settings.resolve_uri("./data")
    return os.path.join(base, "reports", REPORT_FILE)


def write_report(out: str | None = None, instance=None, loc=None) -> tuple[str, Report]:
    """Collect, render and write the page atomically; returns its path and what it shows."""
    loc = loc or locations()
    report = collect(loc, instance)
    path = os.path.abspath(out or default_path(loc))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    staging = f"{path}.tmp-{os.getpid()}"
    with open(staging, "w", encoding="utf-8") as fh:
        fh.write(render(report))
    os.replace(staging, path)
    return path, report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE",
                        help=f"where to write the page (default <warehouse>/reports/{REPORT_FILE})")


def main(args: argparse.Namespace) -> int:
    """``pinterest-pipeline report``: non-zero when a table is missing or a check failed."""
    home = settings.resolve_uri(settings.get("DAGSTER_HOME"))
    if os.path.isdir(home):
        from dagster import DagsterInstance

        os.environ["DAGSTER_HOME"] = home
        with DagsterInstance.get() as instance:
            path, report = write_report(args.out, instance)
    else:
        path, report = write_report(args.out)
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"insights report: {path}")
    return 1 if report.problems else 0
