"""``--via landing``: write the landing zone directly, as the S3 sink would.

Layout and bytes follow contract section 3 exactly: per topic, Kafka partition
0, files ``topics/<topic>/dt=<UTC date>/<topic>+0+<start offset:010d>.json``,
one ``contract.encode_value(record)`` per line, written once with
:meth:`LandingStore.put_once`. Offsets continue after the highest offset
already landed for the topic (start + line count of its last file, the same
"frontier" the sink resumes from), so a second run never collides with the
first. The record timestamp is the wall clock (UTC) when the post is handed to
:meth:`LandingSender.send`; it decides ``dt``.

Files are written by the sink's own :class:`~pinterest_pipeline.ingest.writer.PartitionWriter`
(one per topic), so the flush rules and the re-landing after a conflict are
the sink's: a file is closed when it holds ``flush_size`` records, when the
next record has another ``dt``, when ``rotate_ms`` passed since its first
record (checked on every ``send``, so a slow trickle still lands), and on
:meth:`close`; if someone else landed that name meanwhile, the file is written
once more after the new frontier. A post is delivered when the files holding
its three records are written. If a write fails, the posts in that file are
reported failed and the next file takes its place (no offset gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pinterest_pipeline import contract, settings
from pinterest_pipeline.dates import utc_date
from pinterest_pipeline.ingest.landing import LandingStore, landing_frontiers, open_landing
from pinterest_pipeline.ingest.writer import PartitionWriter

from .model import Post, SendResult

PARTITION = 0


def landed_frontier(store: LandingStore, topic: str, partition: int = PARTITION) -> int:
    """Next free offset of ``topic``/``partition`` in the landing."""
    return landing_frontiers(store, topic).get(partition, 0)


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
        flush_size = flush_size or int(settings.get("PINTEREST_SINK_FLUSH_SIZE"))
        rotate_s = (
            rotate_ms if rotate_ms is not None else int(settings.get("PINTEREST_SINK_ROTATE_MS"))
        ) / 1000
        self.clock = clock
        self.topics = contract.topic_names(topic_prefix)
        self.writers = {
            kind: PartitionWriter(
                self.store,
                topic,
                PARTITION,
                flush_size,
                rotate_s,
                landed_frontier(self.store, topic),
            )
            for kind, topic in self.topics.items()
        }
        self.keys: dict[int, int] = {}  # post sequence number -> post key
        self.remaining: dict[int, int] = {}  # post sequence number -> records not yet landed
        self.failed: dict[int, str] = {}
        self.files: list[str] = []  # keys written, in order
        self.result = SendResult()
        self._seq = 0

    def send(self, posts: Sequence[Post]) -> None:
        dt = utc_date(int(self.clock() * 1000))
        now = time.monotonic()
        for kind, w in self.writers.items():  # close files that are due before adding to them
            if w.rotate_due(now) or not w.accepts(w.next, dt):
                self._flush(kind)
        encode = contract.encode_value
        for post in posts:
            seq = self._seq
            self._seq += 1
            self.keys[seq] = post.key
            self.remaining[seq] = len(contract.KINDS)
            for kind, record in post.records().items():
                w = self.writers[kind]
                w.add(w.next, encode(record), dt, seq)
                if w.full:
                    self._flush(kind)

    def _flush(self, kind: str) -> None:
        w = self.writers[kind]
        try:
            landed = w.land()
        except Exception as exc:  # noqa: BLE001 - reported per post, never silently
            f = w.discard()
            for seq in f.tags:
                if seq not in self.failed:
                    self.failed[seq] = f"post {self.keys[seq]}: {kind} record not landed: {exc}"
            return
        if landed is None:
            return
        self.files.append(landed.key)
        self.result.records += len(landed.file.values)
        for seq in landed.file.tags:
            self._landed(seq)

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
