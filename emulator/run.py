"""``pinterest-pipeline emulate`` / ``python -m emulator``: generate posts and send them.

:func:`emulate` is the library entry point; :func:`add_arguments` and
:func:`main` are the command line (the project CLI mounts them as
``emulate``). Exit codes of :func:`main`: 0 every post delivered, 1 some post
failed, 2 bad input (source spec, folder, database URL, target, numbers).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import IO

from pinterest_pipeline import settings

from .model import Post, SendResult
from .senders import VIAS, make_sender
from .sources import SOURCE_SPECS, SourceError, make_source
from .sources.synthetic import DEFAULT_REPLAY_RATE

DELIVERED_MEANS = (
    "delivered = acknowledged by the broker (acks=all). The local stack's broker keeps records "
    "in memory by default: if it is killed before the sink landed them they are gone, and "
    "`pinterest-pipeline stack status` reports them as LOST lines "
    "(PINTEREST_BROKER_STORAGE=s3 keeps them on disk instead)."
)


def default_target(via: str) -> str | None:
    """Where ``rest``/``kafka`` go when no target is given: the local stack's ports."""
    if via == "rest":
        return f"http://127.0.0.1:{settings.get('PINTEREST_PROXY_PORT')}"
    if via == "kafka":
        return (
            settings.get("KAFKA_BOOTSTRAP_SERVERS")
            or f"127.0.0.1:{settings.get('PINTEREST_BROKER_PORT')}"
        )
    return None


