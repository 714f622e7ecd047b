"""Post sources: ``synthetic`` (default), ``jsonl:DIR`` and ``sql:URL``.

Every source yields :class:`emulator.model.Post` objects whose records have
the contract's field order (``contract.RAW_FIELDS``) and JSON types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Post
from .base import SourceError
from .jsonl import jsonl_source
from .sql import sql_source
from .synthetic import SyntheticSource

SOURCE_SPECS = "synthetic | jsonl:DIR | sql:URL"

__all__ = ["SOURCE_SPECS", "SourceError", "SyntheticSource", "jsonl_source", "make_source", "sql_source"]


def make_source(spec: str, seed: int = 42, **opts: Any) -> Iterator[Post]:
    """The posts of a source spec: ``synthetic``, ``jsonl:DIR`` or ``sql:URL``.

    The spec is checked (folder readable, database reachable) before this
    returns; a bad one raises :class:`SourceError` (a ``ValueError``).
    ``opts`` go to the synthetic source (``start_key``, ``replay_rate``).
    Synthetic and sql sources are endless; jsonl ends with its files.
    """
    kind, sep, arg = (spec or "").partition(":")
    if kind == "synthetic" and not arg:
        return iter(SyntheticSource(seed, **opts))
    if opts:
        raise SourceError(f"options {sorted(opts)} only apply to the synthetic source")
    if kind == "jsonl" and sep and arg:
        return jsonl_source(arg)
    if kind == "sql" and sep and arg:
        return sql_source(arg, seed)
    raise SourceError(f"bad source spec {spec!r}: expected {SOURCE_SPECS}")
