"""A second yardstick: the shortest notebook job, which does not meet the contract.

``python -m benchmarks.minimal_notebook --landing DIR --out DIR [--master local[2]]``

:mod:`benchmarks.notebook_job` is the notebook-style job written so that its
nine tables equal the contract's: every string column is tested for blanks
and placeholders with a regex, follower counts are parsed exactly, timestamps
strictly. Many public versions of this project do less, and run faster. This
module is that shorter job, kept to measure how much the care costs (the
numbers are in docs/benchmarks.md): the same session, the same inferred read,
``dropDuplicates()`` and Parquet out, the same nine queries
(:data:`benchmarks.notebook_job.QUERIES`), but only the cleaning such a
notebook writes:

* ``replace`` of the exact placeholder strings (``contract.PIN_PLACEHOLDERS``)
  by null; no blank or padded values;
* follower counts by ``regexp_replace`` of ``k`` and ``M`` and ``try_cast``
  to a number (``1.5k`` becomes null);
* the ``Local save in`` prefix cut off; ``coordinates`` from latitude and
  longitude; ``user_name`` by ``concat_ws`` (never null); ``to_timestamp``
  with Spark's default parser; ``index`` renamed ``ind``.

The nine tables are written with the contract's types and row order (a few
rows each). On landings made like the benchmark's from the real sample (real
values, new keys, exact replays, one date) they equal the contract's
(tests/benchmarks/test_minimal_notebook.py); on dirtier input (blank or padded
values, ``1.5k``, malformed lines or timestamps, two records for one key,
several dates) they do not. ``make bench`` runs it beside the notebook job and
reports its ratio and whether its tables are equal, without failing on a
difference. Output as the notebook job's: ``<out>/clean/<kind>/`` and
``<out>/insights/<table>/`` (Parquet, overwritten).
"""

from __future__ import annotations

import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks import notebook_job
from benchmarks.notebook_job import QUERIES, start_session, typed_and_sorted
from pinterest_pipeline import contract


def clean_pin(df: DataFrame) -> DataFrame:
    for column, placeholders in contract.PIN_PLACEHOLDERS.items():
        df = df.replace(list(placeholders), None, subset=[column])
    count = F.col("follower_count")
    for suffix, multiplier in contract.FOLLOWER_SUFFIXES.items():
        count = F.regexp_replace(count, suffix, str(multiplier)[1:])  # "12k" -> "12000"
    df = df.withColumn("follower_count", count.try_cast("bigint"))
    df = df.withColumn("save_location", F.regexp_replace("save_location", contract.SAVE_LOCATION_PREFIX, ""))
    return df.withColumnRenamed("index", "ind")


def clean_geo(df: DataFrame) -> DataFrame:
    df = df.withColumn("coordinates", F.array("latitude", "longitude"))
    return df.withColumn("timestamp", F.to_timestamp("timestamp"))


def clean_user(df: DataFrame) -> DataFrame:
    df = df.withColumn("user_name", F.concat_ws(" ", "first_name", "last_name"))
    return df.withColumn("date_joined", F.to_timestamp("date_joined"))


CLEANERS = {"pin": clean_pin, "geo": clean_geo, "user": clean_user}


def run(landing: str, out: str, prefix: str = contract.DEFAULT_TOPIC_PREFIX,
        master: str = "local[2]") -> dict[str, float]:
    """Clean ``landing`` into ``out`` and compute the nine queries; seconds per stage."""
    started = time.perf_counter()
    spark: SparkSession = start_session(master)
    timings = {"session_start": time.perf_counter() - started}
    try:
        spark.sparkContext.setLogLevel("WARN")
        t = time.perf_counter()
        for kind in contract.KINDS:
            raw = spark.read.json(f"{landing.rstrip('/')}/topics/{contract.topic_name(kind, prefix)}")
            path = contract.clean_path(out, kind)
            CLEANERS[kind](raw).dropDuplicates().write.mode("overwrite").parquet(path)
        timings["clean"] = time.perf_counter() - t
        t = time.perf_counter()
        for kind in contract.KINDS:
            spark.read.parquet(contract.clean_path(out, kind)).createOrReplaceTempView(kind)
        for table, query in QUERIES.items():
            path = contract.insight_path(out, table)
            # typed and ordered as the contract's tables (a few rows), so they compare row for row
            typed_and_sorted(spark.sql(query), table).coalesce(1).write.mode("overwrite").parquet(path)
            spark.read.parquet(path).createOrReplaceTempView(table)
        timings["insights"] = time.perf_counter() - t
    finally:
        spark.stop()
    timings["total"] = time.perf_counter() - started
    return {k: round(v, 3) for k, v in timings.items()}


def main(argv: list[str] | None = None) -> int:
    """The notebook job's command line (the same arguments), always printing JSON."""
    return notebook_job.main(argv, job=run, module="benchmarks.minimal_notebook", description=__doc__.split("\n")[0],
                             always_json=True)


if __name__ == "__main__":
    sys.exit(main())
