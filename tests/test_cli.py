"""``pinterest-pipeline``: the parser refuses bad input clearly; ``show`` prints built tables."""

import gc
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emulator import demo as emulator_demo
from emulator import run as emulator_run
from pinterest_pipeline import cli, contract
from pinterest_pipeline.show import format_table


def test_parser_refuses_bad_input(capsys):
    for argv, message in (
        (["run"], "one of the arguments --date --all is required"),
        (["run", "--date", "2024-02-30"], "'2024-02-30' is not a date in YYYY-MM-DD form"),
        (["run", "--date", "2024-01-02", "--all"], "not allowed with argument"),
        (["show", "no_such_table"], "invalid choice"),
        (["bench", "pipeline"], "invalid choice"),  # benchmarks are `make bench`
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.build_parser().parse_args(argv)
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err, argv


def test_run_refuses_a_start_date_that_is_not_a_date(monkeypatch, capsys):
    for bad in ("2026-13-01", "yesterday", "2026/11/26"):
        monkeypatch.setenv("PINTEREST_START_DATE", bad)
        assert cli.main(["run", "--all"]) == 2
        assert capsys.readouterr().err == (
            f"error: PINTEREST_START_DATE must be a date in YYYY-MM-DD form (UTC), not {bad!r}\n")


def test_parser_dispatches_each_command():
    parser = cli.build_parser()
    assert parser.parse_args(["run", "--all"]).func is cli.cmd_run
    assert parser.parse_args(["show"]).func is cli.cmd_show
    assert parser.parse_args(["stack", "status"]).func is cli.cmd_stack
    # the emulator's commands, plugged in through the entry points
    assert parser.parse_args(["demo", "--via", "landing"]).func is emulator_demo.main
    assert parser.parse_args(["emulate", "--posts", "1"]).func is emulator_run.main


def test_format_table_aligns_numbers_right():
    text = format_table(["country", "n"], [{"country": "Aruba", "n": 7}, {"country": "Chad", "n": 12}])
    assert text.splitlines() == ["country   n", "-------  --", "Aruba     7", "Chad     12"]


def test_show_prints_built_tables_and_names_missing_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PINTEREST_WAREHOUSE_URI", str(tmp_path))
    name = "country_with_top_poster"
    folder = tmp_path / "insights" / name
    folder.mkdir(parents=True)
    table = pa.table({"country": ["Chad"], "follower_count": [42]})
    pq.write_table(table, folder / "part-0.parquet")
    assert cli.main(["show", name]) == 0
    out = capsys.readouterr().out
    assert f"== insights/{name} (1 rows)" in out and "Chad" in out and "42" in out
    assert cli.main(["show"]) == 1
    err = capsys.readouterr().err
    missing = [n for n in contract.INSIGHTS if n != name]
    assert f"not built yet: {', '.join(missing)}" in err


def test_the_console_command_exits_with_the_code_of_main(monkeypatch):
    """``console`` (the installed command) freezes what the process made out of the
    interpreter's last collections, then exits with ``main``'s code."""
    monkeypatch.setattr(cli, "main", lambda: 3)
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.console()
        assert exit_.value.code == 3
        assert gc.get_freeze_count() > 0 and not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_installed_command_runs_console(tmp_path):
    """The ``pinterest-pipeline`` script of this environment is :func:`cli.console`: a real process."""
    command = Path(sys.executable).with_name("pinterest-pipeline")
    env = {"PATH": "/usr/bin:/bin", "PINTEREST_WAREHOUSE_URI": str(tmp_path)}
    done = subprocess.run([str(command), "show"], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "country_with_top_poster" in done.stdout + done.stderr
    assert "from pinterest_pipeline.cli import console" in command.read_text()
