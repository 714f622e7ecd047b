"""The one landing file writer, shared by the sink and the emulator's landing sender.

As the Confluent S3 sink's ``TopicPartitionWriter``: a :class:`PartitionWriter`
buffers one run of consecutive records of one (topic, partition) and lands it
as the file ``contract.landing_key(topic, dt, partition, start)`` with
:meth:`LandingStore.put_once` (contract section 3). The flush rules live here:
a file is closed when it holds ``flush_size`` records (:attr:`full`), when
``rotate_s`` passed since its first record arrived (:meth:`rotate_due`), when
the next record has another ``dt`` or does not continue its offsets
(:meth:`accepts` is False), and on shutdown (the caller lands what is open).

Offsets here are *landed* offsets (the number in the file name). If another
writer landed that name meanwhile (:class:`LandingConflict`), the run is landed
once more right after the landing's frontier: a landing file is never
overwritten and the records are not dropped; :attr:`Landed.shift` tells the
caller how far the run moved.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pinterest_pipeline import contract
from pinterest_pipeline.ingest.landing import (
    LandingConflict,
    LandingStore,
    encode_lines,
    landing_frontiers,
)

log = logging.getLogger("pinterest_pipeline.ingest.writer")
CONFLICT_ATTEMPTS = 3


@dataclass
class OpenFile:
    start: int  # landed offset of the first record
    dt: str
    opened: float  # monotonic time of the first record
    values: list[bytes] = field(default_factory=list)
    tags: list[Any] = field(default_factory=list)  # the caller's note per record

    @property
    def next(self) -> int:
        return self.start + len(self.values)


@dataclass(frozen=True)
class Landed:
    key: str
    file: OpenFile
    shift: int  # landed offset moved by this much after a conflict (0 normally)


class PartitionWriter:
    def __init__(
        self,
        store: LandingStore,
        topic: str,
        partition: int,
        flush_size: int,
        rotate_s: float,
        next_offset: int = 0,
    ):
        if flush_size < 1:
            raise ValueError(f"flush_size must be >= 1, got {flush_size}")
        self.store, self.topic, self.partition = store, topic, partition
        self.flush_size, self.rotate_s = flush_size, rotate_s
        self.next = next_offset  # landed offset the next record gets
        self.file: OpenFile | None = None

    def frontier(self) -> int:
        """Next free landed offset of this partition in the store."""
        return landing_frontiers(self.store, self.topic).get(self.partition, 0)

    def accepts(self, offset: int, dt: str) -> bool:
        """Can a record at ``offset`` with ``dt`` join the open file (if any)?"""
        f = self.file
        return f is None or (f.dt == dt and f.next == offset)

    @property
    def full(self) -> bool:
        return self.file is not None and len(self.file.values) >= self.flush_size

    def rotate_due(self, now: float | None = None) -> bool:
        f = self.file
        return f is not None and (now or time.monotonic()) - f.opened >= self.rotate_s

    def add(self, offset: int, value: bytes, dt: str, tag: Any = None) -> None:
        """Buffer one record; the caller lands first unless :meth:`accepts`."""
        if not self.accepts(offset, dt):
            raise ValueError(
                f"{self.topic}+{self.partition}: offset {offset} / {dt} needs a new file"
            )
        if self.file is None:
            self.file = OpenFile(offset, dt, time.monotonic())
        self.file.values.append(value)
        self.file.tags.append(tag)
        self.next = offset + 1

    def land(self) -> Landed | None:
        """Write the open file (None if there is none). A store failure raises and
        keeps the file open, so the caller can retry or :meth:`discard` it."""
        f = self.file
        if f is None or not f.values:
            self.file = None
            return None
        data = encode_lines(f.values)
        first = f.start
        for _attempt in range(CONFLICT_ATTEMPTS):
            key = contract.landing_key(self.topic, f.dt, self.partition, f.start)
            try:
                self.store.put_once(key, data)
            except LandingConflict as exc:
                frontier = self.frontier()
                log.error("%s; landing this run at the frontier %d instead", exc, frontier)
                f.start = frontier
                continue
            self.file = None
            self.next = f.next
            return Landed(key, f, f.start - first)
        raise RuntimeError(
            f"could not land {self.topic}+{self.partition} at offset {first}: "
            f"{CONFLICT_ATTEMPTS} conflicts"
        )

    def discard(self) -> OpenFile | None:
        """Drop the open file (its records were not landed) and continue after the
        frontier, so landed offsets stay contiguous with what is really there."""
        f, self.file = self.file, None
        if f is not None:
            try:
                self.next = max(f.start, self.frontier())
            except Exception:  # noqa: BLE001 (the store is failing; the caller reports the loss)
                self.next = f.start
        return f
