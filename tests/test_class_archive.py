"""The embedded JVM's class-data archive (``class_archive``): recorded once, then mapped."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys

import pytest

from pinterest_pipeline import class_archive


@pytest.fixture
def archives(tmp_path, monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_CLASS_ARCHIVE", str(tmp_path))
    return tmp_path


def _gateway_like(code: int, writes: str | None = None) -> subprocess.Popen:
    """A process that, like Spark's gateway, runs until EOF on stdin, then maybe writes a file and exits."""
    write = f"printf archive > '{writes}'; " if writes else ""
    return subprocess.Popen(["sh", "-c", f"cat > /dev/null; {write}exit {code}"], stdin=subprocess.PIPE)


def test_off_means_no_options(monkeypatch):
    monkeypatch.setenv("PINTEREST_SPARK_CLASS_ARCHIVE", "off")
    assert class_archive.java_options() == ("", None)


def test_the_first_session_records_and_a_clean_exit_installs(archives):
    options, recording = class_archive.java_options()
    assert options == f"-XX:ArchiveClassesAtExit={recording.partial} {class_archive.QUIET}"
    assert recording.partial.parent == archives and recording.archive.parent == archives
    assert recording.finish(_gateway_like(0, writes=str(recording.partial)))
    assert recording.archive.read_text() == "archive" and not recording.partial.exists()
    assert class_archive.java_options() == (
        f"-XX:SharedArchiveFile={recording.archive} {class_archive.QUIET}", None)


@pytest.mark.parametrize("code, writes", [(1, True), (0, False)])
def test_an_unclean_exit_installs_nothing(archives, code, writes):
    """A JVM that fails (or writes nothing) leaves no archive: a half-written one would crash the next."""
    _, recording = class_archive.java_options()
    assert not recording.finish(_gateway_like(code, writes=str(recording.partial) if writes else None))
    assert not recording.archive.exists() and not list(archives.glob("*.partial"))
    assert class_archive.java_options()[0].startswith("-XX:ArchiveClassesAtExit=")  # records again


def test_a_session_that_does_not_run_the_pipeline_maps_but_never_records(archives):
    assert class_archive.java_options(record=False) == ("", None)
    assert not list(archives.iterdir())
    _, recording = class_archive.java_options()
    recording.finish(_gateway_like(0, writes=str(recording.partial)))
    assert class_archive.java_options(record=False) == (
        f"-XX:SharedArchiveFile={recording.archive} {class_archive.QUIET}", None)


def test_one_process_records_at_a_time(archives):
    _, recording = class_archive.java_options()
    other = os.open(recording.archive.with_suffix(".lock"), os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # what another process sees: the lock is held
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert class_archive.java_options() == ("", None)  # and it runs without an archive
    finally:
        os.close(other)
        recording.finish(None)
    assert class_archive.java_options()[1] is not None  # released: the next one records


def test_recording_clears_what_a_dead_recorder_and_another_spark_left(archives):
    ident = class_archive.identity()
    (archives / f"spark-{ident}.dead.partial").write_text("half")
    (archives / "spark-0123456789abcdef.jsa").write_text("another JDK's")
    _, recording = class_archive.java_options()
    assert sorted(p.name for p in archives.iterdir()) == [f"spark-{ident}.lock"]
    recording.finish(None)


def test_the_identity_follows_the_jdk(archives, tmp_path, monkeypatch):
    first = class_archive.identity()
    assert first and first == class_archive.identity()
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    shutil.copy2(class_archive._java(), java)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    other = class_archive.identity()
    (tmp_path / "jdk" / "release").write_text('JAVA_VERSION="17.0.99"\n')  # an update in place
    assert len({first, other, class_archive.identity()}) == 3


@pytest.mark.integration
def test_a_real_session_records_the_archive_and_the_next_one_maps_spark_from_it(archives, tmp_path):
    code = (
        "from pinterest_pipeline.spark import get_session\n"
        "assert get_session('local[1]', record_classes=True).range(5).count() == 5\n"
    )

    def session(*java_options: str) -> subprocess.CompletedProcess:
        options = " ".join([os.environ.get("PINTEREST_SPARK_JAVA_OPTIONS", ""), *java_options])
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                              check=False, env={**os.environ, "PINTEREST_SPARK_JAVA_OPTIONS": options})

    first = session()
    assert first.returncode == 0, first.stderr[-3000:]
    installed = list(archives.glob("spark-*.jsa"))
    assert len(installed) == 1 and f"(once): {installed[0]}" in first.stderr
    assert not list(archives.glob("*.partial"))

    loaded = tmp_path / "classes.log"
    second = session(f"-Xlog:class+load=info:file={loaded}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "(once)" not in second.stderr
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loaded.read_text()
