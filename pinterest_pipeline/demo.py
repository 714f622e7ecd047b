"""``pinterest-pipeline demo``: emulate posts, run every asset, print the insights."""

from __future__ import annotations

import argparse
import sys

from pinterest_pipeline import settings


def emulate_to_landing(posts: int, seed: int) -> int:
    from emulator.run import emulate

    result = emulate(posts=posts, seed=seed, via="landing")
    return 0 if result.failed_posts == 0 else 1


def main(args: argparse.Namespace) -> int:
    from pinterest_pipeline.cli import show
    from pinterest_pipeline.runner import run_dates

    settings.apply_defaults()
    print(f"== emulating {args.posts} posts (seed {args.seed})", flush=True)
    code = emulate_to_landing(args.posts, args.seed)
    if code:
        print("error: some posts were not delivered (see above)", file=sys.stderr)
        return code
    print("== cleaning every landed date and building the insights", flush=True)
    outcome = run_dates(None)
    if not outcome.ok:
        for problem in outcome.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    return show(list_all())


def list_all() -> list[str]:
    from pinterest_pipeline.contract import INSIGHTS

    return list(INSIGHTS)
