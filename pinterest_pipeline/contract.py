"""The data contract in code: one place for every fact the parts agree on.

Mirrors ``shared/spec/DATA_CONTRACT.md``: topic names, raw field order,
placeholders, clean column names/order/types, the landing and warehouse
layouts and the insight tables. Nothing here imports Spark or Dagster, so the
emulator, the streaming stack, the transforms and the tests can all use it.
"""

from __future__ import annotations

import json
import json.encoder
import math
from typing import Any, NoReturn

from pinterest_pipeline.insight_registry import (  # noqa: F401 - part of the contract
    AGE_GROUPS,
    JOIN_YEAR_RANGE,
    POST_YEAR_RANGE,
    REGISTRY,
)

# --- 1. Topics -------------------------------------------------------------

DEFAULT_TOPIC_PREFIX = "pinterest"
KINDS: tuple[str, ...] = ("pin", "geo", "user")


def topic_name(kind: str, prefix: str = DEFAULT_TOPIC_PREFIX) -> str:
    """``<prefix>.<kind>``; raises on an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")
    return f"{prefix}.{kind}"


def topic_names(prefix: str = DEFAULT_TOPIC_PREFIX) -> dict[str, str]:
    return {kind: topic_name(kind, prefix) for kind in KINDS}


# --- 2. Raw records ----------------------------------------------------------

#: Field order of each raw record (the Kafka message value).
RAW_FIELDS: dict[str, tuple[str, ...]] = {
    "pin": (
        "index",
        "unique_id",
        "title",
        "description",
        "poster_name",
        "follower_count",
        "tag_list",
        "is_image_or_video",
        "image_src",
        "downloaded",
        "save_location",
        "category",
    ),
    "geo": ("ind", "timestamp", "latitude", "longitude", "country"),
    "user": ("ind", "first_name", "last_name", "age", "date_joined"),
}

#: The post key field of each raw record.
RAW_KEY: dict[str, str] = {"pin": "index", "geo": "ind", "user": "ind"}

#: Placeholder strings per pin field; each becomes null when cleaned.
PIN_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "title": ("No Title Data Available",),
    "description": (
        "No description available Story format",
        "No description available",
        "Untitled",
    ),
    "poster_name": ("User Info Error",),
    "follower_count": ("User Info Error",),
    "tag_list": ("N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",),
    "image_src": ("Image src error.",),
}

SAVE_LOCATION_PREFIX = "Local save in "

IMAGE_OR_VIDEO: tuple[str, ...] = ("image", "video", "multi-video(story page format)")

CATEGORIES: tuple[str, ...] = (
    "art",
    "beauty",
    "christmas",
    "diy-and-crafts",
    "education",
    "event-planning",
    "finance",
    "home-decor",
    "mens-fashion",
    "quotes",
    "tattoos",
    "travel",
    "vehicles",
)

#: Follower-count suffix multipliers (``"12k"`` -> 12000, ``"2M"`` -> 2000000).
FOLLOWER_SUFFIXES: dict[str, int] = {"k": 1_000, "M": 1_000_000}

#: Timestamp formats accepted on the wire (Python strptime spelling).
TIMESTAMP_FORMATS: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# The C encoder that ``json.dumps`` itself would build on each call, built once (the REST
# proxy encodes every record it receives): the same bytes at about 3/4 of the cost.
_C_ENCODE = (
    json.encoder.c_make_encoder(None, _CANONICAL.default, json.encoder.encode_basestring,
                                None, ":", ",", False, False, False)
    if json.encoder.c_make_encoder is not None else None
)


def encode_value(record: Any) -> bytes:
    """The canonical bytes of a message value: compact UTF-8 JSON, field order kept.

    This is what the Confluent S3 sink (JsonFormat) writes per line, so every
    producer and the local sink use it to stay byte-for-byte identical: it is
    ``json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)``
    in UTF-8. A NaN or infinite float (not JSON) raises ValueError.
    """
    text = "".join(_C_ENCODE(record, 0)) if _C_ENCODE is not None else _CANONICAL.encode(record)
    return text.encode("utf-8")


class NotStandardJson(ValueError):
    """Text that Python's ``json`` reads but JSON does not allow: ``NaN``, ``Infinity``,
    ``-Infinity``, or a number too large for a double (``1e400``, read as infinity)."""


def _refuse_constant(name: str) -> NoReturn:
    raise NotStandardJson(f"{name} is not valid JSON (NaN and Infinity are not allowed)")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotStandardJson(f"the number {text} is out of range (too large for a double)")
    return value


def decode_json(text: str) -> Any:
    """``json.loads`` of standard JSON only: what every producer reads records from.

    :class:`NotStandardJson` for what :func:`encode_value` could not write back
    (see the class); ``json.JSONDecodeError`` for text that is not JSON at all.
    """
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


# --- 3. Landing zone -----------------------------------------------------------

OFFSET_DIGITS = 10


def landing_key(topic: str, dt: str, partition: int, start_offset: int) -> str:
    """Object key of a landing file, relative to the landing URI."""
    return (
        f"topics/{topic}/dt={dt}/"
        f"{topic}+{partition}+{start_offset:0{OFFSET_DIGITS}d}.json"
    )


def landing_prefix(topic: str, dt: str | None = None) -> str:
    return f"topics/{topic}/" if dt is None else f"topics/{topic}/dt={dt}/"


# --- 4. Cleaned tables ----------------------------------------------------------

#: Column name -> Spark SQL type, in contract order.
CLEAN_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "pin": (
        ("ind", "bigint"),
        ("unique_id", "string"),
        ("title", "string"),
        ("description", "string"),
        ("follower_count", "bigint"),
        ("poster_name", "string"),
        ("tag_list", "string"),
        ("is_image_or_video", "string"),
        ("image_src", "string"),
        ("save_location", "string"),
        ("category", "string"),
    ),
    "geo": (
        ("ind", "bigint"),
        ("country", "string"),
        ("coordinates", "array<double>"),
        ("timestamp", "timestamp"),
    ),
    "user": (
        ("ind", "bigint"),
        ("user_name", "string"),
        ("age", "int"),
        ("date_joined", "timestamp"),
    ),
}

#: What each clean column holds (contract section 4), for the catalog's column schema.
CLEAN_COLUMN_DESCRIPTIONS: dict[str, str] = {
    column: text + (" (placeholder strings become null)" if column in PIN_PLACEHOLDERS else "")
    for column, text in {
        "unique_id": "the pin's id",
        "title": "title",
        "description": "description",
        "follower_count": "the poster's followers as a number: 12k is 12000, 2M is 2000000",
        "poster_name": "the poster's name",
        "tag_list": "tags, comma-separated as in the record",
        "is_image_or_video": "image or video, as in the record",
        "image_src": "the image's URL",
        "save_location": f"where the pin was saved, without the {SAVE_LOCATION_PREFIX.strip()!r} prefix",
        "category": "the pin's category",
        "country": "the country the post came from",
        "coordinates": "[latitude, longitude]; null when both are missing",
        "timestamp": "when the post was made (UTC)",
        "user_name": "first and last name, or the one that is there",
        "age": "the user's age",
        "date_joined": "when the user joined (UTC)",
    }.items()
}

CLEAN_KEY = "ind"
PARTITION_COLUMN = "dt"

#: Quarantine table columns (one row per rejected raw line).
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("raw_line", "string"),
    ("source_file", "string"),
    ("reason", "string"),
    ("dt", "string"),
)

LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)
#: Plausible ages for the value check (the cleaning itself keeps any integer).
AGE_RANGE = (0, 130)

# --- 5. Insights ------------------------------------------------------------------
# One entry per table in ``insight_registry.REGISTRY``; these views are derived.

#: Insight table -> ((column, Spark type), ...); the grouping columns come first.
INSIGHT_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {i.name: i.columns for i in REGISTRY}

#: Grouping key columns of each insight table (unique per row; none: exactly one row).
INSIGHT_KEYS: dict[str, tuple[str, ...]] = {i.name: i.keys for i in REGISTRY}

INSIGHTS: tuple[str, ...] = tuple(INSIGHT_COLUMNS)

# --- 6. Warehouse --------------------------------------------------------------


def clean_path(warehouse: str, kind: str) -> str:
    return f"{warehouse.rstrip('/')}/clean/{kind}"


def quarantine_path(warehouse: str, kind: str) -> str:
    return f"{warehouse.rstrip('/')}/quarantine/{kind}"


def insight_path(warehouse: str, table: str) -> str:
    return f"{warehouse.rstrip('/')}/insights/{table}"
