"""The README stays true to the code: every setting and CLI command is documented."""

from pathlib import Path

from pinterest_pipeline import settings
from pinterest_pipeline.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    for env, setting in settings.SETTINGS.items():
        default = f"`{setting.default}`" if setting.default else "(empty)"
        assert f"| `{env}` | {default} |" in README, env


def test_every_cli_command_is_in_the_readme():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in commands:
        assert f"pinterest-pipeline {name}" in README, name


def test_quickstart_commands_are_there():
    assert "make demo" in README and "make test" in README
