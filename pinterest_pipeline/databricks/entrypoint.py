"""``pinterest-pipeline-databricks``: one stage of a run, on whatever Spark this process has.

The job that Dagster's ``DatabricksCompute`` submits, and the task the MWAA DAG
runs, is this module as a ``python_wheel_task`` (package ``pinterest_pipeline``,
entry point ``pinterest-pipeline-databricks``)::

    pinterest-pipeline-databricks --stage clean --date 2024-01-02 [--kinds pin,geo,user]
    pinterest-pipeline-databricks --stage insights [--names top_category_by_country,...]

It calls the same stage API as a local Dagster run (``stages.run_stage``,
``stages.typed_metadata``, ``stages.summary_line``), so tables, metadata and
check outcomes are the same on every engine. Where it reads and writes comes from the environment
(``PINTEREST_LANDING_URI``, ``PINTEREST_WAREHOUSE_URI``,
``PINTEREST_TOPIC_PREFIX``, ``PINTEREST_TABLE_FORMAT``; a job cluster gets them
as ``spark_env_vars``) or from the ``--landing-uri``/... options (an existing
cluster, whose environment a run cannot change).

Launched by Dagster Pipes (``DAGSTER_PIPES_*`` environment variables on a job
cluster, ``--dagster-pipes-*`` parameters on an existing cluster), it reports
one materialization per computed asset and one check result per check outcome
back to Dagster and exits 0 even if a check failed: Dagster records the check
and applies its blocking rule (its log lines, progress included, go to Dagster's
event log). Launched any other way (MWAA, by hand), it prints a summary on stdout,
what it does and its progress on stderr, and exits non-zero if a blocking check
failed; an error
always ends the process with a traceback and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    PipesContext,
    PipesContextLoader,
    PipesDbfsContextLoader,
    PipesDbfsMessageWriter,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesEnvVarParamsLoader,
    PipesMappingParamsLoader,
    PipesMessageWriter,
    PipesParamsLoader,
    PipesUnityCatalogVolumesContextLoader,
    PipesUnityCatalogVolumesMessageWriter,
    open_dagster_pipes,
)

from pinterest_pipeline import contract, settings
from pinterest_pipeline.dates import valid_date

PROG = "pinterest-pipeline-databricks"
STAGES = ("clean", "insights")  # stages.STAGES, without importing Spark for --help


# --- arguments ----------------------------------------------------------------------


def _names(allowed: Sequence[str], what: str):
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown) or repr(text)}; expected some of {', '.join(allowed)}"
            )
        return names

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one stage of the Pinterest pipeline on this process's Spark "
        "(a Databricks cluster, Spark Connect or local Spark).",
    )
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument("--date", type=valid_date, help="landing date YYYY-MM-DD (clean stage)")
    parser.add_argument(
        "--kinds",
        type=_names(contract.KINDS, "record kind"),
        default=list(contract.KINDS),
        help="clean stage: comma-separated, default all",
    )
    parser.add_argument(
        "--names",
        type=_names(contract.INSIGHTS, "insight table"),
        default=list(contract.INSIGHTS),
        help="insights stage: comma-separated, default all",
    )
    # Locations: default from the environment (job clusters get them as spark_env_vars).
    parser.add_argument("--landing-uri", help="default: $PINTEREST_LANDING_URI")
    parser.add_argument("--warehouse-uri", help="default: $PINTEREST_WAREHOUSE_URI")
    parser.add_argument("--topic-prefix", help="default: $PINTEREST_TOPIC_PREFIX")
    parser.add_argument(
        "--table-format",
        choices=("parquet", "delta"),
        help="default: $PINTEREST_TABLE_FORMAT, else delta on Databricks or "
        "PINTEREST_DEPLOYMENT=prod, parquet elsewhere",
    )
    # Pipes bootstrap parameters, appended by dagster-databricks on an existing cluster.
    parser.add_argument("--dagster-pipes-context", help=argparse.SUPPRESS)
    parser.add_argument("--dagster-pipes-messages", help=argparse.SUPPRESS)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stage == "clean" and not args.date:
        parser.error("--stage clean needs --date YYYY-MM-DD")
    args.selected = args.kinds if args.stage == "clean" else args.names
    return args


def command_line(stage: str, selected: Sequence[str], dt: str | None = None) -> list[str]:
    """The parameters of one stage invocation (what :func:`parse_args` reads back)."""
    if stage == "clean":
        return ["--stage", "clean", "--date", str(dt), "--kinds", ",".join(selected)]
    return ["--stage", "insights", "--names", ",".join(selected)]


def location_options(loc) -> list[str]:
    """Where to read and write as options (an existing cluster's environment is fixed)."""
    return ["--landing-uri", loc.landing_uri, "--warehouse-uri", loc.warehouse_uri,
            "--topic-prefix", loc.topic_prefix, "--table-format", loc.table_format]


def location_env(loc) -> dict[str, str]:
    """Where to read and write as environment variables (a job cluster, a child process)."""
    return {
        "PINTEREST_LANDING_URI": loc.landing_uri,
        "PINTEREST_WAREHOUSE_URI": loc.warehouse_uri,
        "PINTEREST_TOPIC_PREFIX": loc.topic_prefix,
        "PINTEREST_TABLE_FORMAT": loc.table_format,
    }


# --- environment ------------------------------------------------------------------------


def locations(args: argparse.Namespace):
    from pinterest_pipeline.stages import Locations

    return Locations.from_settings(
        args.landing_uri, args.warehouse_uri, args.topic_prefix, args.table_format
    )


def spark_session():
    """The cluster's session on Databricks; else local Spark or Spark Connect, as locally."""
    from pinterest_pipeline.spark import get_session, session_from_config

    if settings.on_databricks():
        return session_from_config({})  # the cluster's session, with the session settings
    return get_session(
        master=settings.get("PINTEREST_SPARK_MASTER"), remote=settings.get("PINTEREST_SPARK_REMOTE"),
        record_classes=True,
    )


def params_loader(args: argparse.Namespace) -> PipesParamsLoader:
    """Pipes parameters from ``--dagster-pipes-*`` (existing cluster) or the environment."""
    if args.dagster_pipes_context:
        return PipesMappingParamsLoader(
            {
                DAGSTER_PIPES_CONTEXT_ENV_VAR: args.dagster_pipes_context,
                DAGSTER_PIPES_MESSAGES_ENV_VAR: args.dagster_pipes_messages or "",
            }
        )
    return PipesEnvVarParamsLoader()


def pipes_io(loader: PipesParamsLoader) -> tuple[PipesContextLoader, PipesMessageWriter]:
    """How the context and the messages travel, from where the launcher put them.

    A ``/Volumes/...`` path: Unity Catalog volume; other paths on Databricks: DBFS;
    anywhere else (``PipesSubprocessClient``): the default temp files.
    """
    path = str(loader.load_messages_params().get("path") or "")
    if path.startswith("/Volumes/"):
        return PipesUnityCatalogVolumesContextLoader(), PipesUnityCatalogVolumesMessageWriter(
            interval=1
        )
    if settings.on_databricks():
        return PipesDbfsContextLoader(), PipesDbfsMessageWriter(interval=1)
    return PipesDefaultContextLoader(), PipesDefaultMessageWriter()


# --- the stage ---------------------------------------------------------------------------


def report(pipes: PipesContext, results: Sequence) -> None:
    """One materialization per asset, then one check result per outcome (the local order)."""
    from pinterest_pipeline.stages import typed_metadata

    for result in results:
        pipes.report_asset_materialization(
            asset_key=result.key, metadata=typed_metadata(result.metadata)
        )
        for outcome in result.checks:
            pipes.report_asset_check(
                check_name=outcome.name,
                passed=bool(outcome.passed),
                severity=outcome.severity,
                metadata=typed_metadata(outcome.metadata),
                asset_key=result.key,
            )


def failed_checks(results: Sequence) -> list[tuple[str, Any]]:
    return [(r.key, o) for r in results for o in r.checks if not o.passed]


def summarize(results: Sequence, out: TextIO = sys.stdout) -> None:
    from pinterest_pipeline.stages import summary_line

    for result in results:
        checks = ", ".join(f"{o.name} {'ok' if o.passed else 'FAILED'}" for o in result.checks)
        print(f"{summary_line(result.key, result.metadata)} -> {result.metadata.get('table')} "
              f"[{checks}]", file=out)
    for key, outcome in failed_checks(results):
        print(
            f"check {key}:{outcome.name} failed ({outcome.severity}): {outcome.metadata}", file=out
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stage; under Pipes report to Dagster, else print a summary.

    Returns 0; raises ``SystemExit(1)`` when, outside Pipes, a blocking check
    failed (a Databricks wheel task ignores return values, not exits).
    """
    from pinterest_pipeline.stages import run_stage

    args = parse_args(argv)
    loc = locations(args)
    spark = spark_session()  # before Pipes: the DBFS writer asks the active session for log paths
    loader = params_loader(args)
    if loader.is_dagster_pipes_process():
        context_loader, message_writer = pipes_io(loader)
        with open_dagster_pipes(
            params_loader=loader, context_loader=context_loader, message_writer=message_writer
        ) as pipes:
            results = run_stage(spark, args.stage, loc, args.selected, args.date, log=pipes.log.info)
            report(pipes, results)
        return 0
    print(
        f"{PROG}: stage {args.stage} ({loc.table_format}) landing={loc.landing_uri} "
        f"warehouse={loc.warehouse_uri}",
        flush=True,
    )
    # What the stage does, and a progress line every PINTEREST_PROGRESS_SECONDS: on stderr.
    results = run_stage(spark, args.stage, loc, args.selected, args.date,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    summarize(results)
    if any(o.blocking for _, o in failed_checks(results)):
        print(f"{PROG}: a blocking check failed", file=sys.stderr)
        sys.exit(1)
    return 0


if __name__ == "__main__":
    main()
