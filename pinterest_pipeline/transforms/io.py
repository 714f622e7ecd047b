"""Reading the landing zone and writing warehouse tables, atomically.

Pure PySpark (DataFrame API only), so the same code runs on local Spark, through
Spark Connect and in a Databricks job.

* :func:`read_landing` turns every line of every ``*.json`` landing file of one
  topic and date into a row ``(raw_line, source_file, position)``. Files are
  read line by line (Spark's text source, split on ``\n`` only, so a ``\r``
  before it stays in the line), so a file of any size is read in bounded
  memory and in parallel splits. A blank line is a line (it is quarantined
  later), the newline that ends the file is not. ``source_file`` is the file's
  URI as Spark reports it (``_metadata.file_path``); ``position`` orders the
  lines of one file (it grows with the line's place in its file, in any
  split, but is not a line number): the "latest offset wins" rule needs only
  ``(source_file, position)``.
* :func:`write_partition` / :func:`write_table` replace a partition / a whole
  table (partitioned or not). Local paths: Spark writes into a staging folder
  ``<table>/_staging/<uuid>`` (for whole tables ``<parent>/_staging/<name>-<uuid>``), then the old version is
  renamed away to ``_trash/``, the new one renamed into place and the trash
  deleted. A failed write never touches the old version. Between the two
  renames (microseconds) the path is briefly absent; there is no atomic
  directory exchange in Python. Local paths are used by the driver's ``os``
  calls, so with Spark Connect the server must share the file system (it does
  for the embedded stack). ``fmt="delta"`` is the Databricks path
  (``replaceWhere`` gives atomic partition replacement). Remote parquet paths
  fall back to Spark's dynamic partition overwrite (not atomic).
* Spark ignores files and folders starting with ``_`` or ``.``, so staging and
  trash folders are invisible to readers.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from pinterest_pipeline import contract

#: Spark error conditions that mean "no table there yet" (not a failure).
NO_TABLE_CONDITIONS = frozenset(
    {"PATH_NOT_FOUND", "UNABLE_TO_INFER_SCHEMA", "DELTA_MISSING_DELTA_TABLE"}
)

POSITION_TYPE = "struct<split_start:bigint,line:bigint>"
LANDING_COLUMNS = (("raw_line", "string"), ("source_file", "string"), ("position", POSITION_TYPE))
LANDING_SCHEMA = ", ".join(f"{c} {t}" for c, t in LANDING_COLUMNS)
STAGING_DIR = "_staging"
TRASH_DIR = "_trash"


# --- paths --------------------------------------------------------------------


def is_local(uri: str) -> bool:
    """True for plain paths and ``file:`` URIs; False for s3://, dbfs:/, abfss://..."""
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def local_path(uri: str) -> str:
    """The OS path of a local URI (``file:///x`` -> ``/x``)."""
    return urlparse(uri).path if uri.startswith("file:") else uri


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


Columns = Sequence[tuple[str, "str | DataType"]] | StructType


def local_frame(spark: SparkSession, columns: Columns, rows: Iterable[Sequence[Any]] = ()) -> DataFrame:
    """A small DataFrame of ``rows`` (tuples) with ``columns`` ((name, type) pairs or a schema).

    Built by the JVM from literals. Classic PySpark's ``createDataFrame`` runs a
    Python worker for local rows (it starts the worker daemon: about 2 s the
    first time in a run, on 2 cores); this plan is the same locally, through
    Spark Connect and on Databricks. Meant for a few hundred rows at most.
    """
    pairs = [(f.name, f.dataType) for f in columns] if isinstance(columns, StructType) else list(columns)
    rows = list(rows)
    if not rows:
        return spark.range(0).select(*[F.lit(None).cast(t).alias(c) for c, t in pairs])
    structs = [F.struct(*[F.lit(v).cast(t).alias(c) for (c, t), v in zip(pairs, row, strict=True)])
               for row in rows]
    return spark.range(1).select(F.inline(F.array(*structs)))


# --- landing ------------------------------------------------------------------


def read_landing(spark: SparkSession, landing_uri: str, topic: str, dt: str) -> DataFrame:
    """Every line of every ``*.json`` file under ``<landing>/topics/<topic>/dt=<dt>/``.

    Columns ``raw_line``, ``source_file`` and ``position`` (:data:`POSITION_TYPE`);
    an empty DataFrame with that schema when the folder does not exist.
    ``position`` is ``(first byte of the line's split, a counter that grows
    line by line through the Spark partition reading the split)``: ordered
    like the lines of the file, since a split is read in order by one task and
    the splits of a file start at different bytes.
    """
    folder = _join(landing_uri, contract.landing_prefix(topic, dt))
    empty = local_frame(spark, LANDING_COLUMNS)
    if is_local(folder):
        if not os.path.isdir(local_path(folder)):
            return empty
        _check_readable(local_path(folder))
    try:
        lines = spark.read.option("pathGlobFilter", "*.json").option("lineSep", "\n").text(folder)
        _ = lines.columns  # forces analysis (lazy under Spark Connect)
    except AnalysisException as exc:
        if exc.getCondition() == "PATH_NOT_FOUND":
            return empty
        raise
    position = F.struct(
        F.col("_metadata.file_block_start").cast("long").alias("split_start"),
        F.monotonically_increasing_id().alias("line"),
    )
    return lines.select(
        F.col("value").alias("raw_line"),
        F.col("_metadata.file_path").alias("source_file"),
        position.alias("position"),
    )


