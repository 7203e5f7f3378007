"""``syndicate validate``: every problem of a publication at once, before anything is published.

Beyond what a build refuses (config.toml, front matter, duplicate slugs), validate warns about
body images without alt text (readers of feeds and screen readers get nothing) and checks a
configured DKIM key the way sending will read it, so a key the send would refuse (missing,
unreadable, readable by group or others) is found now, not at send time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config, key_line
from ..content.articles import load_articles
from ..content.markdown import parse
from ..delivery.dkim import DkimError, signer_for
from ..delivery.settings import DkimSettings
from ..errors import ConfigError, ContentError, Problem
from ..model import Article
from .exporter_settings import configured_exporters
from .newsletter_checks import newsletter_warnings

if TYPE_CHECKING:
    from markdown_it.token import Token


def validate(config: Config) -> tuple[Problem, ...]:
    """Return the warnings; raise ContentError listing every problem (content and config)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    try:
        loaded = load_articles(config.content_dir, config.publication)
    except ContentError as exc:
        problems += [problem for problem in exc.problems if not problem.warning]
        warnings += [problem for problem in exc.problems if problem.warning]
    else:
        warnings += loaded.warnings
        for article in loaded.articles:
            warnings += body_image_warnings(article)
        warnings += newsletter_warnings(config, loaded.articles)
    problems += dkim_problems(config)
    try:
        configured_exporters(config)  # names in [feeds] exporters, [exporters.<name>] tables
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ContentError([*problems, *warnings])
    return tuple(warnings)


def body_image_warnings(article: Article) -> list[Problem]:
    """A warning per image in the body with no alt text, on the image's line of the file."""
    shown = _relative(article.source) if article.source else "?"
    return [
        Problem(
            shown,
            article.body_line + line if line is not None else None,
            f"image {src!r} in the body has no alt text; write ![what it shows]({src})",
            True,
        )
        for line, src in _images_without_alt(parse(article.body))
    ]


def _images_without_alt(tokens: Sequence[Token]) -> Iterator[tuple[int | None, str]]:
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = token.map[0] if token.map else None
        for child in token.children:
            if child.type == "image" and not child.content.strip():
                yield line, str(child.attrs.get("src", ""))


def dkim_problems(config: Config) -> list[Problem]:
    """The DKIM key checked as the sender will read it; no problem when signing is off."""
    try:
        signer_for(DkimSettings.from_config(config))
    except DkimError as exc:
        text = config.path.read_text(encoding="utf-8") if config.path.is_file() else ""
        line = key_line(text, ("email", "dkim", "key_file"))
        return [Problem(_relative(config.path), line, f"[email.dkim] key_file: {exc}")]
    return []


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
