"""``--via landing``: write the landing zone directly, as the S3 sink would.

Layout and bytes follow contract section 3 exactly: per topic, Kafka partition
0, files ``topics/<topic>/dt=<UTC date>/<topic>+0+<start offset:010d>.json``,
one ``contract.encode_value(record)`` per line, written once with
:meth:`LandingStore.put_once`. Offsets continue after the highest offset
already landed for the topic (start + line count of its last file, the same
"frontier" the sink resumes from), so a second run never collides with the
first. The record timestamp is the wall clock (UTC) when the post is handed to
:meth:`LandingSender.send`; it decides ``dt``.

A file is closed (written) when it holds ``flush_size`` records, when the next
record has another ``dt``, when ``rotate_ms`` passed since its first record
(checked on every ``send``, so a slow trickle still lands), and on
:meth:`close`. A post is delivered when the files holding its three records
are written. If a write fails, the posts in that file are reported failed; on
a :class:`LandingConflict` (someone else landed that name meanwhile) the file
is written once more after the new frontier, like the sink does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pinterest_pipeline import contract, settings
from pinterest_pipeline.ingest.landing import (
    LandingConflict,
    LandingStore,
    encode_lines,
    landing_frontiers,
    open_landing,
)

from .model import Post, SendResult

PARTITION = 0


def landed_frontier(store: LandingStore, topic: str, partition: int = PARTITION) -> int:
    """Next free offset of ``topic``/``partition`` in the landing."""
    return landing_frontiers(store, topic).get(partition, 0)


@dataclass
class _File:
    dt: str
    opened: float  # monotonic time of the first record
    values: list[bytes] = field(default_factory=list)
    posts: list[int] = field(default_factory=list)  # sequence number of each record's post


class LandingSender:
    """Writes posts straight into the landing zone (see the module docstring)."""

    def __init__(
        self,
        landing_uri: str,
        topic_prefix: str,
        *,
        flush_size: int | None = None,
        rotate_ms: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = open_landing(landing_uri)
        self.flush_size = flush_size or int(settings.get("PINTEREST_SINK_FLUSH_SIZE"))
        self.rotate_s = (rotate_ms if rotate_ms is not None else int(settings.get("PINTEREST_SINK_ROTATE_MS"))) / 1000
        if self.flush_size < 1:
            raise ValueError(f"flush_size must be >= 1, got {self.flush_size}")
        self.clock = clock
        self.topics = contract.topic_names(topic_prefix)
        self.next_offset = {kind: landed_frontier(self.store, topic) for kind, topic in self.topics.items()}
        self.open: dict[str, _File | None] = {kind: None for kind in contract.KINDS}
        self.keys: dict[int, int] = {}  # post sequence number -> post key
        self.remaining: dict[int, int] = {}  # post sequence number -> records not yet landed
        self.failed: dict[int, str] = {}
        self.files: list[str] = []  # keys written, in order
        self.result = SendResult()
        self._seq = 0

    def send(self, posts: Sequence[Post]) -> None:
        now = self.clock()
        dt = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        mono = time.monotonic()
        for kind in contract.KINDS:  # close files that are due before adding to them
            f = self.open[kind]
            if f is not None and (f.dt != dt or mono - f.opened >= self.rotate_s):
                self._flush(kind)
        encode = contract.encode_value
        for post in posts:
            seq = self._seq
            self._seq += 1
            self.keys[seq] = post.key
            self.remaining[seq] = len(contract.KINDS)
            for kind, record in post.records().items():
                f = self.open[kind]
                if f is None:
                    f = self.open[kind] = _File(dt, mono)
                f.values.append(encode(record))
                f.posts.append(seq)
                if len(f.values) >= self.flush_size:
                    self._flush(kind)

    def _flush(self, kind: str) -> None:
        f = self.open[kind]
        self.open[kind] = None
        if f is None or not f.values:
            return
        topic = self.topics[kind]
        data = encode_lines(f.values)
        error = None
        for _attempt in range(2):
            key = contract.landing_key(topic, f.dt, PARTITION, self.next_offset[kind])
            try:
                self.store.put_once(key, data)
            except LandingConflict as exc:  # another writer landed this name: go after it
                error = exc
                self.next_offset[kind] = max(self.next_offset[kind] + 1, landed_frontier(self.store, topic))
                continue
            except Exception as exc:  # noqa: BLE001 - reported per post, never silently
                error = exc
                break
            self.next_offset[kind] += len(f.values)
            self.files.append(key)
            self.result.records += len(f.values)
            for seq in f.posts:
                self._landed(seq)
            return
        try:  # keep offsets contiguous with what is really there
            self.next_offset[kind] = max(self.next_offset[kind], landed_frontier(self.store, topic))
        except Exception:  # noqa: BLE001, S110 - the failure is already reported per post
            pass
        for seq in f.posts:
            if seq not in self.failed:
                self.failed[seq] = f"post {self.keys[seq]}: {kind} record not landed: {error}"

    def _landed(self, seq: int) -> None:
        left = self.remaining[seq] - 1
        if left:
            self.remaining[seq] = left
            return
        del self.remaining[seq]
        if seq not in self.failed:
            self.result.delivered_posts += 1
            del self.keys[seq]

    def close(self) -> SendResult:
        for kind in contract.KINDS:
            self._flush(kind)
        self.result.failed_posts = len(self.failed)
        self.result.failures = [self.failed[s] for s in sorted(self.failed)]
        return self.result
