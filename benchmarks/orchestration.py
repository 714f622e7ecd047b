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

Within each Dagster run the time spent inside the stage functions it calls
(``stages.run_stage`` and ``report.write_report``, which the assets call) is
measured too: the rest of the run's wall time is Dagster's own (starting the
run and its steps, recording events, checks and metadata). Their ratio,
``in_run_ratio``, compares a run with the same calls in the same minutes, so
the machine's noise between passes does not enter it; it does not see a
slowdown of the stage functions themselves under Dagster, which the ratio of
the passes would.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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


class StageClock:
    """Seconds spent inside the stage functions that a Dagster run's assets call."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def _timed(self, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed

    @contextlib.contextmanager
    def running(self):
        """Count the time of every call of the stage functions while in this block."""
        from pinterest_pipeline import report, stages

        originals = [(stages, "run_stage"), (report, "write_report")]
        saved = [getattr(module, name) for module, name in originals]
        for (module, name), function in zip(originals, saved):
            setattr(module, name, self._timed(function))
        try:
            yield self
        finally:
            for (module, name), function in zip(originals, saved):
                setattr(module, name, function)


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
        direct, dagster, inside = [], [], []
        for n in range(rounds):
            direct.append(_direct(landing, os.path.join(work, f"direct-{n}"), dates))
            started = time.perf_counter()
            with StageClock().running() as clock:
                outcome = run_dates(None, out=_io.StringIO())
            dagster.append(time.perf_counter() - started)
            inside.append(clock.seconds)
            if not outcome.ok:
                raise RuntimeError(f"run --all failed: {outcome.problems}")
        if not quick:
            direct.append(_direct(landing, os.path.join(work, f"direct-{rounds}"), dates))
        mean_direct, mean_dagster = sum(direct) / len(direct), sum(dagster) / len(dagster)
        return {"direct_s": round(mean_direct, 2), "dagster_s": round(mean_dagster, 2),
                "ratio": round(mean_dagster / mean_direct, 3), "rounds": rounds,
                "direct_passes": [round(x, 2) for x in direct],
                "dagster_passes": [round(x, 2) for x in dagster],
                "stage_functions_in_runs": [round(x, 2) for x in inside],
                "dagster_own_s": round((sum(dagster) - sum(inside)) / len(dagster), 2),
                "in_run_ratio": round(sum(dagster) / sum(inside), 3)}
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
          f"direct {result['direct_s']} s, Dagster {result['dagster_s']} s, ratio {result['ratio']}; "
          f"in the Dagster runs, Dagster's own {result['dagster_own_s']} s a run, "
          f"in-run ratio {result['in_run_ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
