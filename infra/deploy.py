"""Deploy the pipeline's two stacks with the AWS CLI (``make deploy-aws``); never run in CI.

    python infra/deploy.py --params my-params.json [--dry-run]

Order: the foundation stack (buckets, API Gateway's log role), then the
uploads the main stack needs at creation (connector plugin zip, MWAA DAG and
requirements.txt, whose S3 version is pinned), then the main stack with the
foundation's outputs filled in. ``--dry-run`` validates the parameters file
against the templates' own parameter rules and prints the commands without
calling AWS. The parameters file: see ``infra/parameters.example.json`` and
infra/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

INFRA = Path(__file__).resolve().parent
FOUNDATION = INFRA / "cloudformation" / "foundation.yaml"
MAIN = INFRA / "cloudformation" / "pinterest-pipeline.yaml"
DAG = INFRA / "mwaa" / "dags" / "pinterest_pipeline_dag.py"
REQUIREMENTS = INFRA / "mwaa" / "requirements.txt"
FILE_KEYS = {"stack_name", "region", "connector_zip", "parameters"}
# main stack parameters this script fills in itself
FROM_FOUNDATION = ("AccessLogBucketName", "ArtifactsBucketName", "MwaaSourceBucketName")
FILLED = (*FROM_FOUNDATION, "ConnectPluginFileKey", "MwaaRequirementsObjectVersion")
AWS_ID_TYPES = {
    "AWS::EC2::VPC::Id": r"vpc-[0-9a-f]{8,17}",
    "AWS::EC2::SecurityGroup::Id": r"sg-[0-9a-f]{8,17}",
    "List<AWS::EC2::Subnet::Id>": r"subnet-[0-9a-f]{8,17}",
}
REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


class _Loader(yaml.SafeLoader):
    """Reads a template's Parameters; intrinsic functions (!Ref, ...) are kept as None."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_parameters(path: Path) -> dict[str, dict[str, Any]]:
    return yaml.load(path.read_text(), Loader=_Loader).get("Parameters", {})


def _as_list(value: Any) -> list[str]:
    return [str(v).strip() for v in value] if isinstance(value, list) else str(value).split(",")


