"""Helpers shared by the sources: contract field order, JSON types, errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from pinterest_pipeline.contract import RAW_FIELDS, TIMESTAMP_FORMATS

from ..model import Post

#: Wire format of timestamps we produce (the first contract format).
TIMESTAMP_FORMAT = TIMESTAMP_FORMATS[0]


class SourceError(ValueError):
    """A source spec, folder, file or database that cannot be used (bad input)."""


def in_contract_order(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with the contract fields first, in contract order; extra fields kept after.

    Missing fields stay missing: a source passes data through, it does not
    repair it (the cleaning step quarantines such records).
    """
    fields = RAW_FIELDS[kind]
    ordered = {f: record[f] for f in fields if f in record}
    ordered.update((k, v) for k, v in record.items() if k not in ordered)
    return ordered


def json_value(value: Any) -> Any:
    """A database value as the contract's JSON type."""
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return datetime.combine(value, time()).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return int(value)
    return value


def make_post(pin: Mapping[str, Any], geo: Mapping[str, Any], user: Mapping[str, Any], where: str) -> Post:
    """A :class:`Post` from three raw records; the three keys must agree."""
    pin_o, geo_o, user_o = in_contract_order("pin", pin), in_contract_order("geo", geo), in_contract_order("user", user)
    keys = (pin_o.get("index"), geo_o.get("ind"), user_o.get("ind"))
    if keys[0] is None or keys[0] != keys[1] or keys[0] != keys[2]:
        raise SourceError(f"{where}: pin index / geo ind / user ind differ or are missing: {keys}")
    if not isinstance(keys[0], int) or isinstance(keys[0], bool):
        raise SourceError(f"{where}: post key {keys[0]!r} is not an integer")
    return Post(key=keys[0], pin=pin_o, geo=geo_o, user=user_o)
