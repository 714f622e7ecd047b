"""``pinterest-pipeline``: parses the command line and dispatches (run, show, report, stack).

``demo`` and ``emulate`` belong to the emulator, which plugs them in through the
``pinterest_pipeline.commands`` entry points (see ``emulator/commands.py``):
the pipeline never imports the emulator.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from pinterest_pipeline import contract, settings
from pinterest_pipeline.dates import valid_date

#: Entry-point group of commands other packages add (the emulator's demo and emulate).
COMMANDS = "pinterest_pipeline.commands"

# --- commands --------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from pinterest_pipeline.progress import interval

    try:  # a bad setting is an error before anything starts
        interval()
        settings.start_date()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    starting = None
    if settings.get("PINTEREST_DEPLOYMENT") == "local":  # the run computes in this process
        from pinterest_pipeline.spark import start_in_background

        starting = start_in_background(settings.get("PINTEREST_SPARK_MASTER"),
                                       settings.get("PINTEREST_SPARK_REMOTE"))
    from pinterest_pipeline.runner import run_dates

    outcome = run_dates(None if args.all else [args.date])
    if starting is not None:
        starting.join()  # a run that ended early (nothing landed) leaves no JVM half started
    if outcome.ok:
        print(f"ok: {len(outcome.run_ids)} Dagster run(s) recorded in {os.environ['DAGSTER_HOME']}")
        return 0
    for problem in outcome.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1


def cmd_show(args: argparse.Namespace) -> int:
    from pinterest_pipeline.show import show

    return show([args.table] if args.table else list(contract.INSIGHTS))


def cmd_stack(args: argparse.Namespace) -> int:
    from pinterest_pipeline.ingest import stack

    return stack.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinterest-pipeline",
        description="Pinterest post stream end to end: emulate, ingest, clean, check, insights.",
        epilog="Settings come from environment variables: "
        + ", ".join(settings.SETTINGS)
        + ". See README.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for command in sorted(entry_points(group=COMMANDS), key=lambda ep: ep.name):
        command.load()(sub)  # demo, emulate (emulator/commands.py)

    run = sub.add_parser("run", help="materialize clean partitions and insights through Dagster")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=valid_date, help="one landing date YYYY-MM-DD")
    which.add_argument("--all", action="store_true", help="every landed date")
    run.set_defaults(func=cmd_run)

    show_p = sub.add_parser("show", help="print insight tables as aligned text")
    show_p.add_argument("table", nargs="?", choices=contract.INSIGHTS, metavar="TABLE",
                        help="one of: " + ", ".join(contract.INSIGHTS))
    show_p.set_defaults(func=cmd_show)

    from pinterest_pipeline.ingest import stack

    stack_p = sub.add_parser("stack", help="local broker, REST proxy and S3 sink: up|down|status")
    stack.add_arguments(stack_p)
    stack_p.set_defaults(func=cmd_stack)
    from pinterest_pipeline import report

    report_p = sub.add_parser("report", help="write the insights report: HTML, a chart per table")
    report.add_arguments(report_p)
    report_p.set_defaults(func=report.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def console() -> None:
    """The ``pinterest-pipeline`` command: :func:`main`, then exit with its code.

    The interpreter's last garbage collections would walk every object that
    Dagster and PySpark made (about 0.8 s after a ``run``, for nothing: the
    process is ending), so they are frozen out of them first. Everything else
    at exit happens as usual (``atexit`` functions, flushing, the JVM's stop).
    """
    code = main()
    gc.disable()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
