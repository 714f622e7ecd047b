"""The insights report on small hand-made tables: a chart per insight, offline, check statuses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import dagster as dg

from pinterest_pipeline import cli, contract, report
from tests.report.tables import sample_tables, table, write_table, write_tables

COUNTRIES = ["Germany", "Peru", "Kenya", "Japan", "Chile", "Nigeria", "Algeria"]


def sections_of(page: str) -> dict[str, str]:
    found = re.findall(r"<section class='card[^']*' id='t-(\w+)'.*?</section>", page, re.DOTALL)
    return {name: re.search(rf"<section[^>]*id='t-{name}'.*?</section>", page, re.DOTALL).group(0)
            for name in found}


FIGURE = re.compile(r"<script type='application/json' data-chart='chart-(\w+)'>(.*?)</script>",
                    re.DOTALL)


def figures_of(page: str) -> dict[str, dict]:
    return {m.group(1): json.loads(m.group(2).replace("<\\/", "</")) for m in FIGURE.finditer(page)}


def marks(figure: dict) -> int:
    """Bars over all traces, or 1 for a number indicator with a value."""
    return sum(len(t.get("y") or []) if t["type"] == "bar" else int("value" in t)
               for t in figure["data"])


def test_a_chart_per_insight_with_every_row_and_nothing_from_the_network(warehouse, tmp_path):
    tables = sample_tables(COUNTRIES)
    write_tables(warehouse, tables)
    path, rep = report.write_report(str(tmp_path / "out" / "report.html"))
    page = Path(path).read_text(encoding="utf-8")

    assert rep.problems == []
    figures = figures_of(page)
    assert set(figures) == set(contract.INSIGHTS)
    for name, rows in tables.items():
        assert marks(figures[name]) == len(rows), name
    bars = figures["top_category_by_country"]["data"]
    assert sorted(c for t in bars for c in t["y"]) == sorted(COUNTRIES)
    assert {t["name"] for t in bars} == {r["category"] for r in tables["top_category_by_country"]}
    # Offline: plotly.js is inlined, no script or stylesheet comes from elsewhere.
    assert "Plotly" in page and len(page) > 3_000_000
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=['\"]?(https?:)?//", page)
    assert page.count("type='search'") == len(report.SEARCHABLE) == 2
    # Freshness: the latest landing date, and when each table was written.
    assert "latest landing date <b>2026-11-20</b>" in page
    assert all("computed 20" in s for s in sections_of(page).values())


def test_check_status_recomputed_and_rendered_per_table(warehouse, tmp_path):
    tables = sample_tables(COUNTRIES)
    tables["users_joined_by_year"].append({"post_year": 2016, "number_users_joined": 1})
    tables["country_with_top_poster"].append({"country": "Peru", "follower_count": 5})
    tables["median_followers_by_join_year"] = []
    write_tables(warehouse, tables)
    path, rep = report.write_report(str(tmp_path / "report.html"))
    sections = sections_of(Path(path).read_text(encoding="utf-8"))

    failed = {"users_joined_by_year", "country_with_top_poster", "median_followers_by_join_year"}
    for name, html in sections.items():
        state = "failed" if name in failed else "passed"
        assert f"data-status='{state}'" in html, name
        assert f"check {state}" in html and "recomputed from the rows" in html
    assert "&quot;duplicated_keys&quot;: 1" in sections["users_joined_by_year"]
    assert "&quot;expected_rows&quot;: 1" in sections["country_with_top_poster"]
    assert "&quot;rows&quot;: 0" in sections["median_followers_by_join_year"]
    assert sorted(p.split(":")[0] for p in rep.problems) == sorted(f"insights/{n}" for n in failed)


def test_missing_unreadable_and_wrong_tables_get_a_message_not_a_crash(warehouse, tmp_path, capsys):
    tables = sample_tables(COUNTRIES)
    del tables["users_joined_by_year"]
    write_tables(warehouse, tables)
    broken = contract.insight_path(warehouse, "top_category_by_year")
    with open(os.path.join(broken, "part-0.parquet"), "wb") as fh:
        fh.write(b"not parquet at all")
    write_table(warehouse, "median_followers_by_age_group", [])  # replaced below by other columns
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"age_group": ["18-24"], "followers": [3]}),
                   os.path.join(contract.insight_path(warehouse, "median_followers_by_age_group"),
                                "part-0.parquet"))

    out = tmp_path / "report.html"
    assert cli.main(["report", "--out", str(out)]) == 1
    err = capsys.readouterr()
    assert f"insights report: {out}" in err.out
    sections = sections_of(out.read_text(encoding="utf-8"))
    assert "not built yet" in sections["users_joined_by_year"]
    assert "pinterest-pipeline run --all" in sections["users_joined_by_year"]
    assert "cannot read" in sections["top_category_by_year"]
    assert "columns median_follower_count missing" in sections["median_followers_by_age_group"]
    for name in ("users_joined_by_year", "top_category_by_year", "median_followers_by_age_group"):
        assert "data-status='missing'" in sections[name] and "data-chart" not in sections[name]
        assert f"warning: insights/{name}: " in err.err
    assert sum("data-status='passed'" in s for s in sections.values()) == 6


def test_check_status_comes_from_the_dagster_instance_when_it_has_one(warehouse):
    write_tables(warehouse, sample_tables(COUNTRIES))
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(["insights", "top_poster_by_country"]),
            check_name="non_empty_unique_keys", passed=False,
            metadata={"duplicated_keys": 2}, severity=dg.AssetCheckSeverity.ERROR,
        ))
        checks = {s.name: s.check for s in report.collect(report.locations(), instance).sections}
        assert not checks["top_poster_by_country"].passed
        assert checks["top_poster_by_country"].source.startswith("Dagster, 20")
        assert checks["top_poster_by_country"].details == {"duplicated_keys": 2}
        assert checks["users_joined_by_year"].source == "recomputed from the rows"
        assert checks["users_joined_by_year"].passed

        # A table rewritten after Dagster checked it is checked again from its rows.
        path = contract.insight_path(warehouse, "top_poster_by_country")
        later = checks["top_poster_by_country"].at + 60
        os.utime(path, (later, later))
        again = {s.name: s.check for s in report.collect(report.locations(), instance).sections}
        assert again["top_poster_by_country"].source == "recomputed from the rows"
        assert again["top_poster_by_country"].passed


def test_report_asset_writes_the_page_and_links_it(warehouse):
    from pinterest_pipeline.defs.report import insights_report

    write_tables(warehouse, sample_tables(COUNTRIES))
    with dg.instance_for_test() as instance:
        result = dg.materialize([insights_report], instance=instance)
    assert result.success
    meta = result.asset_materializations_for_node("reports__insights")[0].metadata
    path = meta["dagster/uri"].value
    assert path == os.path.join(warehouse, "reports", report.REPORT_FILE) and os.path.isfile(path)
    assert meta["report"].value == f"file://{path}"
    assert meta["tables_built"].value == meta["checks_passed"].value == len(contract.INSIGHTS)


def test_freshness_warns_about_new_landings_and_stale_insights(warehouse, tmp_path):
    write_tables(warehouse, sample_tables(COUNTRIES))
    partition = Path(contract.clean_path(warehouse, "geo")) / "dt=2026-11-19"
    partition.mkdir(parents=True)
    (partition / "part-0.parquet").write_bytes(b"")
    written = os.path.getmtime(contract.insight_path(warehouse, "users_joined_by_year")) + 60
    os.utime(partition, (written, written))  # re-cleaned after the insights were computed

    path, rep = report.write_report(str(tmp_path / "report.html"))
    page = Path(path).read_text(encoding="utf-8")
    assert (rep.latest_landing, rep.latest_clean) == ("2026-11-20", "2026-11-19")
    assert "records landed for dt=2026-11-20, after the latest clean partition dt=2026-11-19" in page
    assert f"computed before the clean tables last changed ({report._utc(written)})" in page
    assert page.count("stale: the clean tables changed since") == len(contract.INSIGHTS)


def test_delta_tables_are_read_without_spark(warehouse, tmp_path, monkeypatch):
    from deltalake import write_deltalake

    monkeypatch.setenv("PINTEREST_TABLE_FORMAT", "delta")
    tables = sample_tables(COUNTRIES)
    for name, rows in tables.items():
        write_deltalake(contract.insight_path(warehouse, name), table(name, rows))
    write_deltalake(contract.insight_path(warehouse, "users_joined_by_year"),
                    table("users_joined_by_year", tables["users_joined_by_year"][:1]),
                    mode="overwrite")  # only the latest version counts
    rep = report.collect(report.locations())
    rows = {s.name: s.rows for s in rep.sections}
    assert rep.problems == []
    assert rows["users_joined_by_year"] == tables["users_joined_by_year"][:1]
    assert rows["top_poster_by_country"] == tables["top_poster_by_country"]
