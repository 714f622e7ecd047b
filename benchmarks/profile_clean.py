"""Where the time of one clean stage goes: cumulative timings of its steps.

``python -m benchmarks.profile_clean --landing DIR --kind pin [--date D] [--json]``

Runs the product's own transforms (``pinterest_pipeline.transforms``) step by
step on one landing date, each step a full Spark job (``noop`` writes: every
row computed, nothing written) that includes the steps before it, on a warm
JVM (a first pass over the data warms the JIT and the page cache):

1. ``read``: the landing files as lines (``io.read_landing``);
2. ``parse + rules``: every line parsed and checked (the clean and quarantine
   decision of every line, ``clean._checked``);
3. ``dedup``: one row per key (the clean rows as written);
4. ``write``: the clean partition written as Parquet (atomic swap);
5. ``checks``: the clean-table checks on the written partition.

The differences between consecutive steps are what each step adds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from pinterest_pipeline import contract
from pinterest_pipeline.spark import get_session
from pinterest_pipeline.transforms import clean, io, validation


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def profile(landing: str, kind: str, dt: str) -> dict[str, float]:
    spark = get_session()
    raw = io.read_landing(spark, landing, contract.topic_name(kind), dt)
    columns = [c for c, _ in contract.CLEAN_COLUMNS[kind]]

    def noop(df):
        return lambda: df.write.format("noop").mode("overwrite").save()

    def checked():
        return clean._checked(kind, raw).where("reason IS NULL").select(columns)

    noop(checked())()  # warm-up: JIT and page cache
    steps = {
        "read": _timed(noop(raw)),
        "parse + rules": _timed(noop(checked())),
        "dedup": _timed(noop(clean.clean(kind, raw, dt).clean)),
    }
    with tempfile.TemporaryDirectory(prefix="pinterest-profile-") as work:
        table = os.path.join(work, "clean")
        result = clean.clean(kind, raw, dt)
        steps["write"] = _timed(lambda: io.write_partition(result.clean, table, dt))
        written = io.read_table(spark, table).where(f"dt = '{dt}'").drop("dt")
        steps["checks"] = steps["write"] + _timed(lambda: validation.run_clean_checks(kind, written))
    return {name: round(seconds, 2) for name, seconds in steps.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_clean",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--landing", required=True)
    parser.add_argument("--kind", choices=contract.KINDS, default="pin")
    parser.add_argument("--date", help="landing date (default: the only one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    dt = args.date
    if dt is None:
        folder = os.path.join(args.landing, contract.landing_prefix(contract.topic_name(args.kind)))
        dates = sorted(d[3:] for d in os.listdir(folder) if d.startswith("dt="))
        dt = dates[-1]
    steps = profile(args.landing, args.kind, dt)
    if args.json:
        print(json.dumps(steps))
    else:
        for name, seconds in steps.items():
            print(f"{name:<16}{seconds:>8.2f} s (cumulative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
