"""A Confluent REST v2 produce body -> Kafka records, with the proxy's limits.

``{"records": [{"value": ..., "key": ..., "partition": N}, ...]}``; each value
and key becomes ``contract.encode_value`` bytes. Client mistakes raise
:class:`BadBody` (400 for a body that is not UTF-8 JSON, 422 for anything
else): a non-object body, ``records`` missing or empty, a record without
``value`` or with unknown fields, a non-integer partition, ``NaN`` or
``Infinity`` (not JSON), a number too large for a double (``1e400``), a lone
surrogate such as ``"\\ud800"`` (not Unicode), or a value or key nested deeper
than ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

from typing import Any

from pinterest_pipeline import contract

RECORD_FIELDS = {"value", "key", "partition"}
MAX_DEPTH = 64  # arrays/objects nested deeper than this in a value or key: 422


class BadBody(ValueError):
    """A client mistake in the body: 400 (not JSON) or 422 (not valid records)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def _check_depth(node: Any, where: str, depth: int = 1) -> None:
    """BadBody if a value inside ``node`` (itself at ``depth``) is deeper than ``MAX_DEPTH``.

    Only arrays and objects are descended into: a record of scalars costs one look at each value.
    """
    kind = type(node)
    children = node.values() if kind is dict else node if kind is list else ()
    if children and depth >= MAX_DEPTH:
        raise BadBody(f"{where}: nested deeper than {MAX_DEPTH} levels")
    for child in children:
        if type(child) is dict or type(child) is list:
            _check_depth(child, where, depth + 1)


def _encode(doc: Any, where: str) -> bytes:
    _check_depth(doc, where)
    try:
        return contract.encode_value(doc)
    except UnicodeEncodeError as exc:
        raise BadBody(f"{where}: not valid Unicode (a lone surrogate?): {exc.reason}") from None


def parse_records(body: bytes) -> list[tuple[bytes | None, bytes, int | None]]:
    """[(key bytes or None, value bytes, partition or None)]; BadBody on a client mistake."""
    try:
        doc = contract.decode_json(body.decode("utf-8"))
    except contract.NotStandardJson as exc:
        raise BadBody(str(exc)) from None
    except RecursionError:
        raise BadBody(f"The body is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBody(f"Invalid JSON: {exc}", 400) from None
    if not isinstance(doc, dict):
        raise BadBody("The request body must be a JSON object with a 'records' list")
    records = doc.get("records")
    if not isinstance(records, list) or not records:
        raise BadBody("'records' must be a non-empty list")
    out = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "value" not in rec:
            raise BadBody(f"records[{i}] must be an object with a 'value'")
        extra = set(rec) - RECORD_FIELDS
        if extra:
            raise BadBody(f"records[{i}]: unrecognized field(s) {sorted(extra)}")
        partition = rec.get("partition")
        if partition is not None and (
            not isinstance(partition, int) or isinstance(partition, bool)
        ):
            raise BadBody(f"records[{i}]: 'partition' must be an integer")
        key = rec.get("key")
        out.append(
            (
                None if key is None else _encode(key, f"records[{i}].key"),
                _encode(rec["value"], f"records[{i}].value"),
                partition,
            )
        )
    return out
