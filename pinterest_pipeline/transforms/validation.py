"""Data checks on clean and insight tables: pandera models plus failure cases.

Clean tables (one :class:`CheckOutcome` per :data:`CLEAN_CHECKS` entry):

* ``schema`` (ERROR, blocking): column names, order and Spark types are exactly
  ``contract.CLEAN_COLUMNS[kind]``. Order is compared here (pandera does not
  check it); names and types are also checked by the pandera model (strict).
* ``unique_key`` (ERROR, blocking): ``ind`` non-null and unique (pandera
  ``nullable=False`` + ``Config.unique``).
* ``value_rules`` (ERROR, blocking): ranges and shapes (follower_count >= 0,
  save_location ``^/data/[a-z-]+$``, is_image_or_video known, coordinates two
  non-null doubles within the contract ranges, age within ``contract.AGE_RANGE``,
  timestamps not in the future). Nulls pass.
* ``known_categories`` (pin only, WARN, non-blocking): category in
  ``contract.CATEGORIES`` (null passes).

Each rule is one Spark ``Column`` predicate in :data:`RULES` (true = the row
breaks it). The pandera models (:data:`MODELS`, built from the contract's
types) use those predicates as dataframe checks, so pandera decides pass/fail
from the same definitions that produce the failure cases. pandera's pyspark
backend reports no failing rows, so the failure counts and up to
:data:`MAX_FAILURE_CASES` failing rows per check come from DataFrame-API
queries. When the schema check fails, the other checks are not evaluated
and fail with ``metadata["skipped"]``.

Cost: a table that passes costs one Spark job: one aggregation counts null
keys, distinct keys and every rule's failures at once, and pandera validates
the schema (no data job). When the cleaner writes a table, the write job
itself counts the rule failures (:func:`count_rule_failures`, an
observation) and that aggregation reads back only the key column. Only when
it finds a failure do pandera's data checks run (``SCHEMA_AND_DATA``) and the failure cases get
collected, one query per failing check: a million-row partition is checked
in about a second, and a broken one is reported in full. pandera 0.35 accepts Spark Connect
DataFrames as well as classic ones (``pandera.api.pyspark.types``); everything
else here is plain DataFrame API.

Insight tables: :data:`INSIGHT_CHECK` ``non_empty_unique_keys``: at least one row
and ``contract.INSIGHT_KEYS`` unique (``country_with_top_poster``: exactly one row).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import pandera.pyspark as pa
from pandera.config import ValidationDepth, config_context
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pinterest_pipeline import contract

MAX_FAILURE_CASES = 20


@dataclass(frozen=True)
class CheckSpec:
    """A check as declared to the orchestrator (no Spark needed)."""

    name: str
    severity: str  # "ERROR" | "WARN"
    blocking: bool
    description: str


@dataclass
class CheckOutcome:
    """The result of one check; ``metadata`` is JSON-able."""

    name: str
    passed: bool
    severity: str
    blocking: bool
    description: str
    metadata: dict = field(default_factory=dict)


_SCHEMA = CheckSpec("schema", "ERROR", True, "Columns, column order and types match the data contract.")
_UNIQUE = CheckSpec("unique_key", "ERROR", True, "ind is non-null and unique within the partition.")
_VALUES = CheckSpec(
    "value_rules", "ERROR", True,
    "Values within contract ranges and shapes (counts >= 0, ages, coordinates, "
    "timestamps not in the future, save_location, media type).",
)
_CATEGORIES = CheckSpec(
    "known_categories", "WARN", False, "category is one of the 13 known categories (or null)."
)

#: Check specs per clean kind, in the order :func:`run_clean_checks` returns them.
CLEAN_CHECKS: dict[str, tuple[CheckSpec, ...]] = {
    "pin": (_SCHEMA, _UNIQUE, _VALUES, _CATEGORIES),
    "geo": (_SCHEMA, _UNIQUE, _VALUES),
    "user": (_SCHEMA, _UNIQUE, _VALUES),
}

INSIGHT_CHECK = CheckSpec(
    "non_empty_unique_keys", "ERROR", True,
    "The table has rows and one row per grouping key (country_with_top_poster: exactly one row).",
)


# --- rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One value rule: ``violated()`` is true on a row that breaks it (null = fine)."""

    check: str
    name: str
    column: str
    violated: Callable[[], Column]


