"""What Dagster adds: the same stages called directly and through a Dagster run.

``python -m benchmarks.orchestration --landing DIR [--json] [--quick]``

In one process and on one SparkSession: a first direct pass warms the JIT and
the page cache (and the code location is imported); then the same stage
functions are called directly (``stages.run_stage``: the clean stage of every
landed date, its three kinds at once, then the insights stage; then
``report.write_report``, as the run's ``reports/insights`` asset does), then
``pinterest-pipeline run --all``'s code path runs
(:func:`pinterest_pipeline.runner.run_dates`: Dagster runs recorded in a
scratch instance, with checks and metadata), then the direct calls again. The
baseline is the mean of the two direct passes, so JIT warming favours neither
side. Each pass writes its own warehouse. Prints both times and their ratio.
``--quick`` (``make test``'s smoke run) skips the warm-up and the second direct
pass: the same code paths, in half the time, with a ratio that means nothing.
"""

from __future__ import annotations

import argparse
import io as _io
import json
import os
import sys
import tempfile
import time


def _direct(landing: str, warehouse: str, dates: list[str]) -> float:
    """What a run does, without Dagster: the clean stage of every date (its three kinds
    at once), the insights stage, the report."""
    from pinterest_pipeline import contract, report, stages
    from pinterest_pipeline.spark import get_session

    spark = get_session()
    loc = stages.Locations(landing_uri=landing, warehouse_uri=warehouse)
    started = time.perf_counter()
    for dt in dates:
        stages.run_stage(spark, "clean", loc, contract.KINDS, dt)
    stages.run_stage(spark, "insights", loc, contract.INSIGHTS)
    report.write_report(loc=loc)
    return time.perf_counter() - started


def measure(landing: str, quick: bool = False) -> dict[str, float]:
    work = tempfile.mkdtemp(prefix="pinterest-orchestration-")
    os.environ.update(PINTEREST_LANDING_URI=landing, DAGSTER_HOME=os.path.join(work, "dagster"),
                      PINTEREST_WAREHOUSE_URI=os.path.join(work, "dagster-warehouse"))
    from pinterest_pipeline.defs.resources import landed_dates
    from pinterest_pipeline.runner import run_dates

    dates = landed_dates()
    os.environ.setdefault("PINTEREST_START_DATE", min(dates))
    # Warm-up: JIT, page cache, and the code location imported (as in a running
    # `dagster dev` or daemon); the timed runs then compare run against run.
    if not quick:
        _direct(landing, os.path.join(work, "warm-up"), dates)
    from pinterest_pipeline.definitions import defs

    defs.resolve_job_def("clean")
    # Direct before and after the Dagster run, so JIT warming favours neither side.
    before = _direct(landing, os.path.join(work, "direct-before"), dates)
    started = time.perf_counter()
    outcome = run_dates(None, out=_io.StringIO())
    dagster = time.perf_counter() - started
    if not outcome.ok:
        raise RuntimeError(f"run --all failed: {outcome.problems}")
    after = before if quick else _direct(landing, os.path.join(work, "direct-after"), dates)
    direct = (before + after) / 2
    return {"direct_s": round(direct, 2), "dagster_s": round(dagster, 2),
            "ratio": round(dagster / direct, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orchestration",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--landing", required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="no warm-up, one direct pass (checks that it runs; the ratio means nothing)")
    args = parser.parse_args(argv)
    result = measure(os.path.abspath(args.landing), quick=args.quick)
    print(json.dumps(result) if args.json else
          f"direct {result['direct_s']} s, Dagster {result['dagster_s']} s, ratio {result['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
