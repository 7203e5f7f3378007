"""Writing the start-up stamp (``noop.py``) after a build that found nothing to do.

Apart from ``noop.py`` because this side needs the loaded config, the build result and the
output folder's layout, which the checking side must not import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Config
from ..files import INSIDE_WORK_DIR, WORK_SUFFIX
from . import noop
from .cache import cache_path
from .manifest import FILE_NAME as MANIFEST
from .result import BuildResult

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def remember_noop(
    config: Config,
    out: Path | None,
    key: bytes,
    result: BuildResult,
    warnings: Sequence[str],
) -> bool:
    """Write the stamp if ``result`` is a build that changed nothing and that the next one can
    replay (``key`` taken before the config was loaded, ``warnings`` as the CLI printed them);
    True if written."""
    settled = result.settled
    if (
        settled is None
        or result.report.written
        or result.removed
        or result.swept
        or config.state_url
        or config.state_db.exists()  # the archive is built from it: not covered by the stamp
    ):
        return False
    out_dir = (out or config.feeds_dir).resolve()
    folders = {out_dir} | {(out_dir / path).parent for path, _, _ in settled.outputs}
    work = [out_dir / INSIDE_WORK_DIR, out_dir.parent / f".{out_dir.name}{WORK_SUFFIX}"]
    watched = [
        *sorted(folders),
        *(folder / name for folder in work for name in ("", MANIFEST, "tmp")),
        cache_path(config.state_db),
        config.state_db,  # absent now, and must stay so
    ]
    return noop.record(
        key,
        settled.content,
        state_db=config.state_db,
        content_dir=config.content_dir,
        window=(_micros(settled.lower), _micros(settled.upper)),
        outputs=((str(out_dir / path), size, mtime) for path, size, mtime in settled.outputs),
        watched=watched,
        replay=noop.Replay(tuple(warnings), *result.summary_parts()),
    )


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // timedelta(microseconds=1)
