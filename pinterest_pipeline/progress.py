"""A progress line every so often while long work runs (``PINTEREST_PROGRESS_SECONDS``).

Cleaning a million posts takes a minute or more in one Spark step, and Dagster
says nothing between the step's start and its results. :class:`Heartbeat`
says how long the work has run and, when this process drives a local Spark
session, how far the running Spark stages are::

    clean dt=2026-11-26: 45 s, Spark: 1,912 of 3,030 tasks done (2 stages running)

``pinterest-pipeline run`` prints these lines on stderr (stdout keeps the
results); every run also records them in its event log (INFO, from the step;
on Databricks the job's entrypoint counts the driver's tasks and sends the
lines through Pipes). With Spark Connect there is no local Spark to ask: the
line says the time only. Nothing here imports Dagster or starts Spark.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Self

from pinterest_pipeline import settings


def interval() -> float:
    """Seconds between two progress lines (``PINTEREST_PROGRESS_SECONDS``); 0: none."""
    raw = settings.get("PINTEREST_PROGRESS_SECONDS").strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise ValueError(f"PINTEREST_PROGRESS_SECONDS must be a number of seconds (0: none), not {raw!r}")
    if seconds < 0:
        raise ValueError(f"PINTEREST_PROGRESS_SECONDS must not be negative, not {raw!r}")
    return seconds


def spark_tasks() -> str:
    """How far the running stages of this process's local Spark are, or ``""`` without one."""
    try:
        from pyspark import SparkContext

        # The process's classic SparkContext, if one runs (never one of Spark Connect).
        context = SparkContext._active_spark_context
        if context is None:
            return ""
        tracker = context.statusTracker()
        stages = [s for s in map(tracker.getStageInfo, tracker.getActiveStageIds()) if s is not None]
    except Exception:  # noqa: BLE001 - progress is best effort: never fail the work for it
        return ""
    if not stages:
        return "Spark: between jobs"
    done, total = sum(s.numCompletedTasks for s in stages), sum(s.numTasks for s in stages)
    return f"Spark: {done:,} of {total:,} tasks done ({len(stages)} stage{'s' * (len(stages) != 1)} running)"


class Heartbeat:
    """``with Heartbeat(say, label):`` calls ``say(line)`` every :func:`interval` seconds inside.

    The first line comes after one interval, so short work says nothing; the
    line names ``label``, the seconds since the block started and
    :func:`spark_tasks`. ``say`` runs on a daemon thread; an error in it ends
    the heartbeat, never the work.
    """

    def __init__(self, say: Callable[[str], None], label: str, every: float | None = None):
        self.say, self.label = say, label
        self.every = interval() if every is None else every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def line(self) -> str:
        parts = [f"{time.monotonic() - self._started:.0f} s", spark_tasks()]
        return f"{self.label}: " + ", ".join(p for p in parts if p)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.say(self.line())
            except Exception:  # noqa: BLE001 - a closed stream, a finished step: stop saying
                return

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        if self.every > 0:
            self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # a say() stuck on a full pipe must not hold the work
