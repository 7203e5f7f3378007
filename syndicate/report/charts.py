"""Charts as static SVG, drawn by pygal and embedded in the page as images.

pygal is made for exactly this (SVG is its native output, no numpy, no font cache, a tenth of a
second to import) and is loaded only when a page is drawn. Its SVG carries a small config
script for its interactive mode; that is removed, as are its random element ids and its
"generated on" date, so a chart is a pure picture and the same numbers draw the same bytes.
Every chart on the page is followed by a table of its numbers, for screen readers and for
anyone who wants the exact figure.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

WIDTH = 480  # drawn narrow: on a 375 px phone the text still reads at about 80%
HEIGHT = 300
COLOURS = ("#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#be123c", "#0f766e")
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CHART_ID = re.compile(r'id="chart-([0-9a-f-]{36})"')


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """One drawn chart: its SVG and the sentence that stands for it (``alt``)."""

    svg: str
    alt: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI, for an ``<img>`` in a self-contained page."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def _pygal() -> ModuleType:
    """pygal, imported on first use, without the import hook it leaves behind.

    pygal appends a finder for its map plugins (``pygal.maps.*``) to ``sys.meta_path`` that
    has only the old ``find_module`` API, so every later failed import in the process warns
    (ImportWarning, an error under our tests). We draw no maps: the hook is taken out again.
    """
    # lazy: pygal loads only when a page with charts is written
    import pygal

    fixer = getattr(pygal, "PluginImportFixer", None)
    if fixer is not None:
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, fixer)]
    return pygal


def _style() -> Any:
    return _pygal().style.Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#666666",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=15,
        major_label_font_size=15,
        value_font_size=15,
        title_font_size=18,
        legend_font_size=15,
        colors=COLOURS,
    )


def _options(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": _style(),
        "width": WIDTH,
        "height": HEIGHT,
        "js": [],
        "disable_xml_declaration": True,
        "print_values": False,
        "truncate_label": 28,
        **extra,
    }


def _finish(chart: Any, name: str, alt: str, height: int = HEIGHT) -> Chart:
    """Render, then strip the script, comments and random ids (see the module docstring)."""
    svg = str(chart.render(is_unicode=True))
    svg = _SCRIPT.sub("", _COMMENT.sub("", svg))
    match = _CHART_ID.search(svg)
    if match:
        svg = svg.replace(match.group(1), name)
    return Chart(svg=svg, alt=alt, width=WIDTH, height=height)


def bar_chart(name: str, title: str, values: Mapping[str, float], *, unit: str = "") -> Chart:
    """Horizontal bars, one per label (outcomes of a send, clicks per link, build phases)."""
    pygal = _pygal()
    height = max(HEIGHT // 2, 90 + 36 * len(values))
    options = _options(title, height=height, show_legend=False)
    if all(float(value).is_integer() for value in values.values()):
        options["y_labels"] = whole_ticks(max(values.values(), default=0))
    # pygal stacks horizontal bars from the bottom up: reversed, the first reads first.
    pairs = list(values.items())[::-1]
    options["x_labels"] = [label for label, _ in pairs]
    chart = pygal.HorizontalBar(**options)
    chart.add(title, [{"value": value, "label": f"{value:g}{unit}"} for _, value in pairs])
    alt = f"{title}: " + "; ".join(f"{label} {value:g}{unit}" for label, value in values.items())
    return _finish(chart, name, alt, height)


def whole_ticks(top: float, most: int = 6) -> list[int]:
    """Axis ticks for counts: whole numbers from 0 past ``top``, at most ``most`` of them
    (pygal would otherwise label a count axis 0.2, 0.4, ...)."""
    steps = (m * 10**e for e in range(15) for m in (1, 2, 5))
    step = next(step for step in steps if top / step <= most - 1)
    last = int(-(-max(top, 1) // step) * step)
    return list(range(0, last + 1, step))


def line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    unit: str = "",
) -> Chart:
    """Lines over the editions (list size, bounce and unsubscribe rates)."""
    pygal = _pygal()
    top = max((value for values in series.values() for value in values), default=0)
    chart = pygal.Line(
        **_options(
            title,
            x_label_rotation=30 if len(labels) > 3 else 0,
            legend_at_bottom=True,
            dots_size=4,
            margin_right=48,  # room for the last edition's label
            y_labels=whole_ticks(top),  # from zero: a small change must not look like a cliff
            x_labels=list(labels),
            value_formatter=lambda value: f"{value:g}{unit}",
        )
    )
    for label, values in series.items():
        chart.add(label, list(values))
    alt = f"{title}, edition by edition: " + "; ".join(
        f"{label} " + ", ".join(f"{value:g}{unit}" for value in values)
        for label, values in series.items()
    )
    return _finish(chart, name, alt)