def _not_future(c: str) -> Callable[[], Column]:
    return lambda: F.col(c) > F.current_timestamp()


def _coordinates_bad() -> Column:
    xy = F.col("coordinates")
    lat, lon = F.try_element_at(xy, F.lit(1)), F.try_element_at(xy, F.lit(2))
    return xy.isNotNull() & (
        (F.size(xy) != 2)
        | lat.isNull()
        | lon.isNull()
        | ~lat.between(*contract.LATITUDE_RANGE)
        | ~lon.between(*contract.LONGITUDE_RANGE)
    )


RULES: dict[str, tuple[Rule, ...]] = {
    "pin": (
        Rule("value_rules", "follower_count >= 0", "follower_count", lambda: F.col("follower_count") < 0),
        Rule("value_rules", "save_location matches ^/data/[a-z-]+$", "save_location",
             lambda: ~F.col("save_location").rlike(r"^/data/[a-z-]+$")),
        Rule("value_rules", "is_image_or_video is known", "is_image_or_video",
             lambda: ~F.col("is_image_or_video").isin(*contract.IMAGE_OR_VIDEO)),
        Rule("known_categories", "category is known", "category",
             lambda: ~F.col("category").isin(*contract.CATEGORIES)),
    ),
    "geo": (
        Rule("value_rules", "coordinates are [latitude, longitude] in range", "coordinates",
             _coordinates_bad),
        Rule("value_rules", "timestamp not in the future", "timestamp", _not_future("timestamp")),
    ),
    "user": (
        Rule("value_rules", "age in {}..{}".format(*contract.AGE_RANGE), "age",
             lambda: ~F.col("age").between(*contract.AGE_RANGE)),
        Rule("value_rules", "date_joined not in the future", "date_joined", _not_future("date_joined")),
    ),
}


def _any_violated(rules: tuple[Rule, ...]) -> Column:
    return reduce(lambda a, b: a | b, [F.coalesce(r.violated(), F.lit(False)) for r in rules])


# --- pandera models ------------------------------------------------------------------


def spark_type(sql_type: str) -> T.DataType:
    """Spark type of a contract type string (``bigint``, ``array<double>``, ...)."""
    if sql_type.startswith("array<") and sql_type.endswith(">"):
        return T.ArrayType(spark_type(sql_type[6:-1]), True)
    simple = {
        "bigint": T.LongType(), "int": T.IntegerType(), "string": T.StringType(),
        "double": T.DoubleType(), "timestamp": T.TimestampType(),
    }
    return simple[sql_type]


def _model(kind: str) -> type[pa.DataFrameModel]:
    """The pandera model of a clean table, generated from the contract and :data:`RULES`."""
    columns = contract.CLEAN_COLUMNS[kind]
    namespace: dict[str, Any] = {
        "__annotations__": {c: spark_type(t) for c, t in columns},
        **{c: pa.Field(nullable=c != contract.CLEAN_KEY) for c, _ in columns},
        "Config": type("Config", (), {"strict": True, "unique": [contract.CLEAN_KEY],
                                      "name": f"clean_{kind}"}),
        "__doc__": f"Clean {kind} table (contract section 4).",
    }
    for check in {r.check for r in RULES[kind]}:
        rules = tuple(r for r in RULES[kind] if r.check == check)

        def holds(cls, df: DataFrame, _rules=rules) -> bool:
            return df.filter(_any_violated(_rules)).limit(1).count() == 0

        holds.__name__ = check
        namespace[check] = pa.dataframe_check(holds)
    return type(f"Clean{kind.title()}", (pa.DataFrameModel,), namespace)


#: kind -> pandera DataFrameModel of the clean table.
MODELS: dict[str, type[pa.DataFrameModel]] = {kind: _model(kind) for kind in contract.KINDS}


def _pandera_errors(kind: str, df: DataFrame, depth: ValidationDepth) -> dict[str, list[dict]]:
    """pandera's findings at ``depth``, grouped by our check name."""
    with config_context(validation_enabled=True, validation_depth=depth):
        validated = MODELS[kind].validate(df, lazy=True)
    grouped: dict[str, list[dict]] = {}
    for category, by_reason in (validated.pandera.errors or {}).items():
        for reason, errors in by_reason.items():
            for err in errors:
                check = str(err.get("check"))
                if category == "SCHEMA":
                    name = _SCHEMA.name
                elif check == "unique" or err.get("column") == contract.CLEAN_KEY:
                    name = _UNIQUE.name
                else:
                    name = check if check in {r.check for r in RULES[kind]} else _VALUES.name
                grouped.setdefault(name, []).append(
                    {"reason": reason, "column": str(err.get("column")), "check": check,
                     "error": _short(str(err.get("error")))}
                )
    return grouped


