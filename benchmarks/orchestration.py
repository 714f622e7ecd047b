"""What Dagster adds: the same stages called directly and through a Dagster run.

``python -m benchmarks.orchestration --landing DIR [--json] [--rounds N] [--quick]``

In one process and on one SparkSession: a first direct pass warms the JIT and
the page cache (and the code location is imported). Then, ``--rounds`` times
(default 2): the stage functions called directly (``stages.run_stage``: the
clean stage of every landed date, its three kinds at once, then the insights
stage; then ``report.write_report``, as the run's ``reports/insights`` asset
does), then ``pinterest-pipeline run --all``'s code path
(:func:`pinterest_pipeline.runner.run_dates`: Dagster runs recorded in a
scratch instance, with checks and metadata); a last direct pass ends it, so
JIT warming favours neither side. The ratio is of the means (this machine's
noise moves single passes by 10 % or more). Each direct pass writes its own
warehouse. ``--quick`` (``make test``'s smoke run) skips the warm-up and times
one of each: the same code paths, with a ratio that means nothing.
"""

from __future__ import annotations

import argparse
import io as _io
import json
import os
import shutil
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


def measure(landing: str, quick: bool = False, rounds: int = 2) -> dict[str, float]:
    work = tempfile.mkdtemp(prefix="pinterest-orchestration-")
    try:
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
        # Direct, Dagster, direct, Dagster, ..., direct: JIT warming favours neither side,
        # and the means of several passes damp this machine's noise.
        rounds = 1 if quick else max(1, rounds)
        direct, dagster = [], []
        for n in range(rounds):
            direct.append(_direct(landing, os.path.join(work, f"direct-{n}"), dates))
            started = time.perf_counter()
            outcome = run_dates(None, out=_io.StringIO())
            dagster.append(time.perf_counter() - started)
            if not outcome.ok:
                raise RuntimeError(f"run --all failed: {outcome.problems}")
        if not quick:
            direct.append(_direct(landing, os.path.join(work, f"direct-{rounds}"), dates))
        mean_direct, mean_dagster = sum(direct) / len(direct), sum(dagster) / len(dagster)
        return {"direct_s": round(mean_direct, 2), "dagster_s": round(mean_dagster, 2),
                "ratio": round(mean_dagster / mean_direct, 3), "rounds": rounds,
                "direct_passes": [round(x, 2) for x in direct],
                "dagster_passes": [round(x, 2) for x in dagster]}
    finally:  # the warehouses of every pass: hundreds of MB at 1,000,000 posts
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orchestration",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--landing", required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="no warm-up, one direct pass (checks that it runs; the ratio means nothing)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="Dagster runs, each after a direct pass (one more direct pass ends it)")
    args = parser.parse_args(argv)
    result = measure(os.path.abspath(args.landing), quick=args.quick, rounds=args.rounds)
    print(json.dumps(result) if args.json else
          f"direct {result['direct_s']} s, Dagster {result['dagster_s']} s, ratio {result['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