def emulate(
    source: str = "synthetic",
    posts: int = 5000,
    seed: int = 42,
    rate: float = 0.0,
    via: str = "landing",
    target: str | None = None,
    topic_prefix: str | None = None,
    landing_uri: str | None = None,
    batch_size: int = 100,
    progress: bool = True,
    out: IO[str] = sys.stderr,
    *,
    replay_rate: float | None = None,
    flush_size: int | None = None,
    auth: str = "none",
    region: str | None = None,
    api_key: str | None = None,
) -> SendResult:
    """Send ``posts`` posts from ``source`` through ``via``; print a summary line to stdout.

    ``rate`` is posts per second (0: as fast as possible), paced against
    deadlines ``start + i / rate`` so that there is no drift. Posts go to the
    sender in batches of ``batch_size``; while paced, a batch is handed over
    before every wait, so posts are never held back. ``None`` settings come
    from :mod:`pinterest_pipeline.settings`. ``replay_rate`` (synthetic
    only) is the share of exact replays (default 1%); ``flush_size`` is the
    landing file size (default the sink's). Replays count as posts. A jsonl
    source shorter than ``posts`` sends what it has and says so. ``auth``
    (``sigv4`` with ``region``) or ``api_key`` authenticate ``rest`` requests
    to the AWS ingest API (:mod:`emulator.auth`).
    """
    if posts < 0:
        raise ValueError(f"--posts must be >= 0, got {posts}")
    if rate < 0:
        raise ValueError(f"--rate must be >= 0, got {rate}")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    prefix = topic_prefix or settings.topic_prefix()
    landing = landing_uri or settings.landing_uri()
    target = target or default_target(via)
    opts = {} if replay_rate is None else {"replay_rate": replay_rate}
    stream = make_source(source, seed, **opts)
    sender_opts = {"flush_size": flush_size} if (via == "landing" and flush_size) else {}
    if via == "rest":
        from .auth import request_auth

        sender_opts["auth"] = request_auth(auth, url=target or "", region=region, api_key=api_key)
    elif auth != "none" or region or api_key is not None:
        raise ValueError("--auth, --region and --api-key apply to --via rest only")
    sender = make_sender(via, target, topic_prefix=prefix, landing_uri=landing, **sender_opts)

    from tqdm import tqdm

    bar = tqdm(
        total=posts, unit="post", file=out, disable=not progress, mininterval=0.5, leave=False
    )
    sent = 0
    batch: list[Post] = []
    start = time.monotonic()
    closed = False

    def hand_over() -> None:
        nonlocal sent, batch
        if batch:
            sender.send(batch)
            sent += len(batch)
            bar.update(len(batch))
            batch = []

    try:
        for i, post in enumerate(itertools.islice(stream, posts)):
            if rate > 0:
                wait = start + i / rate - time.monotonic()
                if wait > 0:
                    hand_over()
                    time.sleep(wait)
            batch.append(post)
            if len(batch) >= batch_size:
                hand_over()
        hand_over()
        result = sender.close()
        closed = True
    finally:
        bar.close()
        if not closed:  # land what was sent before the error, then let it propagate
            try:
                sender.close()
            except Exception:  # noqa: BLE001, S110 - the original error is what matters
                pass
    elapsed = time.monotonic() - start
    if sent < posts:
        print(f"source {source} ended after {sent} posts (asked for {posts})")
    per_s = sent / elapsed if elapsed > 0 else float("inf")
    print(
        f"emulated {sent} posts ({sent * 3} records) via {via} in {elapsed:.1f} s: {per_s:.0f} posts/s; "
        f"delivered {result.delivered_posts}, failed {result.failed_posts}"
    )
    if via in ("rest", "kafka"):
        print(DELIVERED_MEANS)
    for line in result.failures:
        print(f"failed: {line}")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default="synthetic",
        metavar="SPEC",
        help=f"{SOURCE_SPECS} (default synthetic: seeded, calibrated on the real sample)",
    )
    parser.add_argument(
        "--posts", type=int, default=5000, metavar="N", help="posts to send (default 5000)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the synthetic/sql source (default 42)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="POSTS_PER_S",
        help="posts per second, 0 = as fast as possible (default)",
    )
    parser.add_argument(
        "--via",
        nargs="+",
        default=["landing"],
        metavar=("VIA", "TARGET"),
        help="landing [URI] (default: PINTEREST_LANDING_URI), rest [URL] "
        "(default http://127.0.0.1:$PINTEREST_PROXY_PORT) or kafka [BOOTSTRAP] "
        "(default KAFKA_BOOTSTRAP_SERVERS, else the local broker)",
    )
    parser.add_argument(
        "--target",
        default=None,
        help="the TARGET of --via, as an option (URL for rest, bootstrap for kafka)",
    )
    parser.add_argument("--topic-prefix", default=None, help="default PINTEREST_TOPIC_PREFIX")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=100,
        metavar="N",
        help="posts handed to the sender at once (default 100)",
    )
    parser.add_argument(
        "--replay-rate",
        type=float,
        default=None,
        metavar="P",
        help=f"synthetic: share of exact replays of a recent post (default {DEFAULT_REPLAY_RATE})",
    )
    parser.add_argument(
        "--auth",
        default="none",
        metavar="{none,sigv4}",
        help="rest: sigv4 signs requests for an AWS_IAM API Gateway stage with the "
        "usual AWS credentials (default none)",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="rest, sigv4: the API's region (default: from an execute-api URL, else AWS_REGION)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="rest: send x-api-key KEY (an API_KEY stage's usage plan key)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )


def _via_and_target(args: argparse.Namespace) -> tuple[str, str | None]:
    via_args = args.via if isinstance(args.via, list) else [args.via]
    if not via_args or len(via_args) > 2:
        raise ValueError(
            "--via takes VIA and at most one TARGET, e.g. --via rest http://127.0.0.1:8082"
        )
    via = via_args[0]
    if via not in VIAS:
        raise ValueError(f"unknown --via {via!r}: expected one of {', '.join(VIAS)}")
    target = via_args[1] if len(via_args) == 2 else None
    option = getattr(args, "target", None)
    if target and option and target != option:
        raise ValueError(f"--via {via} {target} and --target {option} disagree")
    return via, target or option


def main(args: argparse.Namespace) -> int:
    """Run :func:`emulate` from parsed arguments; 0 ok, 1 some post failed, 2 bad input."""
    try:
        via, target = _via_and_target(args)
        result = emulate(
            source=args.source,
            posts=args.posts,
            seed=args.seed,
            rate=args.rate,
            via=via,
            target=target,
            topic_prefix=getattr(args, "topic_prefix", None),
            batch_size=args.batch_size,
            progress=getattr(args, "progress", True),
            replay_rate=getattr(args, "replay_rate", None),
            auth=getattr(args, "auth", "none"),
            region=getattr(args, "region", None),
            api_key=getattr(args, "api_key", None),
        )
    except (SourceError, ValueError, ImportError, OSError) as exc:
        print(f"emulate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emulate: interrupted", file=sys.stderr)
        return 130
    return 1 if result.failed_posts else 0
