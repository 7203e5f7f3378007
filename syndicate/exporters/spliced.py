"""RSS and Atom documents whose entries feedgen makes once per article and every feed reuses.

feedgen builds an entry's elements anew in every feed the article is in (home, section, tags),
and lxml escapes its ~10 kB of content again each time: ~60% of a cold build's RSS and Atom
work went to entries already serialised in another feed. An entry's bytes in a pretty-printed
document do not depend on the feed around it (the root declares the same namespaces in every
feed; an entry's own declarations stay on its elements), so each feed is serialised by
feedgen with only the entries not yet made (at least one: it shows where entries go), cut at
entry boundaries, and put together with the entries kept from earlier feeds. Content is
escaped, so ``<entry`` and ``</entry>`` (``<item>``, ``</item>``) occur in the text only as
the entries' own tags; if the cut does not find one entry per entry made, the whole feed is
made by feedgen as before. tests/test_feed_entries.py holds spliced feeds equal to whole ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..model import Article, Publication
from .entries import EntryCache

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator


class Format:
    """Where a format's entries sit in feedgen's pretty-printed document."""

    __slots__ = ("end", "start", "then")

    def __init__(self, start: bytes, then: bytes, end: bytes) -> None:
        self.start = start  # an entry's first line, from the line end before it ...
        self.then = then  # ... followed by one of these bytes
        self.end = end  # its closing tag's line, with the line ends either side

    def starts(self, document: bytes) -> list[int]:
        """Where each entry's first line starts (``bytes.find``: a regex anchored at line
        starts tried every position, ~1.5 ms a feed)."""
        found = []
        at = document.find(self.start)
        while at >= 0:
            after = at + len(self.start)
            if document[after : after + 1] in self.then:
                found.append(at + 1)
            at = document.find(self.start, after)
        return found


ATOM = Format(b"\n  <entry", b" >", b"\n  </entry>\n")  # children of <feed>
RSS = Format(b"\n    <item", b">", b"\n    </item>\n")  # children of <channel>

AddEntry = Callable[["FeedGenerator", Article], None]
Serialise = Callable[["FeedGenerator"], bytes]


def feed_bytes(
    fg: FeedGenerator,
    pub: Publication,
    articles: Sequence[Article],
    made: EntryCache[bytes],
    *,
    form: Format,
    add_entry: AddEntry,
    serialise: Serialise,
    whole: Callable[[], FeedGenerator],
) -> bytes:
    """The document ``serialise(fg)`` would give with an entry added for each of ``articles``,
    entries already in ``made`` reused; ``whole`` makes a fresh feed for the fallback."""
    kept = [made.find(pub, article) for article in articles]
    fresh = [entry is None for entry in kept]
    if articles and not any(fresh):
        fresh[0] = True  # one entry made here shows where the entries go
    for article, new in zip(articles, fresh, strict=True):
        if new:
            add_entry(fg, article)
    document = serialise(fg)
    if not articles:
        return document
    starts = form.starts(document)
    if len(starts) != sum(fresh):
        return _whole(whole(), articles, add_entry, serialise)
    end = document.find(form.end, starts[-1]) + len(form.end)  # the last entry's line end
    bounds = [*starts, end]
    entries = [document[bounds[i] : bounds[i + 1]] for i in range(len(starts))]
    closing = form.end[1:]
    if end < len(form.end) or not all(entry.endswith(closing) for entry in entries):
        return _whole(whole(), articles, add_entry, serialise)
    cut = iter(entries)
    parts = [document[: starts[0]]]
    for article, entry, new in zip(articles, kept, fresh, strict=True):
        if new:
            entry = next(cut)
            made.put(pub, article, entry)
        assert entry is not None  # not new: kept
        parts.append(entry)
    parts.append(document[end:])
    return b"".join(parts)


def _whole(
    fg: FeedGenerator, articles: Sequence[Article], add_entry: AddEntry, serialise: Serialise
) -> bytes:
    for article in articles:
        add_entry(fg, article)
    return serialise(fg)
