"""The emulator's commands of ``pinterest-pipeline``: ``emulate`` and ``demo``.

The pipeline never imports the emulator (the emulator depends on the
pipeline's contract, not the other way round): ``pinterest_pipeline.cli``
finds these two through the ``pinterest_pipeline.commands`` entry points
(``pyproject.toml``), each a function that adds its sub-command.
"""

from __future__ import annotations

import argparse

from emulator import demo as demo_command
from emulator import run


def emulate(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("emulate", help="generate posts and send them")
    run.add_arguments(parser)
    parser.set_defaults(func=run.main)


def demo(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="emulate posts, run everything, print the insights")
    demo_command.add_arguments(parser)
    parser.set_defaults(func=demo_command.main)
