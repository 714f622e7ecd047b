"""cfn-lint and checkov on infra/: nothing reported, every checkov skip used and explained.

Both tools (pinned below) run from cached venvs (tests/infra/venvs.py), not the
project's: checkov's dependency pins clash with dagster's. Offline: checkov
runs with --skip-download and a proxy on 127.0.0.1:9 that nothing answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.infra.cfn import INFRA, TEMPLATES, load_template, walk
from tests.infra.venvs import cached_venv

CFN_LINT = "cfn-lint==1.58.0"
CHECKOV = "checkov==3.3.30"
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def tool(name: str, requirement: str, override_env: str) -> str:
    key = hashlib.sha256(f"{requirement} {sys.version_info[:2]}".encode()).hexdigest()[:16]
    venv, _ = cached_venv(f"{name}-venv", key, sys.executable, [requirement], override_env, 600)
    return str(venv / "bin" / name)


@pytest.fixture(scope="session")
def cfn_lint() -> str:
    return tool("cfn-lint", CFN_LINT, "PINTEREST_CFN_LINT_VENV")


@pytest.fixture(scope="session")
def checkov() -> str:
    return tool("checkov", CHECKOV, "PINTEREST_CHECKOV_VENV")


@pytest.mark.integration
def test_cfn_lint_reports_nothing_not_even_informational(cfn_lint):
    done = subprocess.run(
        [cfn_lint, "--regions", "eu-west-1", "us-east-1", "--include-checks", "I", "--format", "parseable",
         "--", *map(str, TEMPLATES)],
        capture_output=True, check=False, text=True, timeout=300,
    )  # fmt: skip
    # exit codes: 0 clean, 2 errors, 4 warnings, 8 informational (bit flags)
    assert done.returncode == 0, f"cfn-lint:\n{done.stdout}\n{done.stderr}"


def declared_skips() -> dict[tuple[str, str], str]:
    """{(resource, check id): comment} of every checkov skip in the templates."""
    skips = {}
    for path in TEMPLATES:
        for name, resource in load_template(path)["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                skips[(f"{resource['Type']}.{name}", skip["id"])] = skip.get("comment", "")
    return skips


@pytest.mark.integration
def test_checkov_passes_with_only_explained_skips(checkov):
    done = subprocess.run(
        [checkov, "--directory", str(INFRA), "--skip-download", "--output", "json"],
        capture_output=True, check=False, text=True, timeout=300,
        env={**os.environ, **OFFLINE, "LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {r["check_type"] for r in reports} >= {"cloudformation"}
    failed = [
        (c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]
    ]
    assert failed == []
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    cfn = next(r for r in reports if r["check_type"] == "cloudformation")
    assert cfn["summary"]["passed"] > 100  # it really read both templates
    skipped = {(c["resource"], c["check_id"]) for c in cfn["results"]["skipped_checks"]}
    declared = declared_skips()
    assert skipped == set(declared)  # no skip that does not apply, none from elsewhere
    for where, comment in declared.items():
        assert len(comment.split()) >= 8, f"{where}: say why the check does not apply"


def test_skips_are_only_in_checkov_metadata():
    """Skips live only in checkov metadata (seen above); no inline checkov comments, no cfn-lint suppressions."""
    for path in TEMPLATES:
        assert "checkov:skip" not in path.read_text()
        for _, node in walk(load_template(path)):
            assert not (isinstance(node, dict) and "cfn-lint" in node.get("Metadata", {})), path
