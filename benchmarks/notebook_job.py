"""The benchmark's baseline: the notebook-style PySpark job most public versions write.

``python -m benchmarks.notebook_job --landing DIR --out DIR [--master local[2]]``

Most public implementations of this "Pinterest data pipeline" project are
Databricks notebooks that do the same few things, one cell after another:

1. ``spark.read.json(folder)`` per topic, letting Spark infer the schema (a
   full extra pass over the JSON), with ``dt`` from the folder names;
2. clean column by column with ``withColumn``: ``when`` / ``regexp_replace``
   turn placeholders and blanks into null, ``follower_count`` "12k"/"2M"
   becomes a number (regexp + multiply + cast), the ``Local save in `` prefix
   is cut off ``save_location``, ``coordinates = array(latitude, longitude)``,
   ``user_name = concat_ws(' ', first_name, last_name)``, ``to_timestamp`` for
   the dates, ``index`` renamed ``ind``; then ``dropDuplicates()``;
3. write the clean tables as Parquet (partitioned by ``dt``);
4. run each insight as its own Spark SQL query over the Parquet clean tables
   (latest ``dt`` per ``ind`` with a window first) and write it as Parquet.

That is what this module does, on purpose without the project's tricks (no
quarantine, no VARIANT parsing, no caching, no tuned shuffle partitions: Spark's
defaults except ``spark.ui.enabled=false``, ``spark.driver.memory=2g`` like the
project's session, UTC). It is the yardstick the project is compared with, so
it must be straightforward, but it is not allowed to be wrong: on clean input
(whose only duplicates are exact replays, so ``dropDuplicates()`` is enough) it
produces the nine insight tables of the data contract, section 5, row for row,
with the names and types of ``contract.INSIGHT_COLUMNS`` and rows ordered by
``contract.INSIGHT_KEYS``. Rules it shares with the project: ties go to the
ascending name, medians are exact lower medians (``percentile_disc(0.5)``),
null never wins or forms a group, a group without a follower count has no
median row.

What it does not do (the project does): quarantine bad lines (a malformed
line becomes a row of nulls or, with ANSI casts, fails the job), reject a
non-integer key, resolve two *different* records sharing an ``ind`` within a
date (both survive ``dropDuplicates()``), count anything.

Output: ``<out>/clean/{pin,geo,user}/dt=.../*.parquet`` and
``<out>/insights/<table>/*.parquet`` (Spark folders, overwritten).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract

BLANK = r"(?U)^\s*$"
FOLLOWERS = r"^([0-9]+(?:\.[0-9]+)?)([kM]?)$"
TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"


# --- session ------------------------------------------------------------------------


def start_session(master: str = "local[2]") -> SparkSession:
    """A fresh local session: defaults, plus UTC, no UI, 2g driver, ``dt`` read as string."""
    return (
        SparkSession.builder.master(master)
        .appName("pinterest-notebook-baseline")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )


# --- cleaning (one "cell" per topic) ---------------------------------------------------


def null_if_blank(column: str, placeholders: tuple[str, ...] = ()) -> F.Column:
    """The column, or null when it is empty, only white space or a placeholder."""
    c = F.col(column)
    bad = c.rlike(BLANK)
    if placeholders:
        bad = bad | c.isin(*placeholders)
    return F.when(~bad, c)


def to_utc_timestamp(column: str) -> F.Column:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS`` (session time zone is UTC)."""
    return F.to_timestamp(F.regexp_replace(F.col(column), "T", " "), TIMESTAMP_FORMAT)


def clean_pin(df: DataFrame) -> DataFrame:
    for column, placeholders in contract.PIN_PLACEHOLDERS.items():
        df = df.withColumn(column, null_if_blank(column, placeholders))
    for column in ("unique_id", "is_image_or_video", "save_location", "category"):
        df = df.withColumn(column, null_if_blank(column))
    number = F.regexp_extract("follower_count", FOLLOWERS, 1)
    suffix = F.regexp_extract("follower_count", FOLLOWERS, 2)
    multiplier = F.when(suffix == "k", 1_000).when(suffix == "M", 1_000_000).otherwise(1)
    df = df.withColumn(
        "follower_count",
        F.when(
            F.col("follower_count").rlike(FOLLOWERS),
            (number.cast("decimal(38,6)") * multiplier).cast("long"),
        ),
    )
    df = df.withColumn(
        "save_location", F.regexp_replace("save_location", f"^{contract.SAVE_LOCATION_PREFIX}", "")
    )
    df = df.withColumn("save_location", null_if_blank("save_location"))
    df = df.withColumnRenamed("index", "ind")
    return finish(df, "pin")


