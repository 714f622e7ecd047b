"""CloudFormation templates as data: a YAML loader that knows the intrinsic tags,
a walk over every node and the references (Ref, GetAtt, Sub variables, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
FOUNDATION = INFRA / "cloudformation" / "foundation.yaml"
TEMPLATE = INFRA / "cloudformation" / "pinterest-pipeline.yaml"
TEMPLATES = (FOUNDATION, TEMPLATE)
SINK_CONFIG = INFRA / "msk-connect" / "s3-sink.json"

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
    "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}  # fmt: skip


# --- a YAML loader that knows CloudFormation's short-form tags -------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader + !Ref/!GetAtt/!Sub/... mapped to their long (JSON) forms."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def references(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (kind, target, where): Ref, GetAtt, Sub variables, Condition, DependsOn."""
    found: list[tuple[str, str, str]] = []
    for where, node in walk(template):
        if not isinstance(node, dict):
            continue
        if "Ref" in node and len(node) == 1:
            found.append(("Ref", node["Ref"], where))
        if "Fn::GetAtt" in node:
            found.append(("GetAtt", node["Fn::GetAtt"][0], where))
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, local = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            for name in SUB_VARIABLE.findall(text):
                if name in local:
                    continue
                target = (
                    name.split(".")[0] if "." in name and not name.startswith("AWS::") else name
                )
                found.append(("Sub", target, where))
        if "Fn::If" in node:
            found.append(("Condition", node["Fn::If"][0], where))
    for name, resource in template.get("Resources", {}).items():
        depends = resource.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            found.append(("DependsOn", target, f"/Resources/{name}"))
        if "Condition" in resource:
            found.append(("Condition", resource["Condition"], f"/Resources/{name}"))
    return found


def sub_text(value: Any) -> str:
    """A value as its !Sub text (plain strings are their own text)."""
    if isinstance(value, dict):
        ((key, inner),) = value.items()
        assert key == "Fn::Sub" and isinstance(inner, str), value
        return inner
    assert isinstance(value, str), value
    return value


def of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """The resources of one type, by logical id."""
    return {name: r for name, r in template["Resources"].items() if r["Type"] == type_}