class UnreadableLandingFile(OSError):
    """A landing file that cannot be read; the message names every such file and why."""


def _check_readable(folder: str) -> None:
    """Every ``*.json`` entry of a local landing folder is a readable regular file.

    Spark would fail the whole date on such a file with a stack trace (or, for a
    folder named ``*.json``, read into it); this says which files and why first.
    """
    problems = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.endswith(".json"):
                continue
            path = os.path.join(folder, entry.name)
            if not os.path.exists(path):
                problems.append(f"{path}: broken link or vanished")
            elif not os.path.isfile(path):
                problems.append(f"{path}: not a regular file")
            elif not os.access(path, os.R_OK):
                problems.append(f"{path}: permission denied")
    if problems:
        raise UnreadableLandingFile(
            f"{len(problems)} landing file(s) cannot be read; nothing of this date was "
            "cleaned: " + "; ".join(problems)
        )


# --- warehouse tables -----------------------------------------------------------


def _makedirs(path: str, attempts: int = 20) -> None:
    """``os.makedirs``, tolerating a sibling table's write that removes a shared, empty
    ``_staging``/``_trash`` parent between the creation of the parent and of ``path``."""
    for attempt in range(attempts):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def _swap_into_place(staging: str, target: str, trash_root: str) -> None:
    """Move ``staging`` to ``target``; an existing ``target`` is moved to trash, then deleted."""
    _makedirs(trash_root)
    trash = os.path.join(trash_root, uuid.uuid4().hex)
    had_old = os.path.exists(target)
    if had_old:
        os.rename(target, trash)
    try:
        os.rename(staging, target)
    except BaseException:
        if had_old:
            os.rename(trash, target)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    _remove_if_empty(trash_root)
    _remove_if_empty(os.path.dirname(trash_root))


def _remove_if_empty(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def _overwrite(df: DataFrame, partition_by: str | None = None) -> DataFrameWriter:
    writer = df.write.mode("overwrite")
    return writer.partitionBy(partition_by) if partition_by else writer


def _write_local_atomic(df: DataFrame, target: str, staging_root: str, trash_root: str,
                        partition_by: str | None = None) -> None:
    staging = os.path.join(staging_root, uuid.uuid4().hex)
    _makedirs(staging_root)
    try:
        _overwrite(df, partition_by).parquet(staging)
        _swap_into_place(staging, target, trash_root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(staging_root)
        _remove_if_empty(os.path.dirname(staging_root))


def write_partition(df: DataFrame, table_path: str, dt: str, fmt: str = "parquet") -> None:
    """Replace partition ``<table_path>/dt=<dt>/`` with ``df`` (which has no ``dt`` column)."""
    part = contract.PARTITION_COLUMN
    if fmt == "delta":
        (
            df.withColumn(part, F.lit(dt))
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{part} = '{dt}'")
            .partitionBy(part)
            .save(table_path)
        )
        return
    if fmt != "parquet":
        raise ValueError(f"unknown table format {fmt!r}; expected parquet or delta")
    if not is_local(table_path):
        (
            df.withColumn(part, F.lit(dt))
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(part)
            .parquet(table_path)
        )
        return
    root = local_path(table_path)
    _write_local_atomic(
        df,
        os.path.join(root, f"{part}={dt}"),
        os.path.join(root, STAGING_DIR),
        os.path.join(root, TRASH_DIR),
    )


def write_table(df: DataFrame, table_path: str, fmt: str = "parquet", partition_by: str | None = None) -> None:
    """Replace the whole table at ``table_path`` with ``df`` (partitioned by the column ``partition_by``)."""
    if fmt not in ("parquet", "delta"):
        raise ValueError(f"unknown table format {fmt!r}; expected parquet or delta")
    if fmt == "delta" or not is_local(table_path):
        writer = _overwrite(df, partition_by)
        if fmt == "delta":
            writer.format("delta").option("overwriteSchema", "true").save(table_path)
        else:
            writer.parquet(table_path)
        return
    target = os.path.abspath(local_path(table_path))
    parent, name = os.path.split(target)
    _write_local_atomic(
        df, target, os.path.join(parent, STAGING_DIR, name), os.path.join(parent, TRASH_DIR, name),
        partition_by,
    )


def read_table(spark: SparkSession, table_path: str, fmt: str = "parquet") -> DataFrame | None:
    """The table at ``table_path``, or None if there is none.

    For partitioned tables ``dt`` comes from the folder names and is a string.
    """
    if is_local(table_path) and not os.path.isdir(local_path(table_path)):
        return None
    try:
        if fmt == "delta":
            df = spark.read.format("delta").load(table_path)
        else:
            df = spark.read.parquet(table_path)
        columns = df.columns
    except AnalysisException as exc:
        if exc.getCondition() in NO_TABLE_CONDITIONS:
            return None
        raise
    part = contract.PARTITION_COLUMN
    if part in columns:
        df = df.withColumn(part, F.date_format(F.col(part), "yyyy-MM-dd")
                           if dict(df.dtypes)[part] == "date" else F.col(part).cast("string"))
    return df


def list_partitions(table_path: str) -> list[str]:
    """The ``dt`` values of a local partitioned table, sorted (empty if absent)."""
    root = local_path(table_path)
    if not os.path.isdir(root):
        return []
    prefix = f"{contract.PARTITION_COLUMN}="
    return sorted(
        name[len(prefix):]
        for name in os.listdir(root)
        if name.startswith(prefix) and os.path.isdir(os.path.join(root, name))
    )