def clean_geo(df: DataFrame) -> DataFrame:
    df = df.withColumn("country", null_if_blank("country"))
    df = df.withColumn(
        "coordinates",
        F.array(F.col("latitude").cast("double"), F.col("longitude").cast("double")),
    )
    df = df.withColumn("timestamp", to_utc_timestamp("timestamp"))
    return finish(df, "geo")


def clean_user(df: DataFrame) -> DataFrame:
    df = df.withColumn("first_name", null_if_blank("first_name"))
    df = df.withColumn("last_name", null_if_blank("last_name"))
    df = df.withColumn(
        "user_name",
        F.when(
            F.col("first_name").isNotNull() | F.col("last_name").isNotNull(),
            F.concat_ws(" ", "first_name", "last_name"),
        ),
    )
    df = df.withColumn("age", F.col("age").cast("int"))
    df = df.withColumn("date_joined", to_utc_timestamp("date_joined"))
    return finish(df, "user")


def finish(df: DataFrame, kind: str) -> DataFrame:
    """Contract column order and types, ``dt`` last, exact replays dropped."""
    columns = [F.col(c).cast(t).alias(c) for c, t in contract.CLEAN_COLUMNS[kind]]
    return df.select(*columns, F.col("dt").cast("string").alias("dt")).dropDuplicates()


CLEANERS = {"pin": clean_pin, "geo": clean_geo, "user": clean_user}


def clean_all(spark: SparkSession, landing: str, out: str, prefix: str) -> None:
    for kind in contract.KINDS:
        raw = spark.read.json(f"{landing.rstrip('/')}/topics/{contract.topic_name(kind, prefix)}")
        clean = CLEANERS[kind](raw)
        clean.write.mode("overwrite").partitionBy("dt").parquet(contract.clean_path(out, kind))


# --- insights (one query per table) -------------------------------------------------------

AGE_GROUP = "CASE " + " ".join(
    f"WHEN age >= {low}" + (f" AND age <= {high}" if high is not None else "") + f" THEN '{name}'"
    for name, low, high in contract.AGE_GROUPS
) + " END"
POST_YEARS = "year(timestamp) BETWEEN {} AND {}".format(*contract.POST_YEAR_RANGE)
JOIN_YEARS = "year(date_joined) BETWEEN {} AND {}".format(*contract.JOIN_YEAR_RANGE)

QUERIES: dict[str, str] = {
    "top_category_by_country": """
        SELECT country, category, category_count FROM (
          SELECT country, category, category_count,
                 row_number() OVER (PARTITION BY country
                                    ORDER BY category_count DESC, category) AS rn
          FROM (SELECT g.country, p.category, count(*) AS category_count
                FROM pin p JOIN geo g ON p.ind = g.ind
                WHERE g.country IS NOT NULL AND p.category IS NOT NULL
                GROUP BY g.country, p.category))
        WHERE rn = 1""",
    "top_category_by_year": f"""
        SELECT post_year, category, category_count FROM (
          SELECT post_year, category, category_count,
                 row_number() OVER (PARTITION BY post_year
                                    ORDER BY category_count DESC, category) AS rn
          FROM (SELECT year(g.timestamp) AS post_year, p.category, count(*) AS category_count
                FROM pin p JOIN geo g ON p.ind = g.ind
                WHERE {POST_YEARS} AND p.category IS NOT NULL
                GROUP BY year(g.timestamp), p.category))
        WHERE rn = 1""",
    "top_poster_by_country": """
        SELECT country, poster_name, follower_count FROM (
          SELECT g.country, p.poster_name, p.follower_count,
                 row_number() OVER (PARTITION BY g.country
                                    ORDER BY p.follower_count DESC, p.poster_name) AS rn
          FROM pin p JOIN geo g ON p.ind = g.ind
          WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL
            AND p.follower_count IS NOT NULL)
        WHERE rn = 1""",
    # Read back from the table just written, as a notebook cell would.
    "country_with_top_poster": """
        SELECT country, follower_count FROM top_poster_by_country
        ORDER BY follower_count DESC, country LIMIT 1""",
    "top_category_by_age_group": f"""
        SELECT age_group, category, category_count FROM (
          SELECT age_group, category, category_count,
                 row_number() OVER (PARTITION BY age_group
                                    ORDER BY category_count DESC, category) AS rn
          FROM (SELECT {AGE_GROUP} AS age_group, p.category, count(*) AS category_count
                FROM pin p JOIN `user` u ON p.ind = u.ind
                WHERE p.category IS NOT NULL AND {AGE_GROUP} IS NOT NULL
                GROUP BY 1, 2))
        WHERE rn = 1""",
    "median_followers_by_age_group": f"""
        SELECT age_group, median_follower_count FROM (
          SELECT {AGE_GROUP} AS age_group,
                 percentile_disc(0.5) WITHIN GROUP (ORDER BY p.follower_count)
                   AS median_follower_count
          FROM pin p JOIN `user` u ON p.ind = u.ind
          WHERE p.follower_count IS NOT NULL
          GROUP BY 1)
        WHERE age_group IS NOT NULL""",
    "users_joined_by_year": f"""
        SELECT year(date_joined) AS post_year,
               count(DISTINCT user_name, date_joined) AS number_users_joined
        FROM `user`
        WHERE {JOIN_YEARS} AND user_name IS NOT NULL
        GROUP BY year(date_joined)""",
    "median_followers_by_join_year": f"""
        SELECT year(u.date_joined) AS post_year,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY p.follower_count)
                 AS median_follower_count
        FROM pin p JOIN `user` u ON p.ind = u.ind
        WHERE p.follower_count IS NOT NULL AND {JOIN_YEARS}
        GROUP BY year(u.date_joined)""",
    "median_followers_by_age_group_and_join_year": f"""
        SELECT age_group, post_year, median_follower_count FROM (
          SELECT {AGE_GROUP} AS age_group, year(u.date_joined) AS post_year,
                 percentile_disc(0.5) WITHIN GROUP (ORDER BY p.follower_count)
                   AS median_follower_count
          FROM pin p JOIN `user` u ON p.ind = u.ind
          WHERE p.follower_count IS NOT NULL AND {JOIN_YEARS}
          GROUP BY 1, 2)
        WHERE age_group IS NOT NULL""",
}


