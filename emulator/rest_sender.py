"""Deliver posts through the REST proxy (Confluent REST Proxy v2 produce API).

One request per topic per batch of ``batch_posts`` posts; the three requests
of a batch go at once (a thread per topic, one keep-alive ``httpx.Client``), so
each topic keeps its order and the proxy's parsing, Kafka's acknowledgements
and this side's encoding overlap. A request that fails with a connection
error, a timeout, a 5xx or 429 is retried, only for the records not yet
accepted, with bounded exponential backoff (0.2 s doubling, at most 5 s) for
``retry_for`` seconds after the first failure (``PINTEREST_SEND_RETRY_S``,
default 90: long enough to ride out a broker or proxy restart). A 4xx other
than 429 is final. A post is delivered only when all three of its records
were accepted; any other post is counted failed with a reason in
:attr:`SendResult.failures` — nothing is dropped silently. A timed-out request
may still have reached Kafka, so this path is at least once (exact replays
collapse when cleaned). Prints nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from emulator.model import Post, SendResult
from pinterest_pipeline import contract
from pinterest_pipeline.ingest.retry import retry_for_s

CONTENT_TYPE = "application/vnd.kafka.json.v2+json"
ACCEPT = "application/vnd.kafka.v2+json, application/json"
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 5.0


class RestSender:
    def __init__(
        self,
        url: str,
        topic_prefix: str,
        batch_posts: int = 100,
        retry_for: float | None = None,
        timeout: float = 10.0,
        auth: httpx.Auth | None = None,
    ):
        self.url = url.rstrip("/")
        self.topics = contract.topic_names(topic_prefix)
        self.batch_posts = max(1, batch_posts)
        self.retry_for = retry_for_s() if retry_for is None else retry_for
        self.client = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Content-Type": CONTENT_TYPE, "Accept": ACCEPT},
            auth=auth,  # emulator.auth: SigV4 or x-api-key for the AWS ingest API
        )
        self.buffer: list[Post] = []
        self.result = SendResult()
        self.pool = ThreadPoolExecutor(len(self.topics), thread_name_prefix="rest-sender")

    def send(self, posts: Sequence[Post]) -> None:
        self.buffer.extend(posts)
        while len(self.buffer) >= self.batch_posts:
            batch, self.buffer = self.buffer[: self.batch_posts], self.buffer[self.batch_posts :]
            self._send_batch(batch)

    def close(self) -> SendResult:
        try:
            if self.buffer:
                batch, self.buffer = self.buffer, []
                self._send_batch(batch)
        finally:
            self.pool.shutdown()
            self.client.close()
        return self.result

    # ------------------------------------------------------------------------------

    def _send_batch(self, posts: list[Post]) -> None:
        failed: dict[int, str] = {}  # index in posts -> first reason
        sends = {
            kind: self.pool.submit(self._send_topic, topic, [p.records()[kind] for p in posts])
            for kind, topic in self.topics.items()
        }
        for kind, send in sends.items():
            accepted, topic_failed = send.result()
            self.result.records += accepted
            for i, reason in topic_failed.items():
                failed.setdefault(i, f"{kind} record: {reason}")
        for i, post in enumerate(posts):
            if i in failed:
                self.result.failed_posts += 1
                self.result.failures.append(f"post {post.key}: {failed[i]}")
            else:
                self.result.delivered_posts += 1

    def _send_topic(self, topic: str, values: list[dict]) -> tuple[int, dict[int, str]]:
        """Post ``values`` to ``topic`` until accepted; (records accepted, {index: reason}
        of those that failed). Runs in a pool thread."""
        pending = list(range(len(values)))
        failed: dict[int, str] = {}
        accepted = 0
        attempt, first_failure = 0, None
        while pending:
            body = json.dumps(
                {"records": [{"value": values[i]} for i in pending]},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8")
            retry: list[int] = []
            reason = ""
            try:
                resp = self.client.post(f"/topics/{topic}", content=body)
            except httpx.HTTPError as exc:  # connect error, timeout, protocol error
                retry, reason = pending, f"{exc.__class__.__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    try:
                        offsets = resp.json()["offsets"]
                        if len(offsets) != len(pending):
                            raise ValueError(f"{len(offsets)} offsets for {len(pending)} records")
                    except (ValueError, KeyError, TypeError) as exc:
                        retry, reason = pending, f"bad proxy response: {exc}"
                    else:
                        for i, off in zip(pending, offsets):
                            code = off.get("error_code")
                            if code is None:
                                accepted += 1
                            elif code == 2:  # retriable Kafka error
                                retry.append(i)
                                reason = f"retriable Kafka error: {off.get('error')}"
                            else:
                                failed[i] = f"Kafka error {code}: {off.get('error')}"
                else:
                    detail = _error_detail(resp)
                    if resp.status_code >= 500 or resp.status_code == 429:
                        retry, reason = pending, detail
                    else:
                        for i in pending:
                            failed[i] = detail
            if retry:
                attempt += 1
                first_failure = first_failure or time.monotonic()
                if time.monotonic() - first_failure > self.retry_for:
                    for i in retry:
                        failed[i] = (
                            f"gave up after {attempt} tries in {self.retry_for:g}s: {reason}"
                        )
                    retry = []
                else:
                    time.sleep(min(BACKOFF_START_S * 2 ** (attempt - 1), BACKOFF_MAX_S))
            pending = retry
        return accepted, failed


def _error_detail(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
        return f"HTTP {resp.status_code} error_code {doc.get('error_code')}: {doc.get('message')}"
    except ValueError:
        return f"HTTP {resp.status_code}: {resp.text[:200]}"
