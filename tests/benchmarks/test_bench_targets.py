"""The report's target rows judge the unrounded figures (``benchmarks.run._targets``)."""

from __future__ import annotations

from benchmarks import run


def _results(pairs: list[list[float]], rounded: float) -> dict:
    main = {"posts": 1_000_000, "layout": "sink", "pairs": pairs, "ratio_vs_notebook": rounded,
            "run_all_s": pairs[0][0], "notebook_s": pairs[0][1], "equal": True}
    return {"engines": [main], "main_posts": 1_000_000}


def _ratio_row(results: dict) -> str:
    return next(line for line in run._targets(results) if "notebook job" in line)


def test_a_median_ratio_just_above_the_target_is_not_met_though_it_rounds_to_it():
    pairs = [[70.4, 94.0], [71.9, 102.3], [71.4, 111.0]]  # 0.749, 0.703, 0.643
    assert _ratio_row(_results(pairs, 0.7)).endswith("| 0.703× | no |")


def test_a_median_ratio_under_the_target_is_met_and_one_over_it_is_not():
    pairs = [[68.0, 100.0], [71.0, 100.0], [75.0, 100.0]]
    assert _ratio_row(_results(pairs, 0.71)).endswith("| 0.710× | no |")
    pairs = [[60.0, 100.0], [69.0, 100.0], [75.0, 100.0]]
    assert _ratio_row(_results(pairs, 0.69)).endswith("| 0.690× | yes |")
