"""The insight registry is the one place an insight is declared; everything else derives from it."""

import re

import pytest

from pinterest_pipeline import contract
from pinterest_pipeline.insight_registry import BY_NAME, REGISTRY

#: The views of ``transforms.insights.register`` and the clean tables each one reads.
VIEW_INPUTS = {
    "geo_categories": {"pin", "geo"}, "user_categories": {"pin", "user"},
    "follower_counts": {"pin", "user"}, "top_posters": {"pin", "geo"}, "joined_users": {"user"},
}


def test_names_unique_and_contract_derived():
    assert len(BY_NAME) == len(REGISTRY) == 9
    assert contract.INSIGHTS == tuple(i.name for i in REGISTRY)
    assert contract.INSIGHT_COLUMNS == {i.name: i.columns for i in REGISTRY}
    assert contract.INSIGHT_KEYS == {i.name: i.keys for i in REGISTRY}


@pytest.mark.parametrize("insight", REGISTRY, ids=lambda i: i.name)
def test_entry_is_consistent(insight):
    names = insight.column_names
    assert len(set(names)) == len(names)
    assert names[: len(insight.keys)] == insight.keys  # grouping columns first
    assert set(insight.inputs) <= set(contract.KINDS) and insight.inputs
    views = set(re.findall(r"\bFROM\s+`?(\w+)`?", insight.body)) & set(VIEW_INPUTS)
    assert views, insight.body
    read = set().union(*(VIEW_INPUTS[v] for v in views))
    assert read == set(insight.inputs), f"{insight.name} reads {read}, declares {insight.inputs}"
    assert insight.description.endswith(("?", "."))  # the question the table answers


def test_assets_and_checks_derive_from_the_registry():
    from pinterest_pipeline.defs.insights import insight_check_specs, insight_specs
    from pinterest_pipeline.transforms.insights import INSIGHT_SQL

    assert list(INSIGHT_SQL) == list(BY_NAME)
    for spec in insight_specs:
        entry = BY_NAME[spec.key.path[-1]]
        assert {d.asset_key.path[-1] for d in spec.deps} == set(entry.inputs)
        assert spec.description.startswith(entry.description)
    descriptions = {c.asset_key.path[-1]: c.description for c in insight_check_specs}
    assert descriptions["country_with_top_poster"] == "insights/country_with_top_poster has exactly one row."
    assert descriptions["median_followers_by_age_group_and_join_year"].endswith(
        "one row per age_group, post_year.")
