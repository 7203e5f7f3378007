"""``syndicate build``: the feeds, then the archive of sent editions beside them.

The two halves live in their own parts (``build`` knows nothing of newsletters, ``edition``
nothing of feeds); this is where a run of both is put together, for the CLI, ``publish`` and the
library API.

The archive is imported only for a publication with a state database (one that has made an
edition): it brings the edition renderer and the delivery ledger, some 25 modules, which a
feeds-only publication's builds (cron's no-op ones above all) would load for nothing. It is
the one syndicate import inside a function (``tests/test_layering.py``: ``LOCAL_IMPORTS``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..build.pipeline import Progress, build_feeds
from ..build.result import BuildResult
from ..config import Config


def build(
    config: Config,
    *,
    out: Path | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    cache: bool = True,
    jobs: int | None = None,
) -> BuildResult:
    """The feeds (``build_feeds``), then the newsletter archive of sent editions next to them
    (``archive.with_archive``: reads the state database, never writes it)."""
    result = build_feeds(config, out=out, now=now, progress=progress, cache=cache, jobs=jobs)
    if not config.state_url and not config.state_db.exists():
        return result  # no edition was ever made: no archive (as ``sent_editions`` finds too)
    # lazy: the archive brings the edition renderer and the delivery ledger (~25 modules),
    # which a feeds-only publication never needs; see the module docstring
    from ..edition.archive import with_archive

    return with_archive(config, out or config.feeds_dir, result)
