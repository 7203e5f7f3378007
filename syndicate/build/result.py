"""What a build did: the files it produced and the one-line summary the CLI prints.

Kept apart from ``build.py`` (which re-exports both classes) so the result's shape and wording
can be read without the build machinery; nothing here affects what a build writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from ..errors import Problem
from ..files import WriteReport
from ..model import Correction
from ..text.words import plural

# (article id, its correction notes) for every article that has any: the archive shows them.
Notes = tuple[tuple[str, tuple[Correction, ...]], ...]


@dataclass(frozen=True, slots=True)
class Produced:
    """A file a build serialised: where it goes under the output folder, its type and size
    (its bytes went straight to disk, from whichever process made them)."""

    path: PurePosixPath
    media_type: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildPhase:
    """A step of a build as ``-v`` reports it: when it finished (seconds since the start), how
    many items it handled, and CPU seconds used so far here and in finished workers."""

    name: str
    at: float
    count: int
    cpu: float
    workers_cpu: float


@dataclass(frozen=True, slots=True)
class Settled:
    """What a build that found nothing to do relied on, for the CLI's start-up stamp
    (``build/noop.py``): the span of time in which the same articles are visible, every
    content file's relative path, size and mtime as its scan found them, and every output
    file's as the build cache recorded them."""

    lower: datetime | None
    upper: datetime | None
    content: tuple[tuple[str, int, int], ...]
    outputs: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the one-line summary and for ``publish``.

    ``produced`` holds the files this build serialised (every written file is among them);
    ``paths`` every file the build is responsible for, including feeds whose inputs had not
    changed and which were therefore confirmed on disk instead of serialised again.
    """

    articles: int
    produced: tuple[Produced, ...]
    report: WriteReport
    seconds: float
    warnings: tuple[Problem, ...]
    paths: tuple[PurePosixPath, ...] = ()
    rendered: int = 0  # bodies rendered by this build (not taken from the cache)
    cached: bool = False  # whether the build cache was used
    removed: tuple[PurePosixPath, ...] = ()  # files of earlier builds the content no longer makes
    swept: int = 0  # temp files of killed runs removed
    phases: tuple[BuildPhase, ...] = ()  # where the time went (``build -v``, ``build --html``)
    corrections: Notes = ()  # every article's correction notes (for the newsletter archive)
    settled: Settled | None = None  # set when the build found nothing to do (the snapshot held)

    @property
    def main_files(self) -> int:
        """Feeds at the top of the output folder (rss.xml, atom.xml, feed.json)."""
        return sum(1 for path in self._all_paths() if _is_feed(path) and path.parent == _TOP)

    @property
    def taxonomy_files(self) -> int:
        """Feeds of tags and sections, in their own folders."""
        return sum(1 for path in self._all_paths() if _is_feed(path) and path.parent != _TOP)

    def _all_paths(self) -> tuple[PurePosixPath, ...]:
        return self.paths or tuple(p.path for p in self.produced)

    def summary(self) -> str:
        """The one-line summary (``summary_parts`` around this build's seconds)."""
        before, after = self.summary_parts()
        return f"{before}{self.seconds:.1f}{after}"

    def summary_parts(self) -> tuple[str, str]:
        """The summary before and after its seconds: ``wrote 3 feeds + 42 taxonomy feeds for
        120 articles in 0.8 s (2 changed, 43 unchanged, 3 removed)``, naming other files (a digest, a plugin's output) apart from
        the feeds; ``removed`` (feeds the content no longer makes) only when there were any."""
        total = len(self._all_paths())
        others = total - self.main_files - self.taxonomy_files
        extra = f" + {others} other file{'s' if others != 1 else ''}" if others else ""
        removed = f", {len(self.removed)} removed" if self.removed else ""
        before = (
            f"wrote {plural(self.main_files, 'feed')} + "
            f"{plural(self.taxonomy_files, 'taxonomy feed')}{extra} for "
            f"{plural(self.articles, 'article')} in "
        )
        after = (
            f" s ({len(self.report.written)} changed, {len(self.report.unchanged)} unchanged"
            f"{removed})"
        )
        return before, after


_TOP = PurePosixPath(".")
_FEED_SUFFIXES = (".xml", ".json")


def _is_feed(path: PurePosixPath) -> bool:
    return path.suffix in _FEED_SUFFIXES
