"""The report as terminal tables: the chosen edition in full, then the trend over the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..text.tables import render_table

if TYPE_CHECKING:
    from .numbers import EditionNumbers, Report

WIDTH = 100


def percent(value: float) -> str:
    """``0.0123`` -> ``1.2%`` (two decimals below one percent, where small rates live)."""
    share = value * 100
    return f"{share:.2f}%" if 0 < share < 1 else f"{share:.1f}%"


def duration(seconds: float) -> str:
    """``75.2`` -> ``1 min 15 s``; short sends keep a decimal."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h " if hours else "") + f"{minutes} min {rest} s"


def speed(numbers: EditionNumbers) -> str:
    """Duration and rate, or a dash when no run was timed."""
    if not numbers.runs:
        return "-"
    rate = numbers.rate
    runs = f" in {numbers.runs} runs" if numbers.runs > 1 else ""
    per_second = f", {rate:.1f} messages/s" if rate is not None else ""
    return f"{duration(numbers.seconds)}{runs}{per_second}"


def edition_lines(numbers: EditionNumbers, width: int = WIDTH) -> list[str]:
    """One edition in full: the outcome of every recipient, what came back, what was clicked."""
    title = f"edition {numbers.edition}" + (f": {numbers.subject}" if numbers.subject else "")
    state = numbers.status or "unknown"
    if numbers.sent_at:
        state += f", sent {numbers.sent_at}"
    rows = [
        ["", ""],
        ["status", state],
        ["recipients", str(numbers.recipients)],
        ["delivered", str(numbers.delivered)],
        ["deferred", str(numbers.deferred)],
        ["failed", str(numbers.failed)],
        ["uncertain", str(numbers.uncertain)],
        ["skipped", str(numbers.skipped)],
    ]
    if numbers.queued:
        rows.append(["queued", str(numbers.queued)])
    rows += [
        ["hard bounces", str(numbers.hard_bounces)],
        ["soft bounces", str(numbers.soft_bounces)],
        ["complaints", str(numbers.complaints)],
        ["unsubscribes", f"{numbers.unsubscribes} ({percent(numbers.unsubscribe_rate)})"],
        ["send", speed(numbers)],
    ]
    lines = [title, *render_table(rows, ["left", "left"], width)]
    if numbers.links:
        lines += ["", f"clicks ({numbers.clicks} in all; counted per link, not per reader)"]
        link_rows = [["clicks", "link"]]
        link_rows += [[str(link.clicks), link.url] for link in numbers.links]
        lines += render_table(link_rows, ["right", "left"], width)
    return lines


def trend_lines(report: Report, width: int = WIDTH) -> list[str]:
    """One row per edition: list size and growth, delivery, bounce and unsubscribe rates."""
    rows = [["edition", "recipients", "growth", "delivered", "bounced", "unsubscribed", "clicks"]]
    for numbers, growth in zip(report.editions, report.growth, strict=True):
        rows.append(
            [
                numbers.edition,
                str(numbers.recipients),
                f"{growth:+d}",
                str(numbers.delivered),
                percent(numbers.bounce_rate),
                percent(numbers.unsubscribe_rate),
                str(numbers.clicks) if numbers.links else "-",
            ]
        )
    return render_table(rows, ["left", *["right"] * 6], width)


def report_lines(report: Report, width: int = WIDTH) -> list[str]:
    """The whole terminal report."""
    lines: list[str] = []
    for numbers in report.detail:
        lines += [*edition_lines(numbers, width), ""]
    if len(report.editions) > 1:
        lines += [
            f"trend over the last {len(report.editions)} editions",
            *trend_lines(report, width),
        ]
    return lines or ["no edition to report: none has been sent (in the period asked about)"]
