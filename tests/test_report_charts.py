"""The report's charts: pure pictures (no script), the same numbers draw the same bytes, count
axes tick in whole numbers, and drawing one leaves the interpreter's import system as it was."""

from __future__ import annotations

import base64
import importlib
import sys
import warnings

import pytest

from syndicate.report.charts import bar_chart, line_chart, whole_ticks


def test_a_chart_is_a_pure_picture_and_deterministic() -> None:
    first = bar_chart("outcomes", "What happened", {"delivered": 17, "failed": 2})
    again = bar_chart("outcomes", "What happened", {"delivered": 17, "failed": 2})
    assert first.svg == again.svg
    assert "<script" not in first.svg and "<!--" not in first.svg
    assert first.svg.startswith("<svg") and 'id="chart-outcomes"' in first.svg
    assert base64.b64decode(first.data_uri.split(",", 1)[1]).decode() == first.svg
    assert first.alt == "What happened: delivered 17; failed 2"
    line = line_chart("trend", "Rates", ["a", "b"], {"bounced": [1.5, 0.0]}, unit="%")
    assert "<script" not in line.svg and "bounced 1.5%, 0%" in line.alt


@pytest.mark.parametrize(
    ("top", "ticks"),
    [(0, [0, 1]), (3, [0, 1, 2, 3]), (17, [0, 5, 10, 15, 20]), (2345, [0, 500, 1000, 1500, 2000, 2500])],
)
def test_count_axes_tick_in_whole_numbers(top: int, ticks: list[int]) -> None:
    assert whole_ticks(top) == ticks


def test_drawing_leaves_no_import_hook_behind() -> None:
    bar_chart("x", "x", {"a": 1})
    assert not any(type(f).__name__ == "PluginImportFixer" for f in sys.meta_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImportError):
            importlib.import_module("no_such_module_for_syndicate_tests")
