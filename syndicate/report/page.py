"""The report (and a build's timings) as one self-contained HTML page: inline CSS, charts as
``data:`` SVG images, every number also in a table; no JavaScript, nothing fetched.

Rendered by Jinja2 with autoescape on (subjects and URLs are outside text), from the
``report.html.j2`` template a publication may override.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..build.result import BuildPhase
from ..config import Config
from ..files import atomic_write
from ..text.templates import template_environment
from .charts import Chart, bar_chart, line_chart
from .terminal import duration, percent, speed

if TYPE_CHECKING:
    from .numbers import EditionNumbers, Report

TEMPLATE = "report.html.j2"


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """A chart and the table of its numbers (header row first)."""

    chart: Chart
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # per column: right-aligned numbers


def _figure(chart: Chart, rows: Sequence[Sequence[str]]) -> Figure:
    columns = len(rows[0])
    numeric = tuple(index > 0 for index in range(columns))
    return Figure(chart=chart, rows=tuple(tuple(row) for row in rows), numeric=numeric)


def _edition_figures(numbers: EditionNumbers) -> list[Figure]:
    slug = "".join(ch if ch.isalnum() else "-" for ch in numbers.edition)
    outcomes = {
        "delivered": numbers.delivered,
        "deferred": numbers.deferred,
        "failed": numbers.failed,
        "uncertain": numbers.uncertain,
        "skipped": numbers.skipped,
        "queued": numbers.queued,
    }
    returned = {
        "hard bounces": numbers.hard_bounces,
        "soft bounces": numbers.soft_bounces,
        "complaints": numbers.complaints,
        "unsubscribes": numbers.unsubscribes,
    }
    figures = [
        _figure(
            bar_chart(f"outcomes-{slug}", "What happened to each recipient", outcomes),
            [("outcome", "recipients"), *((k, str(v)) for k, v in outcomes.items())],
        ),
        _figure(
            bar_chart(f"returns-{slug}", "What came back", returned),
            [("event", "addresses"), *((k, str(v)) for k, v in returned.items())],
        ),
    ]
    if numbers.links:
        clicks = {link.url: link.clicks for link in numbers.links}
        figures.append(
            _figure(
                bar_chart(f"clicks-{slug}", "Clicks per link", clicks),
                [("link", "clicks"), *((k, str(v)) for k, v in clicks.items())],
            )
        )
    return figures


def _trend_figures(report: Report) -> list[Figure]:
    labels = [numbers.edition for numbers in report.editions]
    recipients = [numbers.recipients for numbers in report.editions]
    bounce = [round(n.bounce_rate * 100, 2) for n in report.editions]
    leave = [round(n.unsubscribe_rate * 100, 2) for n in report.editions]
    return [
        _figure(
            line_chart("trend-list", "Recipients per edition", labels, {"recipients": recipients}),
            [
                ("edition", "recipients", "growth"),
                *(
                    (label, str(count), f"{growth:+d}")
                    for label, count, growth in zip(labels, recipients, report.growth, strict=True)
                ),
            ],
        ),
        _figure(
            line_chart(
                "trend-rates",
                "Bounce and unsubscribe rates",
                labels,
                {"bounced": bounce, "unsubscribed": leave},
                unit="%",
            ),
            [
                ("edition", "bounced", "unsubscribed"),
                *(
                    (n.edition, percent(n.bounce_rate), percent(n.unsubscribe_rate))
                    for n in report.editions
                ),
            ],
        ),
    ]


def _build_figures(phases: Sequence[BuildPhase]) -> list[Figure]:
    """Seconds spent in each phase (the differences between ``-v``'s cumulative times)."""
    spent: dict[str, float] = {}
    previous = 0.0
    for phase in phases:
        spent[phase.name] = round(phase.at - previous, 4)
        previous = phase.at
    rows = [("phase", "seconds", "items", "done at")]
    rows += [(p.name, f"{spent[p.name]:.3f}", str(p.count), f"{p.at:.3f} s") for p in phases]
    return [_figure(bar_chart("build-phases", "Seconds per build phase", spent, unit=" s"), rows)]


def render_page(
    config: Config,
    *,
    report: Report | None = None,
    build_phases: Sequence[BuildPhase] = (),
    build_summary: str = "",
) -> str:
    """The HTML page: the report's editions and trend, and/or a build's timings."""
    env = template_environment(config, autoescape=True)
    context: dict[str, Any] = {
        "publication": config.publication,
        "title": "Edition report" if report is not None else "Build timings",
        "editions": [],
        "trend": [],
        "build": _build_figures(build_phases) if build_phases else [],
        "build_summary": build_summary,
        "build_shown": bool(build_phases or build_summary),
        "nothing": report is not None and not report.editions,
    }
    if report is not None:
        context["editions"] = [
            {
                "numbers": numbers,
                "send": speed(numbers),
                "unsubscribe_rate": percent(numbers.unsubscribe_rate),
                "bounce_rate": percent(numbers.bounce_rate),
                "figures": _edition_figures(numbers),
            }
            for numbers in report.detail
        ]
        if len(report.editions) > 1:
            context["trend"] = _trend_figures(report)
    return env.get_template(TEMPLATE).render(**context, duration=duration)


def write_page(path: Path, page: str) -> None:
    """Write the page atomically (a reader never sees half a report)."""
    atomic_write(path, page.encode("utf-8"))
