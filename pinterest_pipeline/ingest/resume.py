"""The sink's resume and reset bookkeeping: ``_sink/state.json`` of the landing store.

Landed file names use a *landed offset* = Kafka offset + ``base``. Per
topic-partition the state keeps ``base`` with the Kafka topic id it belongs
to, and ``seen_end``: the furthest landed offset the topic was seen to reach
(the sink watches the watermarks and what it consumed). The object lives
outside ``topics/``, so readers never take it for data.

* :func:`resume_position` decides where a starting sink consumes: at the
  landing frontier (if the topic id is the stored one), checked against the
  topic's watermarks: a frontier beyond the topic's end is a
  :class:`FrontierError` naming the file; records gone below the low
  watermark are a reported loss.
* When the topic id changed (the memory broker restarted empty, or another
  Kafka), the new ``base`` continues the landed offsets after the frontier,
  and ``seen_end - frontier`` records are reported lost: the broker had
  acknowledged them and they never landed.

Every loss the sink sees is logged as ``LOST <topic>: <N> records ...`` and
kept in the state's ``losses`` list (every reset is kept, with the old topic id
and base); :func:`lost_per_topic` sums them for ``stack status``, adding what
the REST proxy saw the old topic acknowledge.
"""

from __future__ import annotations

import datetime as dt_mod
import json
import logging
from dataclasses import dataclass

from pinterest_pipeline.ingest.landing import LandingStore

log = logging.getLogger("pinterest_pipeline.ingest.sink")

STATE_KEY = "_sink/state.json"
TP = tuple[str, int]


class FrontierError(RuntimeError):
    """The landing claims more than the topic holds: a stray or foreign file."""


class ResumeState:
    def __init__(self, store: LandingStore):
        self.store = store
        self.parts: dict[str, dict] = {}
        self.losses: list[dict] = []
        self.dirty = False

    def load(self) -> ResumeState:
        raw = self.store.get_state(STATE_KEY)
        doc = json.loads(raw) if raw else {}
        self.parts = doc.get("partitions", {})
        self.losses = doc.get("losses", [])
        return self

    def save(self) -> None:
        body = {"version": 2, "partitions": self.parts, "losses": self.losses}
        self.store.put_state(STATE_KEY, json.dumps(body, indent=1, sort_keys=True).encode())
        self.dirty = False

    def entry(self, tp: TP) -> dict | None:
        return self.parts.get(f"{tp[0]}+{tp[1]}")

    def set_base(self, tp: TP, topic_id: str, base: int, seen_end: int) -> None:
        self.parts[f"{tp[0]}+{tp[1]}"] = {"topic_id": topic_id, "base": base, "seen_end": seen_end}
        self.save()

    def note_end(self, tp: TP, landed_end: int) -> None:
        """The topic reached ``landed_end`` (landed offsets); saved with the next save()."""
        e = self.entry(tp)
        if e is not None and landed_end > e.get("seen_end", 0):
            e["seen_end"] = landed_end
            self.dirty = True

    def record_loss(self, tp: TP, first: int, end: int, why: str, **extra) -> int:
        """Log (if any) and keep a loss of landed offsets ``first..end-1``; the count."""
        n = max(0, end - first)
        if n:
            log.error("LOST %s: %d records (partition %d, landed offsets %d..%d): %s",
                      tp[0], n, tp[1], first, end - 1, why)  # fmt: skip
        self.losses.append(
            {
                "topic": tp[0],
                "partition": tp[1],
                "records": n,
                "first": first,
                "end": max(end, first),
                "why": why,
                "at": dt_mod.datetime.now(dt_mod.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                **extra,
            }
        )
        self.dirty = True
        return n

    def record_reset(self, tp: TP, frontier: int) -> int:
        """The topic was recreated empty: what it had reached beyond the frontier is
        lost. Kept even when nothing is, with the old topic id and base, so that
        :func:`lost_per_topic` can add what the proxy saw acknowledged."""
        st = self.entry(tp) or {}
        return self.record_loss(
            tp, frontier, max(int(st.get("seen_end", 0)), frontier),
            "the broker restarted empty before they landed",
            topic_id=st.get("topic_id", ""), base=int(st.get("base", 0)),
        )  # fmt: skip


def lost_per_topic(store: LandingStore, acked: dict | None = None) -> dict[str, int]:
    """Records lost per topic, for ``stack status``: the sink's losses, each reset
    widened to what the proxy saw the old topic acknowledge (``acked``: topic id ->
    {"topic+partition": end offset}, the proxy's witness), which includes records
    acknowledged in the broker's last moments that the sink never saw."""
    out: dict[str, int] = {}
    for loss in ResumeState(store).load().losses:
        end = loss["end"]
        witness = (acked or {}).get(loss.get("topic_id") or "", {})
        seen = witness.get(f"{loss['topic']}+{loss['partition']}")
        if seen is not None:
            end = max(end, seen + loss.get("base", 0))
        if end > loss["first"]:
            out[loss["topic"]] = out.get(loss["topic"], 0) + end - loss["first"]
    return out


@dataclass(frozen=True)
class Resume:
    offset: int  # Kafka offset to consume from
    base: int
    new_base: bool  # the base changed: save it


def resume_position(
    state: ResumeState,
    tp: TP,
    topic_id: str,
    frontier: int,
    last_file: str | None,
    committed: int,
    low: int,
    end: int,
) -> Resume:
    """Where a starting sink resumes ``tp`` (see the module docstring)."""
    key = f"{tp[0]}+{tp[1]}"
    st = state.entry(tp)
    if st is not None and st.get("topic_id", "") == topic_id:
        base = int(st["base"])
        pos = frontier - base
        if pos > end:
            raise FrontierError(
                f"{key}: the landing frontier {frontier} (file {last_file}) is Kafka offset "
                f"{pos}, beyond the end of the topic ({end}): a stray or foreign file? "
                "Move it out of the landing (or set the landing aside) and start again"
            )
        if committed >= 0 and committed != pos:
            log.info("%s: committed offset %d, landing frontier says %d; the landing wins",
                     key, committed, pos)  # fmt: skip
        if pos < low:
            state.record_loss(tp, pos + base, low + base, "gone from Kafka before they landed")
            pos = low
        return Resume(pos, base, False)
    start = committed if 0 <= committed <= end else max(low, 0)
    if st is not None:
        state.record_reset(tp, frontier)
    if st is not None or frontier > 0:
        log.warning(
            "%s: topic id %s is new (was %s): broker reset or new Kafka; records from "
            "offset %d land at landed offset %d (base %d)",
            key, topic_id or "?", (st or {}).get("topic_id", "none"),
            start, frontier, frontier - start,
        )  # fmt: skip
    return Resume(start, frontier - start, True)
