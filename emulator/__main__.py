"""``python -m emulator``: the same command as ``pinterest-pipeline emulate``."""

from __future__ import annotations

import argparse
import sys

from .run import add_arguments, main


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Generate Pinterest posts and send them.")
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli())
