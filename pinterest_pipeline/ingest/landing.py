"""The landing zone as a write-once object store: a local folder or ``s3://``.

Shared by the emulator's ``--via landing`` writer, the S3 sink and the Dagster
sensor, so that every writer lands byte-for-byte the same files and every
reader sees the same listing. A landing file is never replaced by different
content (contract section 3): :meth:`LandingStore.put_once` writes a new file
atomically, accepts a rewrite of identical bytes, and refuses anything else.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from pinterest_pipeline import contract, settings
from pinterest_pipeline.settings import resolve_uri


class LandingConflict(RuntimeError):
    """A landing file exists with different content; it is never overwritten."""


@dataclass(frozen=True)
class LandedFile:
    key: str  # relative to the landing root, e.g. topics/pinterest.pin/dt=2024-01-01/...json
    size: int
    mtime: float


def encode_lines(values: Iterable[bytes]) -> bytes:
    """A landing file's bytes: one message value per line, each newline-terminated."""
    return b"".join(v + b"\n" for v in values)


class LandingStore:
    """Base class; use :func:`open_landing` to get one for a URI."""

    uri: str

    def put_once(self, key: str, data: bytes) -> bool:
        """Write ``key`` durably. True if written, False if the same bytes were there.

        Raises :class:`LandingConflict` if different bytes are there.
        """
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list(self, prefix: str = "topics/") -> Iterator[LandedFile]:
        """Every landed ``.json`` file under ``prefix``, sorted by key."""
        raise NotImplementedError

    # Bookkeeping objects (e.g. the sink's ``_sink/state.json``) live outside
    # ``topics/``: they are mutable, never listed by :meth:`list` and never data.
    def put_state(self, key: str, data: bytes) -> None:
        """Atomically create or replace the bookkeeping object ``key`` (not under topics/)."""
        raise NotImplementedError

    def get_state(self, key: str) -> bytes | None:
        """The bookkeeping object ``key``, or None if absent."""
        raise NotImplementedError


def _durable_temp(directory: str, data: bytes) -> str:
    """``data`` in a hidden, fsynced temporary file of ``directory``; returns its path."""
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


