"""The insights report as an asset: the HTML page of :mod:`pinterest_pipeline.report`.

Runs after the nine insight tables (in the ``nightly`` and ``insights`` jobs)
and takes their check results from this Dagster instance. The page's path is
``dagster/uri``; ``report`` links it so the UI opens it in the browser.
"""

import dagster as dg

from pinterest_pipeline import report
from pinterest_pipeline.defs.insights import INSIGHT_KEYS


@dg.asset(
    key=dg.AssetKey(["reports", "insights"]),
    deps=list(INSIGHT_KEYS.values()),
    group_name="insights",
    kinds={"html", "plotly"},
    description="The insights report: one self-contained HTML page (opens offline) with a chart "
    "per insight table, each table's check status and the data's freshness.",
)
def insights_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    path, page = report.write_report(instance=context.instance)
    for problem in page.problems:
        context.log.warning(problem)
    states = [report.status(s) for s in page.sections]
    return dg.MaterializeResult(metadata={
        "dagster/uri": path,
        "report": dg.MetadataValue.url(f"file://{path}"),
        "path": dg.MetadataValue.path(path),
        "tables_built": len(states) - states.count("missing"),
        "checks_passed": states.count("passed"),
        "latest_landing_date": page.latest_landing or "unknown",
        "problems": dg.MetadataValue.json(page.problems),
    })
