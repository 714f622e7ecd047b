"""A small real landing for the Dagster tests: sample records over a few dates.

``land(root, dt, first, n)`` writes ``n`` sample records of each kind from line
``first`` in sink layout; ``broken=True`` gives one user an age of 500, which the
cleaning keeps and the blocking ``value_rules`` check of ``clean/user`` rejects.
"""

from __future__ import annotations

import json
from pathlib import Path

from pinterest_pipeline import contract
from tests.sample import require_sample

PREFIX = "pinterest"
BROKEN_AGE = 500


def land(root: Path, dt: str, first: int, n: int, broken: bool = False) -> list[int]:
    """Lands one date; returns the ``ind`` of the broken user (or nothing)."""
    sample = require_sample()
    bad = []
    for kind in contract.KINDS:
        lines = (sample / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()[first:first + n]
        records = [json.loads(line) for line in lines]
        if broken and kind == "user":
            records[0]["age"] = BROKEN_AGE
            bad.append(records[0]["ind"])
        topic = contract.topic_name(kind, PREFIX)
        path = root / contract.landing_key(topic, dt, 0, first)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(contract.encode_value(r) + b"\n" for r in records))
    return bad