class LocalLanding(LandingStore):
    def __init__(self, root: str):
        self.root = resolve_uri(root)
        self.uri = self.root

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def put_once(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                if fh.read() == data:
                    return False
            raise LandingConflict(f"{path} exists with different content; refusing to replace it")
        directory = os.path.dirname(path)
        tmp = _durable_temp(directory, data)
        try:
            # link() fails if the target appeared meanwhile: no silent replacement.
            try:
                os.link(tmp, path)
            except FileExistsError:
                with open(path, "rb") as fh:
                    if fh.read() == data:
                        return False
                raise LandingConflict(f"{path} appeared with different content")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True

    def read(self, key: str) -> bytes:
        with open(self._path(key), "rb") as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def put_state(self, key: str, data: bytes) -> None:
        _check_state_key(key)
        path = self._path(key)
        tmp = _durable_temp(os.path.dirname(path), data)
        try:
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get_state(self, key: str) -> bytes | None:
        _check_state_key(key)
        try:
            with open(self._path(key), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def list(self, prefix: str = "topics/") -> Iterator[LandedFile]:
        base = self._path(prefix.rstrip("/"))
        found = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if not name.endswith(".json") or name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                st = os.stat(full)
                key = os.path.relpath(full, self.root).replace(os.sep, "/")
                found.append(LandedFile(key, st.st_size, st.st_mtime))
        yield from sorted(found, key=lambda f: f.key)


class S3Landing(LandingStore):
    def __init__(self, uri: str, client=None):
        parsed = urlparse(uri)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.uri = uri.rstrip("/")
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None)
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def put_once(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        # A completed PutObject is durable; a failed one leaves no object; If-None-Match
        # makes it create-only, so two writers can never replace each other's file.
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
        if self._get(key) == data:
            return False
        raise LandingConflict(f"s3://{self.bucket}/{self._key(key)} exists with different content")

    def read(self, key: str) -> bytes:
        data = self._get(key)
        if data is None:
            raise FileNotFoundError(f"s3://{self.bucket}/{self._key(key)}")
        return data

    def exists(self, key: str) -> bool:
        return self._get(key) is not None

    def put_state(self, key: str, data: bytes) -> None:
        _check_state_key(key)
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_state(self, key: str) -> bytes | None:
        _check_state_key(key)
        return self._get(key)

    def list(self, prefix: str = "topics/") -> Iterator[LandedFile]:
        paginator = self.client.get_paginator("list_objects_v2")
        strip = len(self.prefix) + 1 if self.prefix else 0
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".json"):
                    found.append(
                        LandedFile(obj["Key"][strip:], obj["Size"], obj["LastModified"].timestamp())
                    )
        yield from sorted(found, key=lambda f: f.key)


def _check_state_key(key: str) -> None:
    if not key or key.startswith(("topics/", "/")):
        raise ValueError(f"bookkeeping object {key!r} must live outside topics/")


#: ``<topic>+<partition>+<start offset>.json`` (contract section 3).
FILE_NAME = re.compile(r"^(?P<topic>.+)\+(?P<partition>\d+)\+(?P<offset>\d+)\.json$")


def landing_ends(store: LandingStore, topic: str) -> dict[int, tuple[int, str]]:
    """Per Kafka partition of ``topic``: (next free offset, key of the file that ends there)."""
    last: dict[int, tuple[int, str]] = {}
    for f in store.list(f"topics/{topic}/"):
        m = FILE_NAME.match(f.key.rsplit("/", 1)[-1])
        if not m or m["topic"] != topic:
            continue
        p, off = int(m["partition"]), int(m["offset"])
        if p not in last or off > last[p][0]:
            last[p] = (off, f.key)
    return {p: (off + store.read(key).count(b"\n"), key) for p, (off, key) in last.items()}


def landing_frontiers(store: LandingStore, topic: str) -> dict[int, int]:
    """Per Kafka partition of ``topic``: the next free offset (start + lines of its last file)."""
    return {p: end for p, (end, _key) in landing_ends(store, topic).items()}


def open_landing(uri: str) -> LandingStore:
    """The store for a landing URI: ``s3://bucket/prefix`` or a local folder."""
    if uri.startswith("s3://"):
        return S3Landing(uri)
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"unsupported landing URI {uri!r}: use a folder or s3://bucket/prefix")
    return LocalLanding(uri.removeprefix("file://"))


# --- progress, for callers (stack, demo, tests) ----------------------------------------

_line_cache: dict[tuple[str, str], int] = {}


def landed_counts(landing_uri: str | None = None, prefix: str | None = None) -> dict[str, int]:
    """Records (lines) landed per topic; landing files are immutable, so counts are cached."""
    uri = settings.resolve_uri(landing_uri or settings.landing_uri())
    store = open_landing(uri)
    out = {}
    for topic in contract.topic_names(prefix or settings.topic_prefix()).values():
        n = 0
        for f in store.list(contract.landing_prefix(topic)):
            ck = (uri, f.key)
            if ck not in _line_cache:
                _line_cache[ck] = store.read(f.key).count(b"\n")
            n += _line_cache[ck]
        out[topic] = n
    return out


def wait_for_landing(
    expected_records_per_topic: int | dict[str, int],
    timeout: float = 60.0,
    landing_uri: str | None = None,
    prefix: str | None = None,
) -> bool:
    """Wait until at least the expected records landed on every topic; False on timeout.

    ``expected_records_per_topic``: one number for all topics, or {kind or topic: n}.
    """
    topics = contract.topic_names(prefix or settings.topic_prefix())
    if isinstance(expected_records_per_topic, int):
        expected = {t: expected_records_per_topic for t in topics.values()}
    else:
        expected = {topics.get(k, k): n for k, n in expected_records_per_topic.items()}
    deadline = time.monotonic() + timeout
    while True:
        counts = landed_counts(landing_uri, prefix)
        if all(counts.get(t, 0) >= n for t, n in expected.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
