"""Scaled landings for the benchmarks: real (or synthetic) values, new keys.

``python -m benchmarks.generate --posts 1000000 --out DIR [--layout sink|large]``

The base posts are the real sample records (``../shared/data/aicore_sample``,
or ``PINTEREST_SAMPLE_DIR``) when they are there, otherwise posts of the
seeded synthetic emulator. Post ``i`` takes the values of base post
``i % len(base)`` under the new key ``i + 1``, so every value is a real one
and every key is new. One post in ``--replay-every`` (default 100) is sent
twice, the second time as an exact replay in a later file, as the emulator
and an at-least-once producer do; the cleaning collapses them.

Layouts (contract section 3, one Kafka partition, compact JSON lines written
with :func:`pinterest_pipeline.contract.encode_value`):

* ``sink``: what the S3 sink writes with its default flush size: files of
  ``--records-per-file`` records (default 1,000), so 1,000,000 posts are 3,000+
  files.
* ``large``: one file per topic and date (``--records-per-file 0``), the
  shape of a bulk backfill (about 600 MB of pin records for 1,000,000 posts).

``--dates N`` spreads the posts over N consecutive landing dates ending at
``--last-date`` (default yesterday, UTC), posts in order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pinterest_pipeline import contract

SAMPLE_DIR = Path(
    os.environ.get(
        "PINTEREST_SAMPLE_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "aicore_sample",
    )
)


def sample_posts() -> list[dict[str, dict]] | None:
    """The real sample posts (``{"pin": .., "geo": .., "user": ..}``), or None if absent."""
    if not (SAMPLE_DIR / "pin.jsonl").is_file():
        return None
    files = {kind: (SAMPLE_DIR / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
             for kind in contract.KINDS}
    posts = []
    for lines in zip(*(files[k] for k in contract.KINDS)):
        if all(line.strip() for line in lines):
            posts.append({k: json.loads(line) for k, line in zip(contract.KINDS, lines)})
    return posts


def synthetic_posts(n: int = 20_000, seed: int = 1) -> list[dict[str, dict]]:
    from emulator.sources import make_source

    source = make_source("synthetic", seed=seed)
    return [{"pin": p.pin, "geo": p.geo, "user": p.user} for p, _ in zip(source, range(n))]


def base_posts() -> tuple[list[dict[str, dict]], str]:
    posts = sample_posts()
    if posts:
        return posts, f"real sample ({len(posts):,} posts, {SAMPLE_DIR})"
    posts = synthetic_posts()
    return posts, f"synthetic emulator ({len(posts):,} posts; real sample not found)"


def _templates(posts: list[dict[str, dict]]) -> dict[str, list[tuple[bytes, bytes]]]:
    """Per kind, each base record encoded as (bytes before the key value, bytes after)."""
    out: dict[str, list[tuple[bytes, bytes]]] = {k: [] for k in contract.KINDS}
    marker = 987654321987654321
    for post in posts:
        for kind in contract.KINDS:
            record = dict(post[kind])
            record[contract.RAW_KEY[kind]] = marker
            head, tail = contract.encode_value(record).split(str(marker).encode(), 1)
            out[kind].append((head, tail))
    return out


def post_order(posts: int, replay_every: int) -> list[int]:
    """Post numbers in send order: every ``replay_every``-th post again, 50 posts later."""
    order: list[int] = []
    pending: dict[int, list[int]] = {}
    for i in range(posts):
        order.append(i)
        order.extend(pending.pop(i, ()))
        if replay_every and i % replay_every == replay_every - 1:
            pending.setdefault(min(i + 50, posts - 1), []).append(i)
    for rest in pending.values():
        order.extend(rest)
    return order


def generate(out: str, posts: int, *, records_per_file: int = 1000, dates: int = 1,
             last_date: str | None = None, replay_every: int = 100,
             prefix: str = contract.DEFAULT_TOPIC_PREFIX, quiet: bool = False) -> dict:
    """Write the landing under ``out``; returns a summary (files, bytes, records, dates)."""
    started = time.monotonic()
    base, origin = base_posts()
    templates = _templates(base)
    last = date.fromisoformat(last_date) if last_date else datetime.now(UTC).date() - timedelta(days=1)
    day_list = [(last - timedelta(days=dates - 1 - d)).isoformat() for d in range(dates)]
    order = post_order(posts, replay_every)
    per_day = -(-len(order) // dates)
    files = total_bytes = 0
    for kind in contract.KINDS:
        topic = contract.topic_name(kind, prefix)
        offset = 0
        for d, dt in enumerate(day_list):
            chunk = order[d * per_day:(d + 1) * per_day]
            folder = Path(out) / contract.landing_prefix(topic, dt)
            folder.mkdir(parents=True, exist_ok=True)
            size = records_per_file or len(chunk) or 1
            for start in range(0, len(chunk), size):
                lines = []
                for i in chunk[start:start + size]:
                    head, tail = templates[kind][i % len(base)]
                    lines.append(head + str(i + 1).encode() + tail + b"\n")
                name = Path(out) / contract.landing_key(topic, dt, 0, offset)
                with open(name, "wb") as fh:
                    fh.writelines(lines)
                    total_bytes += fh.tell()
                offset += len(lines)
                files += 1
        if not quiet:
            print(f"  {topic}: {offset:,} records", file=sys.stderr)
    summary = {"posts": posts, "records": 3 * len(order), "files": files, "bytes": total_bytes,
               "dates": day_list, "base": origin, "seconds": round(time.monotonic() - started, 1)}
    if not quiet:
        print(f"landing {out}: {posts:,} posts ({len(order) - posts:,} replays) from the {origin}, "
              f"{files:,} files, {total_bytes / 1e6:,.0f} MB, {summary['seconds']} s", file=sys.stderr)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--out", required=True, help="landing folder to write (must not exist)")
    parser.add_argument("--layout", choices=("sink", "large"), default="sink")
    parser.add_argument("--records-per-file", type=int, default=None,
                        help="default 1000 for --layout sink, 0 (one file) for large")
    parser.add_argument("--dates", type=int, default=1)
    parser.add_argument("--last-date", default=None, help="YYYY-MM-DD, default yesterday (UTC)")
    parser.add_argument("--replay-every", type=int, default=100, help="0: no replays")
    args = parser.parse_args(argv)
    if args.posts < 1 or args.dates < 1:
        parser.error("--posts and --dates must be at least 1")
    if os.path.exists(args.out):
        parser.error(f"{args.out} exists; pass a new folder")
    per_file = args.records_per_file if args.records_per_file is not None else (
        1000 if args.layout == "sink" else 0)
    generate(args.out, args.posts, records_per_file=per_file, dates=args.dates,
             last_date=args.last_date, replay_every=args.replay_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
