"""Site boilerplate that copy-pasted articles drag along, recognised so it can be dropped.

Only the *end* of an article is searched (plus stray "Advertisement" lines anywhere): the
same words in the middle of a story are the story. Every dropped line is returned to the
caller, which reports it, so an editor can see exactly what was removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A line that is entirely site furniture. Matched against the whole stripped line.
_FURNITURE = re.compile(
    r"""^(?:
        you\ (?:may|might)\ also\ (?:like|enjoy)
      | (?:related|recommended|more|popular|trending|latest|top)
        \ (?:articles?|stories|story|posts?|reading|news|reads?|content|from\ .+|on\ .+)
      | recommended(?:\ for\ you)? | most\ (?:read|popular|viewed|shared)
      | read\ (?:more|next|also)\b.* | see\ also\b.* | continue\ reading\b.*
      | leave\ a\ (?:comment|reply)\b.* | (?:post|add|write)\ a\ comment\b.*
      | (?:show|view|load|read)\ (?:all\ )?comments?\b.*
      | (?:\d+\ )?comments?(?:\ \(\d+\))?:? | join\ the\ (?:discussion|conversation)\b.*
      | share(?:\ (?:this|on|via|the|article|story|post)\b.*)?:? | share\ this\ (?:article|story):?
      | (?:tweet|email|print)(?:\ this)?(?:\ (?:article|story|page))?
      | (?:subscribe|sign\ up|join|register)\b.*(?:newsletter|updates|inbox|free|today|now|list)\b.*
      | subscribe | follow\ us\b.* | like\ us\ on\b.*
      | want\ to\ (?:learn|read|know|see|find\ out)\ more\?.*
      | (?:click|tap)\ here\b.* | (?:tags?|topics?|filed\ under|categories|posted\ in):.*
      | advertisement | sponsored(?:\ content)? | ad | skip\ (?:ad|advert)
      | (?:©|\(c\)|copyright\b).* | all\ rights\ reserved\.?
      | (?:back\ to\ top|top\ of\ page|previous\ article|next\ article)
      | was\ this\ (?:article|page)\ helpful\?.*
    )[.!]?$""",
    re.IGNORECASE | re.VERBOSE,
)

# Lines that head a list of links to other stories: the short lines under them go too.
_TEASER_HEAD = re.compile(
    r"^(?:you\ (?:may|might)\ also\ (?:like|enjoy)|(?:related|recommended|more|popular|"
    r"trending|latest|top)\ (?:articles?|stories|story|posts?|reading|news|reads?|from\ .+)"
    r"|recommended(?:\ for\ you)?|most\ (?:read|popular|viewed|shared)|read\ (?:next|also)"
    r"|see\ also)\s*:?$",
    re.IGNORECASE | re.VERBOSE,
)

# The head of a comment section: everything below it is readers' text, not the article's.
_COMMENTS_HEAD = re.compile(
    r"^(?:(?:\d+\s+)?(?:reader\s+|user\s+)?comments?(?:\s*\(\d+\))?|leave\s+a\s+(?:comment|reply)"
    r"|join\s+the\s+(?:discussion|conversation)|(?:post|add|write)\s+a\s+comment"
    r"|(?:show|view|read)\s+(?:all\s+)?\d*\s*comments?)\s*:?$",
    re.IGNORECASE,
)

_ADVERTISEMENT = re.compile(r"^(?:advertisement|sponsored content|ad)$", re.IGNORECASE)
TEASER_MAX = 120


def is_furniture(line: str) -> bool:
    """True for a whole line of site furniture: share/subscribe prompts, comment counts ..."""
    return bool(_FURNITURE.match(line.strip().strip("•*-\u2013—|·").strip()))


def is_advertisement(line: str) -> bool:
    """A stray ad marker, dropped wherever it stands."""
    return bool(_ADVERTISEMENT.match(line.strip()))


def trailing_start(units: Sequence[str]) -> int:
    """Index of the first unit of the trailing boilerplate (``len(units)`` if there is none).

    Units are lines or blocks, last one last; empty units are skipped. A comment-section
    head ("Comments (12)", "Leave a reply") in the second half ends the article: it and
    everything below it go. Walking back from there, furniture lines are dropped; short
    lines (story teasers) are dropped only when a "You may also like"-style head stands
    above them, so a short closing line of the article itself survives.
    """
    heads = [
        index
        for index, unit in enumerate(units)
        if index >= len(units) // 2 and _COMMENTS_HEAD.match(unit.strip())
    ]
    cut = heads[0] if heads else len(units)
    teasers_pending = False
    for index in range(cut - 1, -1, -1):
        text = units[index].strip()
        if not text:
            continue
        if is_furniture(text):
            if teasers_pending and not _TEASER_HEAD.match(text):
                break
            cut = index
            teasers_pending = False
        elif len(text) <= TEASER_MAX and "\n" not in text and not text.endswith((".", ":")):
            teasers_pending = True
        else:
            break
    return cut
