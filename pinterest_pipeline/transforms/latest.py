"""The insights' inputs: one row per key across every clean date, kept up to date.

The insights read all clean partitions with one row per ``ind`` per kind, the
row of the latest ``dt`` winning (contract section 5), and join the kinds on
``ind``. :func:`resolve` computes that from the clean tables. Doing it from
scratch every night reads, sorts and joins the whole history, so the cost of a
night would grow with the days behind it. :func:`refresh` keeps the resolved
rows in a state table instead and adds only what is new:

* ``<warehouse>/state/latest`` (:func:`state_path`): one row per ``ind`` that
  has a clean row of any kind, with the columns the insights read of each kind
  (:data:`INPUT_COLUMNS`) and a flag per kind (``_pin``, ``_geo``, ``_user``)
  saying whether that kind has a row for the key. Partitioned by ``dt``: the
  latest date among the key's kinds.
* ``<warehouse>/state/latest_summaries``: the summaries the insights merge
  (:mod:`summaries`), partitioned by ``dt`` like the state: a state partition's
  summaries are computed whenever the partition is written.
* ``<warehouse>/state/latest_manifest``: what the state was built from, one
  row per clean partition (kind, date) with its fingerprint (the names of its
  files: a partition written again has new ones) and :data:`VERSION`.

:func:`refresh` compares the manifest with the clean partitions in use (all
but the skipped ones):

* the same: the state is used as it is;
* only new dates, all later than every date in the state (the nightly case):
  the new dates are resolved alone and added as new state partitions. A key of
  the new dates that the state already holds (a replay that crossed midnight)
  is moved: its row is merged (the new kinds win, the other kinds keep their
  old values) and written with the new date; the old partition is written
  again without it;
* anything else (a date cleaned again or newly skipped, an earlier date
  added, no manifest, another :data:`VERSION`): rebuilt from every partition.

The manifest is marked invalid before the state is touched and written last,
so an interrupted refresh leads to a rebuild, never to wrong rows. The state is
a cache: deleting ``<warehouse>/state/`` costs one rebuild. One refresh at a
time per warehouse (the insights step of a run; local warehouses are locked).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import io, summaries

KEY, PART = contract.CLEAN_KEY, contract.PARTITION_COLUMN
#: The columns the insights read from each clean table (besides ``ind``).
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "pin": ("category", "poster_name", "follower_count"),
    "geo": ("country", "timestamp"),
    "user": ("user_name", "age", "date_joined"),
}
#: Per kind, the state's flag column: the key has a row of that kind.
FLAGS = {kind: f"_{kind}" for kind in contract.KINDS}
#: Changes whenever the state's columns or rules change: an older state is rebuilt.
VERSION = "2:" + ";".join(f"{k}={','.join(c)}" for k, c in INPUT_COLUMNS.items()) + ";summaries=" + ",".join(
    [c for c, _ in summaries.COLUMNS] + sorted(summaries.PARTS))
#: New dates with up to this many rows find their keys in the state by broadcasting them
#: (one pass over the state's keys, about 16 bytes a key in memory); more are shuffled.
BROADCAST_KEYS = 4_000_000
#: Up to this many keys to move are collected and broadcast; more are found with a shuffle.
MANY_MOVED = 100_000
MANIFEST_COLUMNS = (("kind", "string"), ("dt", "string"), ("fingerprint", "string"), ("version", "string"))
#: The manifest row of a state being written (no valid manifest).
UPDATING = "updating"

Partition = tuple[str, str]  # (kind, dt)


def state_path(warehouse: str) -> str:
    return f"{warehouse.rstrip('/')}/state/latest"


def manifest_path(warehouse: str) -> str:
    return f"{state_path(warehouse)}_manifest"


def summaries_path(warehouse: str) -> str:
    return f"{state_path(warehouse)}_summaries"


def moved_path(warehouse: str) -> str:
    return f"{state_path(warehouse)}_moved"


# --- resolving ------------------------------------------------------------------------


def _latest_rows(df: DataFrame, several_dates: bool) -> DataFrame:
    """One row per ``ind``: the row of the greatest ``dt`` (kept). A single date has unique keys."""
    if not several_dates:
        return df
    latest = Window.partitionBy(KEY).orderBy(F.col(PART).desc())
    return df.withColumn("_rank", F.row_number().over(latest)).filter("_rank = 1").drop("_rank")


def resolve(tables: Mapping[str, DataFrame], dates: Mapping[str, Collection[str]] | None = None) -> DataFrame:
    """The state's rows from clean tables that carry ``dt`` (only ``dates[kind]`` if given).

    Columns: ``ind``, every :data:`INPUT_COLUMNS` column, the :data:`FLAGS` and
    ``dt`` (the latest date among the key's kinds).
    """
    joined, dt_columns = None, []
    for kind in contract.KINDS:
        df = tables[kind].select(KEY, PART, *INPUT_COLUMNS[kind])
        only = None  # the kind's one date, when it has one: not carried through the joins
        if dates is not None:
            kind_dates = sorted(dates.get(kind, ()))
            df = df.where(F.col(PART).isin(kind_dates))
            several = len(kind_dates) > 1
            only = kind_dates[0] if len(kind_dates) == 1 else None
        else:
            several = df.select(PART).distinct().limit(2).count() > 1
        carried = [] if only else [F.col(PART).alias(f"_dt_{kind}")]
        df = _latest_rows(df, several).select(
            KEY, *INPUT_COLUMNS[kind], F.lit(True).alias(FLAGS[kind]), *carried
        )
        dt_columns.append(F.when(F.col(FLAGS[kind]), F.lit(only)) if only else F.col(f"_dt_{kind}"))
        joined = df if joined is None else joined.join(df, KEY, "full")
    # One date in all: a constant, so writing the rows partitioned by dt sorts nothing.
    one = all_dates(dates) if dates is not None else []
    return joined.select(
        KEY,
        *(c for kind in contract.KINDS for c in INPUT_COLUMNS[kind]),
        *(F.coalesce(F.col(f), F.lit(False)).alias(f) for f in FLAGS.values()),
        (F.lit(one[0]) if len(one) == 1 else F.greatest(*dt_columns)).alias(PART),
    )


def _merge(new: DataFrame, old: DataFrame) -> DataFrame:
    """``new`` state rows with the kinds they lack taken from ``old`` (state rows, some of the keys).

    The result keeps ``new``'s ``dt``: the new dates are later than any old one.
    """
    n, o = new.alias("n"), old.alias("o")
    columns = [F.col(f"n.{KEY}")]
    for kind in contract.KINDS:
        has_new = F.col(f"n.{FLAGS[kind]}")
        columns += [F.when(has_new, F.col(f"n.{c}")).otherwise(F.col(f"o.{c}")).alias(c)
                    for c in INPUT_COLUMNS[kind]]
        columns.append((has_new | F.coalesce(F.col(f"o.{FLAGS[kind]}"), F.lit(False))).alias(FLAGS[kind]))
    columns.append(F.col(f"n.{PART}"))
    return n.join(o, F.col(f"n.{KEY}") == F.col(f"o.{KEY}"), "left").select(*columns)


# --- the manifest -----------------------------------------------------------------------


def fingerprints(tables: Mapping[str, DataFrame],
                 skip: Mapping[str, Collection[str]] | None = None) -> dict[Partition, str] | None:
    """Per clean partition in use, a hash of its file names.

    None when partitions cannot be told apart by their files: a table that is
    not read from files, or files outside ``dt=`` folders.
    """
    prints: dict[Partition, str] = {}
    for kind, df in tables.items():
        names: dict[str, list[str]] = defaultdict(list)
        files = df.inputFiles()
        if not files:
            return None
        for uri in files:
            parts = uri.rstrip("/").split("/")
            dates = [p[len(PART) + 1:] for p in parts[:-1] if p.startswith(f"{PART}=")]
            if not dates:
                return None
            names[dates[-1]].append(parts[-1])
        skipped = set((skip or {}).get(kind, ()))
        for dt, files in names.items():
            if dt not in skipped:
                prints[(kind, dt)] = hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()
    return prints


def _read_manifest(spark: SparkSession, warehouse: str, fmt: str) -> dict[Partition, str] | None:
    df = io.read_table(spark, manifest_path(warehouse), fmt)
    if df is None:
        return None
    rows = df.collect()
    if not rows or any(r["version"] != VERSION for r in rows):
        return None
    return {(r["kind"], r["dt"]): r["fingerprint"] for r in rows if r["kind"] is not None}


def _write_manifest(spark: SparkSession, warehouse: str, fmt: str,
                    prints: Mapping[Partition, str] | None) -> None:
    """The manifest of ``prints``; None writes the "being updated" mark."""
    if prints is None:
        rows = [(None, None, None, UPDATING)]
    else:  # a row without a partition keeps an empty state's manifest readable
        rows = [(k, dt, fp, VERSION) for (k, dt), fp in sorted(prints.items())] or [(None, None, None, VERSION)]
    io.write_table(io.local_frame(spark, MANIFEST_COLUMNS, rows).coalesce(1), manifest_path(warehouse), fmt)


def all_dates(dates: Mapping[str, Collection[str]]) -> list[str]:
    """The dates of any kind in ``dates`` (kind -> dates), sorted, each once."""
    return sorted({dt for kind_dates in dates.values() for dt in kind_dates})


def plan(manifest: Mapping[Partition, str] | None,
         prints: Mapping[Partition, str] | None) -> tuple[str, dict[str, list[str]]]:
    """``("unchanged" | "add" | "rebuild", dates to resolve per kind)``; see the module docstring."""
    in_use: dict[str, list[str]] = {kind: [] for kind in contract.KINDS}
    for kind, dt in sorted(prints or {}):
        in_use[kind].append(dt)
    if manifest is None or prints is None:
        return "rebuild", in_use
    if any(prints.get(p) != fp for p, fp in manifest.items()):
        return "rebuild", in_use
    added = sorted(p for p in prints if p not in manifest)
    if not added:
        return "unchanged", {kind: [] for kind in contract.KINDS}
    newest = max((dt for _, dt in manifest), default="")
    if any(dt <= newest for _, dt in added):
        return "rebuild", in_use
    new: dict[str, list[str]] = {kind: [] for kind in contract.KINDS}
    for kind, dt in added:
        new[kind].append(dt)
    return "add", new


# --- refreshing -----------------------------------------------------------------------


@dataclass
class Refresh:
    """What :func:`refresh` did (shown in the insights' log)."""

    mode: str  # unchanged | add | rebuild
    dates: dict[str, list[str]] | None = field(default_factory=dict)  # None: every clean row
    moved: int = 0
    #: The summaries of the state after the refresh (:mod:`summaries`, without ``dt``).
    summaries: DataFrame | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.mode == "unchanged":
            return "insight inputs: state up to date"
        if self.dates is None:
            return "insight inputs: rebuilt from every clean row (partitions not told apart by files)"
        dates = all_dates(self.dates)
        shown = f"{dates[0]}..{dates[-1]}" if len(dates) > 2 else ", ".join(dates) or "no dates"
        what = "rebuilt from" if self.mode == "rebuild" else "added"
        moved = f"; {self.moved} keys moved from earlier dates" if self.moved else ""
        return f"insight inputs: {what} {len(dates)} clean date(s) ({shown}){moved}"


@contextlib.contextmanager
def _locked(warehouse: str) -> Iterator[None]:
    """An exclusive lock on a local warehouse's state (nothing for remote warehouses)."""
    if not io.is_local(warehouse):
        yield
        return
    folder = os.path.join(io.local_path(warehouse), "state")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refresh(spark: SparkSession, tables: Mapping[str, DataFrame], warehouse: str, fmt: str = "parquet",
            skip: Mapping[str, Collection[str]] | None = None,
            log: Callable[[str], None] | None = None) -> tuple[DataFrame, Refresh]:
    """Bring the state up to date with ``tables`` (clean tables with ``dt``) minus ``skip``; return it.

    The summaries of every state partition written are computed with it; the
    returned :class:`Refresh` carries them all (``summaries``).
    """
    with _locked(warehouse):
        prints = fingerprints(tables, skip)
        mode, dates = plan(_read_manifest(spark, warehouse, fmt), prints)
        done = Refresh(mode, dates)
        if mode != "unchanged":
            _write_manifest(spark, warehouse, fmt, None)
            if mode == "add":
                done.moved, written = _add(spark, tables, dates, warehouse, fmt)
                kept = io.read_table(spark, state_path(warehouse), fmt) if written else None
                for dt in written:
                    io.write_partition(_summaries(kept.where(F.col(PART) == dt).drop(PART)),
                                       summaries_path(warehouse), dt, fmt)
            if mode == "rebuild" or done.moved < 0:
                done.mode, done.moved = "rebuild", 0
                done.dates = plan(None, prints)[1] if prints is not None else None
                rows = resolve(tables, done.dates) if prints is not None else resolve(_without(tables, skip))
                one_date = done.dates is not None and len(all_dates(done.dates)) <= 1
                # One date: the join's partitions (coalesced by AQE) are already few files.
                io.write_table(rows if one_date else _compact(rows, PART), state_path(warehouse), fmt,
                               partition_by=PART)
                kept = io.read_table(spark, state_path(warehouse), fmt)
                kept = _empty_state(spark, tables) if kept is None else kept
                io.write_table(_summaries(kept, PART), summaries_path(warehouse), fmt, partition_by=PART)
            _write_manifest(spark, warehouse, fmt, prints)
        if log:
            log(done.describe())
        state = io.read_table(spark, state_path(warehouse), fmt)
        parts = io.read_table(spark, summaries_path(warehouse), fmt)
    if state is None:  # nothing in use: an empty state
        state = _empty_state(spark, tables)
    done.summaries = summaries.summarize(state) if parts is None else parts.drop(PART)
    return state.drop(PART), done


def _empty_state(spark: SparkSession, tables: Mapping[str, DataFrame]) -> DataFrame:
    """State rows (with ``dt``) of no key."""
    return resolve({k: io.local_frame(spark, tables[k].schema) for k in contract.KINDS}, {})


def _summaries(rows: DataFrame, *by: str) -> DataFrame:
    """The summaries of state rows, in one file per date (a few thousand rows)."""
    return summaries.summarize(rows, *by).repartition(*by) if by else summaries.summarize(rows).coalesce(1)


def _compact(rows: DataFrame, *by: str) -> DataFrame:
    """``rows`` in few files: partitions of about ``spark.sql.adaptive.advisoryPartitionSizeInBytes``
    (grouped by ``by``), not one small file per shuffle partition and date.

    A partition's file count is paid by every scan of it (its summaries scan it
    six times). When the nine statements still scanned the whole state, 16
    files a date made them take 1.5x as long as one file a date (3.3M keys over
    11 dates).
    """
    return rows.hint("rebalance", *by)


def _without(tables: Mapping[str, DataFrame], skip: Mapping[str, Collection[str]] | None) -> dict[str, DataFrame]:
    """The tables without the skipped dates (when partitions cannot be told apart by their files)."""
    return {kind: df.where(~F.col(PART).isin(sorted((skip or {}).get(kind, ())))) for kind, df in tables.items()}


def _add(spark: SparkSession, tables: Mapping[str, DataFrame], dates: Mapping[str, list[str]],
         warehouse: str, fmt: str) -> tuple[int, list[str]]:
    """Add the state rows of ``dates`` (all later than the state's).

    Returns the number of keys moved and the dates whose state partitions were
    written (the new ones and those keys moved out of). The number is -1 when keys would have to move but the table format cannot rewrite a
    partition from itself (remote parquet): the caller rebuilds instead. The
    moved keys' old rows are copied to ``<state>_moved`` first, since their
    partitions are written again.
    """
    path = state_path(warehouse)
    new = resolve(tables, dates)
    new_dates = all_dates(dates)
    moved = _moved_rows(spark, tables, dates, warehouse, fmt)
    if moved is not None and not (fmt == "delta" or io.is_local(path)):
        return -1, []
    merged = new if moved is None else _merge(new, moved)
    if len(new_dates) > 1:
        merged = merged.cache()
    for dt in new_dates:
        io.write_partition(_compact(merged.where(F.col(PART) == dt).drop(PART)), path, dt, fmt)
    merged.unpersist()
    if moved is None:
        return 0, new_dates
    left = sorted({r[PART] for r in moved.select(PART).distinct().collect()})
    for dt in left:
        rest = io.read_table(spark, path, fmt).where(F.col(PART) == dt).drop(PART)
        io.write_partition(_compact(rest.join(moved.select(KEY), KEY, "anti")), path, dt, fmt)
    return moved.count(), new_dates + left


def _moved_rows(spark: SparkSession, tables: Mapping[str, DataFrame], dates: Mapping[str, list[str]],
                warehouse: str, fmt: str) -> DataFrame | None:
    """The state rows (with their ``dt``) of keys that ``dates`` have too, or None if there are none."""
    old = io.read_table(spark, state_path(warehouse), fmt)
    if old is None:
        return None
    new_keys = None
    for kind in contract.KINDS:
        if dates.get(kind):
            keys = tables[kind].where(F.col(PART).isin(sorted(dates[kind]))).select(KEY)
            new_keys = keys if new_keys is None else new_keys.unionByName(keys)
    if new_keys.count() <= BROADCAST_KEYS:  # the state's keys are read, not shuffled
        new_keys = F.broadcast(new_keys)
    hits = old.select(KEY, PART).join(new_keys, KEY, "semi")
    few = hits.limit(MANY_MOVED + 1).collect()
    if not few:
        return None
    if len(few) <= MANY_MOVED:  # usually a handful: read only their partitions, shuffle nothing
        old = old.where(F.col(PART).isin(sorted({r[PART] for r in few})))
        hits = F.broadcast(spark.createDataFrame([(r[KEY],) for r in few], f"{KEY} long"))
    io.write_table(old.join(hits.select(KEY), KEY, "semi"), moved_path(warehouse), fmt)
    return io.read_table(spark, moved_path(warehouse), fmt)