def typed_and_sorted(df: DataFrame, table: str) -> DataFrame:
    df = df.select(*[F.col(c).cast(t).alias(c) for c, t in contract.INSIGHT_COLUMNS[table]])
    keys = contract.INSIGHT_KEYS[table]
    return df.orderBy(*keys) if keys else df


def latest_per_ind(df: DataFrame) -> DataFrame:
    """One row per ``ind``: the row of the latest landing date."""
    latest = Window.partitionBy("ind").orderBy(F.col("dt").desc())
    return df.withColumn("rn", F.row_number().over(latest)).filter("rn = 1").drop("rn", "dt")


def insights_all(spark: SparkSession, out: str) -> None:
    for kind in contract.KINDS:
        clean = spark.read.parquet(contract.clean_path(out, kind))
        # Across landing dates the latest row of an ind wins; one date needs no window.
        several_dates = clean.select("dt").distinct().limit(2).count() > 1
        (latest_per_ind(clean) if several_dates else clean.drop("dt")).createOrReplaceTempView(kind)
    for table, query in QUERIES.items():
        result = typed_and_sorted(spark.sql(query), table)
        path = contract.insight_path(out, table)
        result.coalesce(1).write.mode("overwrite").parquet(path)
        spark.read.parquet(path).createOrReplaceTempView(table)


# --- entry points ---------------------------------------------------------------------


def run(landing: str, out: str, prefix: str = "pinterest", master: str = "local[2]") -> dict[str, float]:
    """Clean ``landing`` into ``out``, compute the nine insights; seconds per stage.

    Creates its own SparkSession and stops it (if the process already has an
    active session, ``getOrCreate`` returns that one and it is stopped too).
    """
    started = time.perf_counter()
    spark = start_session(master)
    timings = {"session_start": time.perf_counter() - started}
    try:
        spark.sparkContext.setLogLevel("WARN")
        t = time.perf_counter()
        clean_all(spark, landing, out, prefix)
        timings["clean"] = time.perf_counter() - t
        t = time.perf_counter()
        insights_all(spark, out)
        timings["insights"] = time.perf_counter() - t
    finally:
        spark.stop()
    timings["total"] = time.perf_counter() - started
    return {k: round(v, 3) for k, v in timings.items()}


def main(argv: list[str] | None = None, *, job=None, module: str = "benchmarks.notebook_job",
         description: str = __doc__.split("\n")[0], always_json: bool = False) -> int:
    """The command line of this job, or of another with the same arguments (``job``: its ``run``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--landing", required=True, help="landing folder (contract section 3)")
    parser.add_argument("--out", required=True, help="output folder (clean/ and insights/)")
    parser.add_argument("--prefix", default=contract.DEFAULT_TOPIC_PREFIX)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--json", action="store_true", help="print the timings as one JSON object")
    args = parser.parse_args(argv)
    timings = (job or run)(args.landing, args.out, prefix=args.prefix, master=args.master)
    if args.json or always_json:
        print(json.dumps(timings))
    else:
        for name, seconds in timings.items():
            print(f"{name:<14}{seconds:>10.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