def _short(error: str) -> str:
    """pandera's message without the schema repr it embeds for dataframe checks."""
    return error.split("failed element-wise")[0][:300] if not error.startswith("<Schema") else (
        error.rsplit(">", 1)[-1].strip()[:300] or "dataframe check failed")


# --- running checks ---------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _rows(df: DataFrame) -> list[dict]:
    return [_jsonable(r.asDict(recursive=True)) for r in df.limit(MAX_FAILURE_CASES).collect()]


def _outcome(spec: CheckSpec, passed: bool, **metadata: Any) -> CheckOutcome:
    return CheckOutcome(spec.name, passed, spec.severity, spec.blocking, spec.description, metadata)


def _schema_failures(kind: str, df: DataFrame) -> list[dict]:
    expected = [(c, spark_type(t).simpleString()) for c, t in contract.CLEAN_COLUMNS[kind]]
    actual = [(f.name, f.dataType.simpleString()) for f in df.schema.fields]
    failures = []
    for i in range(max(len(expected), len(actual))):
        exp = expected[i] if i < len(expected) else (None, None)
        act = actual[i] if i < len(actual) else (None, None)
        if exp != act:
            failures.append({"position": i, "expected_column": exp[0], "expected_type": exp[1],
                             "actual_column": act[0], "actual_type": act[1]})
    return failures


def _rule_counts(kind: str) -> list[Column]:
    """Each rule's failures as an aggregate (``r<i>``, ``i`` its place in ``RULES[kind]``)."""
    flags = [F.coalesce(r.violated(), F.lit(False)) for r in RULES[kind]]
    return [F.sum(f.cast("long")).alias(f"r{i}") for i, f in enumerate(flags)]


def count_rule_failures(kind: str, df: DataFrame) -> tuple[DataFrame, Observation]:
    """``df``, observed: the job that computes it (the write) also counts each rule's failures.

    Pass ``observation`` to :func:`observed_counts` after that job, and the
    counts to :func:`run_clean_checks` for the written table: the checks then
    read back only its key column (rows, null and distinct keys).
    """
    observation = Observation(f"rules_{kind}_{uuid.uuid4().hex[:8]}")
    return df.observe(observation, *_rule_counts(kind)), observation


def observed_counts(observation: Observation) -> dict[str, int] | None:
    """The counts of :func:`count_rule_failures`, or None when no task reported them (no rows)."""
    try:
        counts = observation.get
    except Exception:  # noqa: BLE001 - no metrics (no task ran): the checks count instead
        return None
    return {k: int(v or 0) for k, v in counts.items()} if counts else None


def _profile(kind: str, df: DataFrame, rule_failures: dict[str, int] | None = None) -> dict[str, int]:
    """One aggregation: rows, null keys, distinct keys and each rule's failures (``r<i>``).

    With ``rule_failures`` (counted while ``df`` was written) only the key column is read.
    """
    key = contract.CLEAN_KEY
    keys = [F.count(F.lit(1)).alias("rows"), F.count(F.col(key)).alias("keys"),
            F.countDistinct(F.col(key)).alias("distinct_keys")]
    if rule_failures is not None:
        row = df.select(key).agg(*keys).first()
        return {**{k: int(v or 0) for k, v in row.asDict().items()},
                **{f"r{i}": rule_failures.get(f"r{i}", 0) for i in range(len(RULES[kind]))}}
    row = df.agg(*keys, *_rule_counts(kind)).first()
    return {k: int(v or 0) for k, v in row.asDict().items()}


def _unique_key(df: DataFrame, profile: dict[str, int], pandera: list[dict]) -> CheckOutcome:
    key = contract.CLEAN_KEY
    null_keys = profile["rows"] - profile["keys"]
    cases: list[dict] = []
    duplicated = 0
    if null_keys or profile["keys"] != profile["distinct_keys"]:
        counts = df.groupBy(key).agg(F.count(F.lit(1)).alias("rows"))
        bad = counts.filter(F.col(key).isNull() | (F.col("rows") > 1))
        duplicated = bad.filter(F.col(key).isNotNull()).count()
        cases = _rows(bad.orderBy(F.col(key).asc_nulls_first()))
    return _outcome(_UNIQUE, not pandera and not cases, null_keys=null_keys,
                    duplicated_keys=duplicated, failure_cases=cases, pandera_errors=pandera)


