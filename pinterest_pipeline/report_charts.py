"""The chart of each insight table (plotly figures as JSON) and its title and question.

One figure per table of ``contract.INSIGHTS``: sorted horizontal bars per
country (searchable in the page), bars by year or age group (age groups in
contract order), grouped bars for age group x join year, and a big number for
the single-row ``country_with_top_poster``. Categories and age groups keep one
colour across charts.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from pinterest_pipeline import contract

#: Insight table -> (title, the question it answers).
TITLES: dict[str, tuple[str, str]] = {
    "top_category_by_country": (
        "Top category per country", "Which category has the most posts in each country?"),
    "top_category_by_year": (
        "Top category per year",
        "Which category had the most posts each year, {}–{}?".format(*contract.POST_YEAR_RANGE)),
    "top_poster_by_country": (
        "Most-followed poster per country", "Which poster has the most followers in each country?"),
    "country_with_top_poster": (
        "Country of the most-followed poster",
        "Which country is the poster with the most followers from?"),
    "top_category_by_age_group": (
        "Top category per age group", "Which category do users of each age group post most?"),
    "median_followers_by_age_group": (
        "Median followers per age group",
        "How many followers does the typical user of each age group have?"),
    "users_joined_by_year": (
        "Users joined per year",
        "How many users joined each year, {}–{}? (post_year is the join year.)".format(
            *contract.JOIN_YEAR_RANGE)),
    "median_followers_by_join_year": (
        "Median followers by join year",
        ("How many followers does the typical user have, by join year? "
         "(post_year is the join year.)")),
    "median_followers_by_age_group_and_join_year": (
        "Median followers by age group and join year",
        "The same median per age group and join year (post_year is the join year)."),
}

#: Tables long enough to need a search box (one bar per country).
SEARCHABLE = {"top_category_by_country", "top_poster_by_country"}

AGE_ORDER = [g for g, _, _ in contract.AGE_GROUPS]
#: One distinct colour per category (contract order), a light-to-dark blue per age group.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#34495e", "#d37295", "#17becf"]
AGE_COLORS = ["#a6cee3", "#6baed6", "#2171b5", "#08306b"]
COLORS = {**dict(zip(contract.CATEGORIES, PALETTE)), **dict(zip(AGE_ORDER, AGE_COLORS))}
OTHER_COLOR = "#7f7f7f"
#: Height of a horizontal bar chart: BASE_PX + ROW_PX per bar (the search box keeps this).
BASE_PX, ROW_PX = 140, 18


def _bars(rows, x: str, y: str, *, color: str | None = None, text: str | None = None,
          horizontal: bool = False, order: list | None = None, x_title: str = "",
          y_title: str = ""):
    """Bars of ``y`` over ``x``, one trace (and legend entry) per ``color`` value."""
    import plotly.graph_objects as go

    groups: dict[Any, list[dict]] = {}
    for r in rows:
        groups.setdefault(r[color] if color else y, []).append(r)
    fig = go.Figure()
    for value, members in sorted(groups.items(), key=lambda kv: _order_key(kv[0], AGE_ORDER)):
        labels = [str(r[x]) for r in members]
        values = [r[y] for r in members]
        fig.add_bar(
            x=values if horizontal else labels, y=labels if horizontal else values,
            orientation="h" if horizontal else "v", name=str(value),
            marker_color=COLORS.get(str(value), OTHER_COLOR) if color else PALETTE[0],
            text=[str(r[text]) for r in members] if text else None,
            textposition="outside" if horizontal else "auto", textangle=0, cliponaxis=False,
            customdata=labels,
            hovertemplate=f"{x}: %{{customdata}}<br>{y}: %{{{'x' if horizontal else 'y'}:,}}"
            + (f"<br>{text}: %{{text}}" if text else "") + "<extra></extra>",
        )
    axis = {"type": "category"}
    if order:
        axis.update(categoryorder="array", categoryarray=order)
    else:
        axis.update(categoryorder="total ascending" if horizontal else "category ascending")
    fig.update_layout(barmode="group", showlegend=bool(color), legend_title_text=color or "")
    value_axis = {"title": y_title or y, "tickformat": ",~s", "rangemode": "tozero",
                  "automargin": True, "side": "top" if horizontal else "left"}
    if horizontal and text:  # room for the labels after the longest bar
        value_axis["range"] = [0, 1.3 * max((r[y] or 0) for r in rows)]
    # A tall list of countries needs no axis title (it would sit out of view).
    label_axis = {**axis, "title": "" if horizontal else x_title or x, "automargin": True}
    fig.update_layout(xaxis=value_axis if horizontal else label_axis,
                      yaxis=label_axis if horizontal else value_axis)
    if horizontal:
        fig.update_layout(height=BASE_PX + ROW_PX * len(rows))
    return fig


def _order_key(value: Any, order: list[str]) -> tuple:
    return (order.index(value), "") if value in order else (len(order), str(value))


def _indicator(rows):
    import plotly.graph_objects as go

    row = rows[0]
    fig = go.Figure(go.Indicator(
        mode="number", value=row["follower_count"], number={"valueformat": ","},
        title={"text": f"{html.escape(str(row['country']))}<br><span style='font-size:0.7em;"
                       "color:#666'>followers of the most-followed poster</span>"},
    ))
    fig.update_layout(height=260)
    return fig


def _years(rows, y: str, title: str):
    return _bars(rows, "post_year", y, x_title="join year", y_title=title)


CHARTS: dict[str, Callable[[list[dict]], Any]] = {
    "top_category_by_country": lambda rows: _bars(
        rows, "country", "category_count", color="category", horizontal=True, y_title="posts"),
    "top_category_by_year": lambda rows: _bars(
        rows, "post_year", "category_count", color="category", text="category",
        x_title="post year", y_title="posts in the top category"),
    "top_poster_by_country": lambda rows: _bars(
        rows, "country", "follower_count", text="poster_name", horizontal=True,
        y_title="followers"),
    "country_with_top_poster": _indicator,
    "top_category_by_age_group": lambda rows: _bars(
        rows, "age_group", "category_count", color="category", text="category",
        order=AGE_ORDER, x_title="age group", y_title="posts in the top category"),
    "median_followers_by_age_group": lambda rows: _bars(
        rows, "age_group", "median_follower_count", order=AGE_ORDER, x_title="age group",
        y_title="median followers"),
    "users_joined_by_year": lambda rows: _years(rows, "number_users_joined", "users joined"),
    "median_followers_by_join_year": lambda rows: _years(
        rows, "median_follower_count", "median followers"),
    "median_followers_by_age_group_and_join_year": lambda rows: _bars(
        rows, "post_year", "median_follower_count", color="age_group", x_title="join year",
        y_title="median followers"),
}


def figure_json(name: str, rows: list[dict[str, Any]]) -> str:
    fig = CHARTS[name](rows)
    fig.update_layout(template="plotly_white", margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      font={"family": "system-ui, sans-serif", "size": 12})
    fig.update_layout(height=fig.layout.height or 380)
    return fig.to_json()
