"""``pinterest-pipeline bench pipeline|ingest``: benchmarks that print numbers.

``ingest`` runs :mod:`pinterest_pipeline.ingest.bench` (broker raw produce,
Kafka direct, REST proxy, sink). ``pipeline`` emulates N synthetic posts into a fresh landing under a scratch folder, then
times, in one process: the SparkSession start (JVM start-up), and ``run --all``
(clean every landed date through Dagster + the nine insights). Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what",
        choices=["pipeline", "ingest"],
        help="pipeline: emulate + run --all timings; ingest: streaming throughput",
    )
    parser.add_argument("--posts", type=int, default=None,
                        help="posts (default 100,000 for pipeline, 20,000 for ingest)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")


def bench_pipeline(posts: int, seed: int, keep: bool) -> int:
    scratch = tempfile.mkdtemp(prefix="pinterest-bench-")
    os.environ.update(
        PINTEREST_LANDING_URI=os.path.join(scratch, "landing"),
        PINTEREST_WAREHOUSE_URI=os.path.join(scratch, "warehouse"),
        DAGSTER_HOME=os.path.join(scratch, "dagster"),
    )
    from emulator.run import emulate
    from pinterest_pipeline import settings
    from pinterest_pipeline.runner import run_dates
    from pinterest_pipeline.spark import get_session

    try:
        t0 = time.monotonic()
        emulate(posts=posts, seed=seed, via="landing", progress=False)
        t_emulate = time.monotonic() - t0

        t0 = time.monotonic()
        spark = get_session(master=settings.get("PINTEREST_SPARK_MASTER"))
        spark.range(1).count()
        t_jvm = time.monotonic() - t0

        t0 = time.monotonic()
        outcome = run_dates(None)
        t_run = time.monotonic() - t0
        print(f"posts                 {posts:>10,}")
        print(f"emulate (landing)     {t_emulate:>10.1f} s  ({posts / t_emulate:,.0f} posts/s)")
        print(f"JVM + SparkSession    {t_jvm:>10.1f} s")
        print(f"run --all (warm JVM)  {t_run:>10.1f} s  ({posts / t_run:,.0f} posts/s)")
        print(f"run --all incl. JVM   {t_jvm + t_run:>10.1f} s  (JVM start-up {t_jvm / (t_jvm + t_run):.0%})")
        return 0 if outcome.ok else 1
    finally:
        if keep:
            print(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main(args: argparse.Namespace) -> int:
    if args.what == "ingest":
        from pinterest_pipeline.ingest import bench as ingest_bench

        ingest_bench.run(posts=args.posts or 20_000)
        return 0
    return bench_pipeline(args.posts or 100_000, args.seed, args.keep)
