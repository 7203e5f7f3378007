"""Limits on untrusted input, so that no content file can make a build's work or output explode.

One article with 10,000 tags once wrote 9.3 GB of feeds (each tag feed repeats every category),
and front matter nested thousands of levels deep overflowed the parsers' recursion. These
numbers are far above anything a newsroom writes and far below what hurts; the README's
"Limits" section lists them, and every one is reported as ``path:line: key: message``.
"""

from __future__ import annotations

import os

MAX_FILE_BYTES = 1_000_000
"""A content file (front matter and body): ~150,000 words, a long book chapter."""

MAX_SOURCE_BYTES = 20_000_000
"""A source of ``syndicate import`` (a saved web page may carry inline images)."""

MAX_TAGS = 100
"""Tags per article: every tag is a feed of its own that repeats the article's categories."""

MAX_AUTHORS = 100
"""Authors per article (``author`` and ``authors`` together)."""

MAX_TITLE_CHARS = 500
"""Characters in a title (feed readers and mail clients show one line of it)."""

MAX_CORRECTIONS = 50
"""Correction notes per article (each is a feed entry of the corrections feed)."""

MAX_CORRECTION_CHARS = 2_000
"""Characters in one correction note: a paragraph, not an article."""

MAX_NAME_CHARS = 80
"""Characters in one tag or section: each becomes a folder name, which filesystems cap at
255 bytes (80 characters of any script fit)."""

MAX_DEPTH = 10
"""Levels of nesting in front matter (a table in a list in a table ...): ours use two."""


def escapes(root: str, path: str) -> str | None:
    """Where a symbolic link at ``path`` leads when that is outside ``root``, else None.

    A content file linked in from elsewhere (``content/x.md -> /etc/passwd`` or another
    checkout's drafts) would publish a file nobody put into the content folder; links inside
    it are fine. ``root`` is the content folder as given, ``path`` a file found under it.
    """
    target = os.path.realpath(path)
    inside = os.path.realpath(root)
    if os.path.commonpath([inside, target]) == inside:
        return None
    return target


OUTSIDE_LINK = "a symbolic link to {target}, outside the content folder: copy the file in instead"
