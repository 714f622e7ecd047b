"""stack up / status / up again / a part killed / up restarts it / down."""

from __future__ import annotations

import os
import signal

import pytest

from emulator.rest_sender import RestSender
from pinterest_pipeline.ingest import stack
from pinterest_pipeline.ingest.landing import wait_for_landing

from .conftest import make_posts, wait_until

pytestmark = pytest.mark.integration


def _pids(capsys) -> dict[str, int | None]:
    pids = stack.status(echo=lambda _line: None)
    capsys.readouterr()
    return pids


def test_stack_lifecycle(stack_env, capsys, prefix):
    assert stack.main(["up"]) == 0
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:{stack_env['PINTEREST_PROXY_PORT']}" in out
    assert f"127.0.0.1:{stack_env['PINTEREST_BROKER_PORT']}" in out
    assert stack_env["PINTEREST_LANDING_URI"] in out and out.count("running") == 3
    first = _pids(capsys)
    assert all(first.values())
    for part in stack.PARTS:
        assert os.path.exists(os.path.join(stack_env["PINTEREST_STACK_DIR"], f"{part}.pid"))
        assert os.path.exists(os.path.join(stack_env["PINTEREST_STACK_DIR"], f"{part}.log"))
    assert stack.main(["status"]) == 0

    assert stack.main(["up"]) == 0  # idempotent
    assert _pids(capsys) == first

    os.kill(first["proxy"], signal.SIGKILL)
    assert wait_until(lambda: stack.running_pid(stack._saved_config(), "proxy") is None, 10)
    assert stack.main(["status"]) == 3
    assert "stopped" in capsys.readouterr().out
    assert stack.main(["up"]) == 0
    again = _pids(capsys)
    assert again["broker"] == first["broker"] and again["sink"] == first["sink"]
    assert again["proxy"] and again["proxy"] != first["proxy"]

    # a proxy that runs but does not answer /healthz counts as down; `up` replaces it
    os.kill(again["proxy"], signal.SIGSTOP)
    assert stack.main(["status"]) == 3
    assert "unhealthy" in capsys.readouterr().out
    assert stack.main(["up"]) == 0
    assert "restarting it" in capsys.readouterr().out
    healed = _pids(capsys)
    assert healed["proxy"] and healed["proxy"] != again["proxy"]
    assert stack.main(["status"]) == 0

    sender = RestSender(f"http://127.0.0.1:{stack_env['PINTEREST_PROXY_PORT']}", prefix)
    sender.send(make_posts(250))
    assert sender.close().delivered_posts == 250
    assert wait_for_landing(250, 30)

    assert stack.main(["down"]) == 0
    capsys.readouterr()
    assert all(v is None for v in _pids(capsys).values())
    assert stack.main(["status"]) == 3
    assert "stopped" in capsys.readouterr().out


def test_stack_reports_taken_port(stack_env, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", int(stack_env["PINTEREST_PROXY_PORT"])))
        s.listen()
        assert stack.main(["up"]) == 1
        err = capsys.readouterr().err
        assert "taken" in err and stack_env["PINTEREST_PROXY_PORT"] in err