def _rule_outcome(spec: CheckSpec, kind: str, df: DataFrame, profile: dict[str, int],
                  pandera: list[dict]) -> CheckOutcome:
    indexed = [(i, r) for i, r in enumerate(RULES[kind]) if r.check == spec.name]
    failure_counts = {r.name: profile[f"r{i}"] for i, r in indexed}
    cases: list[dict] = []
    if any(failure_counts.values()):
        rules = [r for _, r in indexed]
        flags = [F.coalesce(r.violated(), F.lit(False)) for r in rules]
        broken = F.filter(
            F.array(*[F.when(f, F.lit(r.name)) for r, f in zip(rules, flags)]), lambda x: x.isNotNull()
        )
        cols = [contract.CLEAN_KEY] + sorted({r.column for r in rules})
        failing = df.select(*cols, broken.alias("failed_rules")).filter(F.size("failed_rules") > 0)
        cases = _rows(failing.orderBy(contract.CLEAN_KEY))
    passed = not pandera and not cases
    # pandera's pyspark backend says only "failed validation None" for a dataframe check: name the rows.
    broken = ", ".join(f"{name}: {n} row(s)" for name, n in failure_counts.items() if n)
    pandera = [{**p, "error": broken} if broken and p["error"].endswith("None") else p
               for p in pandera]
    return _outcome(spec, passed, failure_counts=failure_counts, failure_cases=cases,
                    pandera_errors=pandera)


def run_clean_checks(kind: str, df: DataFrame, rule_failures: dict[str, int] | None = None) -> list[CheckOutcome]:
    """One outcome per ``CLEAN_CHECKS[kind]`` entry, in that order.

    ``rule_failures``: each rule's failures in ``df``, counted while it was
    written (:func:`count_rule_failures`); without it they are counted here.
    """
    schema_failures = _schema_failures(kind, df)
    pandera: dict[str, list[dict]] = {}
    profile: dict[str, int] = {}
    if not schema_failures:
        profile = _profile(kind, df, rule_failures)
        clean = (profile["rows"] == profile["keys"] == profile["distinct_keys"]
                 and not any(v for k, v in profile.items() if k.startswith("r") and k != "rows"))
        depth = ValidationDepth.SCHEMA_ONLY if clean else ValidationDepth.SCHEMA_AND_DATA
        pandera = _pandera_errors(kind, df, depth)
    expected = [c for c, _ in contract.CLEAN_COLUMNS[kind]]
    outcomes = [_outcome(
        _SCHEMA, not schema_failures, failure_cases=schema_failures[:MAX_FAILURE_CASES],
        missing_columns=[c for c in expected if c not in df.columns],
        unexpected_columns=[c for c in df.columns if c not in expected],
        actual_columns=[f"{c} {t}" for c, t in df.dtypes],
    )]
    for spec in CLEAN_CHECKS[kind][1:]:
        if schema_failures:
            outcomes.append(_outcome(spec, False, skipped="schema check failed"))
        elif spec is _UNIQUE:
            outcomes.append(_unique_key(df, profile, pandera.get(spec.name, [])))
        else:
            outcomes.append(_rule_outcome(spec, kind, df, profile, pandera.get(spec.name, [])))
    return outcomes


def run_insight_check(name: str, rows: list[dict[str, Any]]) -> CheckOutcome:
    """``non_empty_unique_keys`` on the rows of insight table ``name`` (a few rows, held)."""
    keys = list(contract.INSIGHT_KEYS[name])
    if not keys:
        return _outcome(INSIGHT_CHECK, len(rows) == 1, rows=len(rows), expected_rows=1,
                        failure_cases=[])
    counts = Counter(tuple(r[k] for k in keys) for r in rows)
    dupes = sorted(((k, n) for k, n in counts.items() if n > 1), key=lambda kn: repr(kn[0]))
    cases = [_jsonable({**dict(zip(keys, k)), "rows": n}) for k, n in dupes[:MAX_FAILURE_CASES]]
    return _outcome(INSIGHT_CHECK, bool(rows) and not dupes, rows=len(rows),
                    duplicated_keys=len(dupes), failure_cases=cases)