def check_value(name: str, rule: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with one parameter value, by the template's rule (Type, pattern, values, range)."""
    kind = rule["Type"]
    if kind in AWS_ID_TYPES:
        items = _as_list(value) if kind.startswith("List<") else [str(value)]
        return [
            f"{name}: {v!r} is not a {kind}"
            for v in items
            if not re.fullmatch(AWS_ID_TYPES[kind], v)
        ]
    if kind == "Number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return [f"{name}: {value!r} is not a number"]
        low, high = rule.get("MinValue"), rule.get("MaxValue")
        if low is not None and number < float(low):
            return [f"{name}: {value} is below the minimum {low}"]
        if high is not None and number > float(high):
            return [f"{name}: {value} is above the maximum {high}"]
        return []
    text = str(value)
    if "AllowedValues" in rule and text not in map(str, rule["AllowedValues"]):
        return [f"{name}: {text!r} is not one of {rule['AllowedValues']}"]
    if "AllowedPattern" in rule and not re.fullmatch(rule["AllowedPattern"], text):
        return [f"{name}: {text!r} does not match {rule['AllowedPattern']}"]
    return []


def validate(config: dict[str, Any]) -> list[str]:
    """Every problem of a parameters file; empty when it can be deployed."""
    errors = [
        f"unknown key {k!r} (expected {sorted(FILE_KEYS)})" for k in sorted(set(config) - FILE_KEYS)
    ]
    stack = str(config.get("stack_name", ""))
    foundation_name = template_parameters(FOUNDATION)["Name"]
    if not re.fullmatch(foundation_name["AllowedPattern"], stack):
        errors.append(
            f"stack_name {stack!r} must match {foundation_name['AllowedPattern']} (it names the buckets)"
        )
    if not REGION.fullmatch(str(config.get("region", ""))):
        errors.append(
            f"region {config.get('region')!r} is not an AWS region name such as eu-west-1"
        )
    zip_path = Path(str(config.get("connector_zip", "")))
    if not zip_path.is_file() or not zipfile.is_zipfile(zip_path):
        errors.append(
            f"connector_zip {str(zip_path)!r} is not a zip file (the Confluent S3 sink from Confluent Hub)"
        )
    params = config.get("parameters")
    if not isinstance(params, dict):
        return [*errors, "parameters must be an object {Name: value}"]
    rules = template_parameters(MAIN)
    for name in sorted(set(params) - set(rules)):
        errors.append(f"parameters: unknown parameter {name!r}")
    for name in FILLED:
        if name in params:
            errors.append(f"parameters: {name} is set by this script, leave it out")
    for name, rule in rules.items():
        if name in FILLED:
            continue
        if name not in params:
            if "Default" not in rule:
                errors.append(
                    f"parameters: {name} is required ({rule.get('Description', '').strip()})"
                )
            continue
        errors.extend(check_value(name, rule, params[name]))
    subnets = _as_list(params.get("PrivateSubnetIds", []))
    if len(subnets) < 2 or len(set(subnets)) != len(subnets):
        errors.append(
            "parameters: PrivateSubnetIds needs at least two different subnets (MWAA uses two)"
        )
    brokers = params.get("NumberOfBrokerNodes", rules["NumberOfBrokerNodes"]["Default"])
    if subnets and str(brokers).isdigit() and int(brokers) % len(subnets):
        errors.append(
            f"parameters: NumberOfBrokerNodes {brokers} is not a multiple of the {len(subnets)} subnets"
        )
    return errors


def plan(
    config: dict[str, Any], outputs: dict[str, str], requirements_version: str
) -> list[list[str]]:
    """The AWS CLI calls, in order; ``outputs``/``requirements_version`` may be placeholders."""
    stack, region = config["stack_name"], config["region"]
    foundation = f"{stack}-foundation"
    zip_path = Path(config["connector_zip"])
    plugin_key = f"plugins/{zip_path.name}"
    aws = ["aws", "--region", region]

    def deploy(name: str, template: Path, overrides: dict[str, Any]) -> list[str]:
        return [*aws, "cloudformation", "deploy", "--stack-name", name, "--template-file", str(template),
                "--capabilities", "CAPABILITY_IAM", "--no-fail-on-empty-changeset",
                "--tags", "project=pinterest-pipeline",
                "--parameter-overrides", *(f"{k}={_cli_value(v)}" for k, v in overrides.items())]  # fmt: skip

    main = {
        **config["parameters"],
        **{name: outputs[name] for name in FROM_FOUNDATION},
        "ConnectPluginFileKey": plugin_key,
        "MwaaRequirementsObjectVersion": requirements_version,
    }
    # fmt: off
    return [
        deploy(foundation, FOUNDATION, {"Name": stack}),
        [*aws, "s3", "cp", str(zip_path), f"s3://{outputs['ArtifactsBucketName']}/{plugin_key}"],
        [*aws, "s3", "cp", str(DAG), f"s3://{outputs['MwaaSourceBucketName']}/dags/{DAG.name}"],
        [*aws, "s3api", "put-object", "--bucket", outputs["MwaaSourceBucketName"], "--key", "requirements.txt",
         "--body", str(REQUIREMENTS), "--query", "VersionId", "--output", "text"],
        deploy(stack, MAIN, main),
        [*aws, "cloudformation", "describe-stacks", "--stack-name", stack, "--query", "Stacks[0].Outputs",
         "--output", "table"],
    ]
    # fmt: on


def _cli_value(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _aws(cmd: list[str]) -> str:
    print("+", shlex.join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE).stdout


def deploy(config: dict[str, Any]) -> None:
    """Run the plan; the foundation's outputs and the requirements version are read on the way."""
    foundation = f"{config['stack_name']}-foundation"
    _aws(plan(config, {name: "" for name in FROM_FOUNDATION}, "")[0])
    described = json.loads(_aws(["aws", "--region", config["region"], "cloudformation", "describe-stacks",
                                 "--stack-name", foundation, "--output", "json"]))  # fmt: skip
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}
    upload_plugin, upload_dag, put_requirements = plan(config, outputs, "")[1:4]
    _aws(upload_plugin)
    _aws(upload_dag)
    version = _aws(put_requirements).strip()
    *_, deploy_main, show_outputs = plan(config, outputs, version)
    _aws(deploy_main)
    print(_aws(show_outputs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--params", required=True, type=Path, help="parameters file (infra/parameters.example.json)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and print the commands, call nothing"
    )
    args = parser.parse_args(argv)
    try:
        config = json.loads(args.params.read_text())
    except (OSError, ValueError) as exc:
        print(f"deploy: cannot read {args.params}: {exc}", file=sys.stderr)
        return 2
    errors = (
        validate(config)
        if isinstance(config, dict)
        else ["the parameters file must hold a JSON object"]
    )
    if errors:
        print(f"deploy: {args.params} has {len(errors)} problem(s):", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        stack = config["stack_name"]
        outputs = {name: f"<{name} output of {stack}-foundation>" for name in FROM_FOUNDATION}
        print(f"dry run: parameters valid; would run, in order (region {config['region']}):")
        for cmd in plan(config, outputs, "<VersionId printed by put-object>"):
            print("  " + shlex.join(cmd))
        return 0
    if os.environ.get("CI"):
        print("deploy: refusing to deploy from CI (use --dry-run)", file=sys.stderr)
        return 2
    if not shutil.which("aws"):
        print("deploy: the AWS CLI v2 (`aws`) is needed; see infra/README.md", file=sys.stderr)
        return 2
    try:
        deploy(config)
    except subprocess.CalledProcessError as exc:
        print(
            f"deploy: {shlex.join(exc.cmd)} failed with exit code {exc.returncode}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
