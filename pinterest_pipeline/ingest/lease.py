"""One sink per landing: a lease on the landing store, held while a sink runs.

* Folder: an exclusive ``fcntl`` lock on ``<landing>/_sink/lease.lock``; the
  file says who holds it. The kernel drops the lock when the process dies, so
  a killed sink never leaves a stale lease.
* ``s3://``: the object ``_sink/lease.json`` (holder and expiry), created with
  a conditional PutObject (``If-None-Match: *``) and renewed every
  ``RENEW_EVERY_S`` with ``If-Match: <its ETag>``, valid for ``TTL_S``. A lease
  past its expiry (its sink died) is taken over with ``If-Match`` too, so two
  sinks cannot both win. Expiry uses the hosts' clocks (keep them in sync).

A second sink gets :class:`LeaseHeld` naming the holder; a sink whose S3 lease
was taken over gets :class:`LeaseLost` on renewal and must stop writing.
"""

from __future__ import annotations

import datetime as dt_mod
import fcntl
import json
import os
import socket
import time

from pinterest_pipeline.ingest.landing import LandingStore, LocalLanding, S3Landing

LEASE_KEY = "_sink/lease"
TTL_S = 30.0
RENEW_EVERY_S = 10.0


class LeaseHeld(RuntimeError):
    """Another sink holds the landing."""


class LeaseLost(RuntimeError):
    """This sink's lease was taken over (it was not renewed in time)."""


def _holder() -> str:
    now = dt_mod.datetime.now(dt_mod.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"sink pid {os.getpid()} on {socket.gethostname()} since {now}"


class FolderLease:
    def __init__(self, store: LocalLanding):
        self.path = os.path.join(store.root, *f"{LEASE_KEY}.lock".split("/"))
        self.fd: int | None = None
        self.holder = _holder()

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with open(self.path, errors="replace") as fh:
                who = fh.read().strip() or "another process"
            os.close(fd)
            raise LeaseHeld(f"{self.path} is held by {who}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.holder}\n".encode())
        os.fsync(fd)
        self.fd = fd

    def renew(self) -> None:
        """A held lock needs no renewal."""

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # drops the lock; the file stays for the next holder
            self.fd = None


class S3Lease:
    def __init__(self, store: S3Landing, ttl_s: float = TTL_S):
        self.store, self.ttl_s = store, ttl_s
        self.key = store._key(f"{LEASE_KEY}.json")
        self.where = f"s3://{store.bucket}/{self.key}"
        self.holder = _holder()
        self.etag: str | None = None
        self.expires = 0.0

    def _put(self, expires: float, **cond) -> str:
        body = json.dumps({"holder": self.holder, "expires": expires}).encode()
        r = self.store.client.put_object(Bucket=self.store.bucket, Key=self.key, Body=body, **cond)
        return r["ETag"]

    @staticmethod
    def _refused(exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")

    def acquire(self) -> None:
        from botocore.exceptions import ClientError

        expires = time.time() + self.ttl_s
        try:
            self.etag = self._put(expires, IfNoneMatch="*")
        except ClientError as exc:
            if not self._refused(exc):
                raise
            cur = self.store.client.get_object(Bucket=self.store.bucket, Key=self.key)
            doc = json.loads(cur["Body"].read())
            if doc.get("expires", 0) > time.time():
                raise LeaseHeld(
                    f"{self.where} is held by {doc.get('holder')} (valid for "
                    f"{doc['expires'] - time.time():.0f}s more)"
                ) from None
            try:  # expired: its sink died; take it over, unless someone else just did
                self.etag = self._put(expires, IfMatch=cur["ETag"])
            except ClientError as exc2:
                if self._refused(exc2):
                    raise LeaseHeld(f"{self.where} was just taken by another sink") from None
                raise
        self.expires = expires

    def renew(self) -> None:
        """Extend the lease; LeaseLost if another sink took it over."""
        from botocore.exceptions import ClientError

        expires = time.time() + self.ttl_s
        try:
            self.etag = self._put(expires, IfMatch=self.etag)
        except ClientError as exc:
            if self._refused(exc) or exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise LeaseLost(f"{self.where} was taken over by another sink") from None
            if time.time() > self.expires:
                raise LeaseLost(f"{self.where} expired: could not renew it ({exc})") from None
            raise
        self.expires = expires

    def release(self) -> None:
        """Mark the lease expired (conditionally), so the next sink may take it at once."""
        if self.etag is None:
            return
        try:
            self._put(0.0, IfMatch=self.etag)
        except Exception:  # noqa: BLE001, S110 (it expires by itself)
            pass
        self.etag = None


def open_lease(store: LandingStore) -> FolderLease | S3Lease:
    if isinstance(store, S3Landing):
        return S3Lease(store)
    return FolderLease(store)
