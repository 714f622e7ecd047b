"""``jsonl:DIR``: replay a folder shaped like the sample, in file order.

``DIR`` holds ``pin.jsonl``, ``geo.jsonl`` and ``user.jsonl``; line N of each
file is the same post. Posts are yielded once each, in order; the source ends
when the files do (``--posts N`` larger than the files sends what there is,
and the runner says so). Fields are put in contract order, values are passed
through unchanged (dirty data stays dirty: that is what the cleaning is for).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack

from pinterest_pipeline.contract import KINDS, NotStandardJson, decode_json

from ..model import Post
from .base import SourceError, make_post


def _paths(folder: str) -> dict[str, str]:
    folder = os.path.expanduser(folder)
    if not os.path.isdir(folder):
        raise SourceError(f"jsonl source: {folder!r} is not a folder")
    paths = {kind: os.path.join(folder, f"{kind}.jsonl") for kind in KINDS}
    for path in paths.values():
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise SourceError(f"jsonl source: cannot read {path} (need pin.jsonl, geo.jsonl, user.jsonl)")
    return paths


def jsonl_source(folder: str) -> Iterator[Post]:
    """Validate ``folder`` now, then return an iterator over its posts."""
    paths = _paths(folder)
    return _read(paths)


def _read(paths: dict[str, str]) -> Iterator[Post]:
    with ExitStack() as stack:
        files = {kind: stack.enter_context(open(path, encoding="utf-8")) for kind, path in paths.items()}
        lineno = 0
        while True:
            lines = {kind: fh.readline() for kind, fh in files.items()}
            lineno += 1
            present = [k for k, line in lines.items() if line]
            if not present:
                return
            if len(present) != len(KINDS):
                raise SourceError(f"jsonl source: files end at different lines (line {lineno}: only {present})")
            if all(not line.strip() for line in lines.values()):
                continue
            records = {}
            for kind, line in lines.items():
                try:  # NaN, Infinity, 1e400 (which Python's json reads) are refused too
                    value = decode_json(line)
                except (json.JSONDecodeError, NotStandardJson) as exc:  # msg: without the position
                    why = exc.msg if isinstance(exc, json.JSONDecodeError) else exc
                    raise SourceError(f"{paths[kind]}:{lineno}: not JSON ({why})") from None
                if not isinstance(value, dict):
                    raise SourceError(f"{paths[kind]}:{lineno}: not a JSON object")
                records[kind] = value
            yield make_post(records["pin"], records["geo"], records["user"], f"jsonl line {lineno}")
