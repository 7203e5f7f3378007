"""Each article's serialised feed entry, made once per format and reused by every feed it is in.

An article sits in the main feed, its section's feed and several tag feeds: a cold build of
10,000 articles serialises ~2,850 entries per format for ~1,750 articles. The bytes of an
entry depend only on the article and the publication (never on the feed it lands in), so an
exporter keeps what it made, keyed by article id and checked by identity: an entry is reused
only for the very Article and Publication objects it was made from (frozen, so unchanged),
never for an equal-looking stand-in, such as a correction's entry (made afresh per feed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ..model import Article, Publication

Entry = TypeVar("Entry")


class EntryCache(Generic[Entry]):
    """What ``make`` returned for (pub, article), kept while both objects are the ones asked
    about. One per exporter instance, so it lives as long as the build's exporters (forked
    serialise workers each fill their own copy)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Publication, Article, Entry]] = {}

    def get(
        self, pub: Publication, article: Article, make: Callable[[Publication, Article], Entry]
    ) -> Entry:
        """The entry made for ``article`` in ``pub``, made now unless made before."""
        entry = self.find(pub, article)
        if entry is None:
            entry = make(pub, article)
            self._entries[article.id] = (pub, article, entry)
        return entry

    def find(self, pub: Publication, article: Article) -> Entry | None:
        """The entry made for ``article`` in ``pub``, or None if there is none yet."""
        known = self._entries.get(article.id)
        if known is not None and known[0] is pub and known[1] is article:
            return known[2]
        return None

    def put(self, pub: Publication, article: Article, entry: Entry) -> None:
        """Keep an entry made elsewhere (cut out of a whole feed's bytes, say)."""
        self._entries[article.id] = (pub, article, entry)
