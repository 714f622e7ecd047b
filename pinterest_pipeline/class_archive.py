"""The embedded JVM's class-data archive: Spark's classes mapped from one file at start.

A local session's JVM loads about 12,000 classes from Spark's 250 jars before its
first job, and verifies and links each of them: on 2 cores that is several
seconds of every run. HotSpot can save the classes a run loaded into an archive
(application class-data sharing, ``-XX:ArchiveClassesAtExit``) and map that
archive at the next start (``-XX:SharedArchiveFile``). On a 1,000,000-post
``run --all`` the archive saved 3 to 20 s in six interleaved pairs; recording it
costs the first run about 30 s, once (docs/benchmarks.md).

* The first local session of a machine (per JDK and Spark:
  :func:`identity`) that runs the pipeline (``run``, a Dagster run, a Pipes
  child; not the tests' or a report's session, which load fewer classes) runs
  without one and records it: at the end of the process
  the JVM is asked to exit, writes the archive (said on stderr)
  and, only if it exits cleanly, the file is moved into place
  (``PINTEREST_SPARK_CLASS_ARCHIVE``, default ``~/.cache/pinterest-pipeline``).
  A half-written archive would crash the JVM that maps it, so nothing else is ever
  installed.
* Later sessions map it. One process at a time records (a lock); the others
  meanwhile run as before. ``off`` turns the archive off; deleting the folder
  makes the next run record again.

The archive holds only class metadata (no data, no settings); a JVM that finds it
unusable (say, another JDK under the same path) ignores it and starts as usual.
Nothing here applies to Spark Connect or to clusters: only to the JVM this
process launches (:func:`pinterest_pipeline.spark._launch_local_jvm`).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pinterest_pipeline import settings

#: The JVM's own messages about the archive (a mismatch, classes it cannot store) stay quiet.
QUIET = "-Xlog:cds*=off"
#: How long the end of a process waits for its JVM to write the archive and exit.
WRITE_SECONDS = 120


@dataclass
class Recording:
    """An archive being recorded by this process's JVM (installed by :meth:`finish`)."""

    archive: Path
    partial: Path
    lock: int  # this process holds the recording lock on this descriptor until finish()

    def finish(self, jvm: subprocess.Popen | None, seconds: float = WRITE_SECONDS) -> bool:
        """Let ``jvm`` exit (EOF on its stdin), wait for it, install the archive if it exited cleanly.

        Returns True when the archive was installed. Without a JVM (it never
        started) nothing is installed; the lock is released either way.
        """
        installed = False
        try:
            if jvm is not None:
                if jvm.poll() is None:
                    print(f"saving Spark's classes for faster starts (once): {self.archive}",
                          file=sys.stderr, flush=True)
                with contextlib.suppress(OSError):
                    jvm.stdin.close()  # the gateway exits on EOF; the archive is written at exit
                try:
                    code = jvm.wait(seconds)
                except subprocess.TimeoutExpired:
                    code = None
                if code == 0 and self.partial.is_file() and self.partial.stat().st_size > 0:
                    os.replace(self.partial, self.archive)
                    installed = True
        finally:
            self.partial.unlink(missing_ok=True)
            os.close(self.lock)
        return installed


def folder() -> Path | None:
    """Where archives live (``PINTEREST_SPARK_CLASS_ARCHIVE``), or None when turned off."""
    value = settings.get("PINTEREST_SPARK_CLASS_ARCHIVE").strip()
    return None if value.lower() in {"", "off"} else Path(value).expanduser()


def _java() -> Path | None:
    """The ``java`` Spark's launcher runs: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return Path(found).resolve() if found and os.path.exists(found) else None


def identity() -> str | None:
    """What an archive is valid for: the JDK (its files) and Spark (its version and jars).

    None when no ``java`` is found (the launch fails on its own then).
    """
    java = _java()
    if java is None:
        return None
    from pyspark import __version__
    from pyspark.find_spark_home import _find_spark_home

    jars = Path(_find_spark_home()) / "jars"
    stat = java.stat()
    release = java.parent.parent / "release"
    parts = [
        str(java), str(stat.st_size), str(stat.st_mtime_ns),
        release.read_text(errors="replace") if release.is_file() else "",
        __version__, *sorted(p.name for p in jars.glob("*.jar")),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def archive_path() -> Path | None:
    """The archive of this JDK and Spark (it may not exist yet), or None when turned off or no ``java``."""
    where, ident = folder(), identity()
    return None if where is None or ident is None else where / f"spark-{ident}.jsa"


def java_options(record: bool = True) -> tuple[str, Recording | None]:
    """JVM options for a local session about to start, and the recording to finish, if any.

    The archive if there is one; else, if ``record`` and no other process is
    recording, the options that record one (with the lock held); else nothing.
    """
    archive = archive_path()
    if archive is None:
        return "", None
    mapped = f"-XX:SharedArchiveFile={archive} {QUIET}"
    if archive.is_file() or not record:
        return (mapped if archive.is_file() else ""), None
    where = archive.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        lock = os.open(archive.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o644)
    except OSError:  # a read-only home: no archive
        return "", None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # another process is recording
        os.close(lock)
        return "", None
    if archive.is_file():  # installed while we waited for the lock
        os.close(lock)
        return mapped, None
    for stale in where.glob(f"{archive.stem}.*.partial"):  # of a process that died recording
        stale.unlink(missing_ok=True)
    partial = where / f"{archive.stem}.{secrets.token_hex(4)}.partial"
    for other in where.glob("spark-*.jsa"):  # of another JDK or Spark
        other.unlink(missing_ok=True)
    return f"-XX:ArchiveClassesAtExit={partial} {QUIET}", Recording(archive, partial, lock)


def finish_at_exit(recording: Recording, jvm: subprocess.Popen) -> None:
    """Finish ``recording`` when this process exits normally (before Python's own exit)."""

    def finish() -> None:
        from pyspark import SparkContext

        with contextlib.suppress(Exception):  # stopped cleanly first, if it is still running
            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
        recording.finish(jvm)

    atexit.register(finish)
