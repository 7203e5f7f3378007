"""``syndicate digest``: load what a publication published, then lay out a period of it.

The layout (periods, selection, the template) is ``text.digest``'s; this adds the loading, which
needs the content folder and the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ..config import Config
from ..content.articles import load_published
from ..content.when import now_utc
from ..errors import UsageError
from ..text.digest import Digest, Period, corrections_in, period_ending, render_digest, select


def make_digest(
    config: Config,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sections: Sequence[str] = (),
    tags: Sequence[str] = (),
    full: bool | None = None,
    now: datetime | None = None,
) -> Digest:
    """Load the publication's articles and render the digest of ``[since, until)``.

    ``until`` defaults to ``now``, ``since`` to seven calendar days before ``until``; only
    articles published by ``now`` (no drafts, no embargoes) can appear.
    """
    pub = config.publication
    moment = now or now_utc()
    end = until or moment
    period = Period(since, end) if since is not None else period_ending(end, pub.timezone)
    if period.since >= period.until:
        raise UsageError(
            f"the period is empty: --since ({period.since.isoformat()}) must be before "
            f"--until ({period.until.isoformat()})"
        )
    published, _ = load_published(config, moment)
    chosen = select(published, period, sections=sections, tags=tags)
    options = pub.digest
    if full is not None and full != options.full:
        options = replace(options, full=full)
    notes = corrections_in(
        select(published, Period(_EARLIEST, period.until), sections=sections, tags=tags),
        period,
        pub.timezone,
    )
    text = (
        render_digest(pub, chosen, period, options=options, corrections=notes)
        if chosen or notes
        else ""
    )
    newest = max((a.visible_from for a in published), default=None)
    return Digest(
        text=text,
        articles=tuple(chosen),
        period=period,
        newest=newest,
        corrections=tuple(notes),
    )


_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)  # every article published before a period's end
