"""``syndicate build``: content -> selected, rendered articles -> exporters -> atomic writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from .config import Config
from .content import LoadResult, load_articles, render_article, select_published
from .errors import Problem
from .exporters import Artifact, enabled_exporters
from .exporters.feedset import feed_specs
from .model import Article, Publication
from .output import WriteReport, write_artifacts

Progress = Callable[[int, int], None]
FEED_SIZE_WARNING = 1_000_000


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the one-line summary and for ``publish``."""

    articles: int
    artifacts: tuple[Artifact, ...]
    report: WriteReport
    seconds: float
    warnings: tuple[Problem, ...]

    @property
    def main_files(self) -> int:
        return sum(1 for a in self.artifacts if a.path.parent == PurePosixPath("."))

    @property
    def taxonomy_files(self) -> int:
        return len(self.artifacts) - self.main_files

    def summary(self) -> str:
        """``wrote 3 feeds + 42 taxonomy feeds for 120 articles in 0.8 s (2 changed)``."""
        return (
            f"wrote {self.main_files} feeds + {self.taxonomy_files} taxonomy feeds for "
            f"{self.articles} articles in {self.seconds:.1f} s "
            f"({len(self.report.written)} changed, {len(self.report.unchanged)} unchanged)"
        )


def now_utc() -> datetime:
    """The current instant; the CLI's --now replaces it in tests and back-fills."""
    return datetime.now(UTC)


def load_published(config: Config, now: datetime) -> tuple[list[Article], LoadResult]:
    """Every article visible at ``now``, newest first, bodies not yet rendered."""
    loaded = load_articles(config.content_dir, config.publication)
    return select_published(loaded.articles, now), loaded


def render_needed(
    pub: Publication, articles: Sequence[Article], progress: Progress | None = None
) -> list[Article]:
    """Render the bodies of the articles that appear in at least one feed, and only those."""
    needed = {article.id for spec in feed_specs(pub, articles) for article in spec.articles}
    result = []
    total = len(needed)
    done = 0
    for article in articles:
        if article.id in needed:
            article = render_article(article, pub)
            done += 1
            if progress is not None:
                progress(done, total)
        result.append(article)
    return result


def build(
    config: Config,
    *,
    out: Path | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Run every enabled exporter and write its files; nothing is written if anything fails."""
    started = time.perf_counter()
    pub = config.publication
    published, loaded = load_published(config, now or now_utc())
    rendered = render_needed(pub, published, progress)
    artifacts: list[Artifact] = []
    for exporter in enabled_exporters(config.model.feeds.exporters):
        artifacts.extend(exporter.export(pub, rendered))
    warnings = list(loaded.warnings)
    warnings += [
        Problem(a.path, None, f"feed is {len(a.content) // 1000} KB; lower [feeds] max_items", True)
        for a in artifacts
        if len(a.content) > FEED_SIZE_WARNING
    ]
    report = write_artifacts(out or config.feeds_dir, artifacts)
    return BuildResult(
        articles=len(published),
        artifacts=tuple(artifacts),
        report=report,
        seconds=time.perf_counter() - started,
        warnings=tuple(warnings),
    )


def validate(config: Config) -> tuple[Problem, ...]:
    """Load every article (raising ContentError with all problems); return the warnings."""
    loaded = load_articles(config.content_dir, config.publication)
    enabled_exporters(config.model.feeds.exporters)
    return loaded.warnings
