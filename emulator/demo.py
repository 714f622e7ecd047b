"""``pinterest-pipeline demo``: stream posts through the local stack, run every asset, show.

``--via auto`` (default): ``stack up`` (only the parts not running), emulate
through the REST proxy, wait until the sink has landed every record, ``run
--all``, ``show``, then leave the stack as it was found (stopped again if the
demo started it). If the broker cannot start on this platform, say so and
write the landing directly instead (``--via landing``).
"""

from __future__ import annotations

import argparse
import sys

from emulator.run import emulate
from pinterest_pipeline import contract

#: How long the sink may take to land what the proxy accepted.
LANDING_TIMEOUT_S = 120.0


def _stream_through_stack(posts: int, seed: int, fallback: bool) -> int | None:
    """Emulate via REST through the stack. None means: fall back to the landing."""
    from pinterest_pipeline.ingest import stack
    from pinterest_pipeline.ingest.landing import landed_counts, wait_for_landing

    cfg = stack.StackConfig.from_settings()
    found_running = [p for p in stack.PARTS if stack.running_pid(cfg, p) is not None]
    print(f"== stack up (already running: {', '.join(found_running) or 'nothing'})", flush=True)
    try:
        cfg = stack.up()
    except Exception as exc:  # noqa: BLE001 - any start failure means: no stack here
        print(f"the streaming stack cannot start here: {exc}", file=sys.stderr)
        if not found_running:
            stack.down(echo=lambda *_: None)
        if fallback:
            print("falling back to writing the landing directly (--via landing)", flush=True)
            return None
        return 1
    try:
        before = landed_counts()
        print(f"== emulating {posts} posts (seed {seed}) through {cfg.proxy_url}", flush=True)
        result = emulate(posts=posts, seed=seed, via="rest", target=cfg.proxy_url)
        if result.failed_posts:
            print(f"error: {result.failed_posts} posts were not accepted", file=sys.stderr)
            return 1
        expected = {t: n + result.delivered_posts for t, n in before.items()}
        print(f"== waiting for the sink to land {result.delivered_posts} records per topic",
              flush=True)
        if not wait_for_landing(expected, timeout=LANDING_TIMEOUT_S):
            print(f"error: the sink did not land every record within {LANDING_TIMEOUT_S:.0f} s; "
                  f"see {cfg.stack_dir}/sink.log (landed: {landed_counts()})", file=sys.stderr)
            return 1
        return 0
    finally:
        if not found_running:
            print("== stack down (the demo started it)", flush=True)
            stack.down()


def _write_landing(posts: int, seed: int) -> int:
    print(f"== emulating {posts} posts (seed {seed}) into the landing", flush=True)
    result = emulate(posts=posts, seed=seed, via="landing")
    return 0 if result.failed_posts == 0 else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--posts", type=int, default=5000, help="posts to emulate (default 5000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--via",
        choices=["auto", "rest", "landing"],
        default="auto",
        help="auto (default): stream through the local stack, or write the landing "
        "directly if the broker cannot start here",
    )


def main(args: argparse.Namespace) -> int:
    from pinterest_pipeline.runner import run_dates
    from pinterest_pipeline.show import show

    code = None
    if args.via in ("auto", "rest"):
        code = _stream_through_stack(args.posts, args.seed, fallback=args.via == "auto")
    if code is None:
        code = _write_landing(args.posts, args.seed)
    if code:
        return code
    print("== cleaning every landed date and building the insights", flush=True)
    outcome = run_dates(None)
    if not outcome.ok:
        for problem in outcome.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    code = show(list(contract.INSIGHTS))
    from pinterest_pipeline import report

    print(f"\n== insights report (open it in a browser): {report.default_path(report.locations())}")
    return code
