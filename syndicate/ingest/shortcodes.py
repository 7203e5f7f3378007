"""Hugo shortcodes and Jekyll Liquid tags in a Markdown body -> plain Markdown, with a report.

Neither survives into syndicate as it is: a feed reader would show ``{{< youtube abc >}}``
verbatim. The common ones are rewritten to their Markdown meaning (``figure`` -> an image and
its caption, ``highlight`` -> a fenced code block, ``youtube``/``vimeo``/``tweet``/``gist``
-> a link, ``ref``/``relref``/``post_url``/``link`` -> the other article's address,
``site.baseurl`` and the ``relative_url``/``absolute_url`` filters -> the old site's address).
Every other one is removed — a paired shortcode keeps the text between its tags — and each
removal is a note naming the file line, so nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

Resolver = Callable[[str], str | None]  # a reference to another page -> its URL, or None

_HUGO = re.compile(r"\{\{([<%])\s*(/?)\s*([\w.-]+)(.*?)\s*[>%]\}\}", re.DOTALL)
_ARG = re.compile(r'(?:([\w-]+)=)?(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+))')
_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.DOTALL)
_LIQUID_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_LIQUID_HIGHLIGHT = re.compile(
    r"\{%-?\s*highlight\s+([\w+#.-]+)[^%]*-?%\}\n?(.*?)\n?\{%-?\s*endhighlight\s*-?%\}", re.DOTALL
)
_LIQUID_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}", re.DOTALL)
_LIQUID_OUTPUT = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_URL_FILTER = re.compile(r"""^(["'])(.*?)\1\s*\|\s*(relative_url|absolute_url)$""")
_PLACEHOLDER = "\x00raw{}\x00"


@dataclass(slots=True)
class Rewritten:
    """A body with its shortcodes or Liquid tags rewritten, and a note per one dropped."""

    body: str
    notes: list[str] = field(default_factory=list)


def hugo_shortcodes(body: str, *, first_line: int, resolve: Resolver) -> Rewritten:
    """Rewrite Hugo shortcodes; ``first_line`` is the file line the body starts on."""
    out = Rewritten(body)
    out.body = _highlight_blocks(body)
    parts: list[str] = []
    end = 0
    for match in _HUGO.finditer(out.body):
        parts.append(out.body[end : match.start()])
        end = match.end()
        line = first_line + out.body.count("\n", 0, match.start())
        closing, name, args = match.group(2) == "/", match.group(3), _args(match.group(4))
        if closing:
            continue  # the opening tag was reported; the text between them is kept
        replacement = _hugo_one(name, args, resolve)
        if replacement is None:
            out.notes.append(
                f"line {line}: shortcode {{{{{match.group(1)} {name} ...}}}} removed: "
                "syndicate has no equivalent (the text inside a paired one is kept)"
            )
            continue
        parts.append(replacement)
    parts.append(out.body[end:])
    out.body = "".join(parts)
    return out


def _highlight_blocks(body: str) -> str:
    """``{{< highlight go >}}...{{< /highlight >}}`` -> a fenced code block."""
    pattern = re.compile(
        r"\{\{[<%]\s*highlight\s+([\w+#.-]+)[^}]*[>%]\}\}\n?(.*?)\n?\{\{[<%]\s*/highlight\s*[>%]\}\}",
        re.DOTALL,
    )
    return pattern.sub(lambda m: f"```{m.group(1)}\n{m.group(2)}\n```", body)


def _args(text: str) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    named: dict[str, str] = {}
    for match in _ARG.finditer(text):
        value = next((g for g in match.groups()[1:] if g is not None), "")
        if match.group(1):
            named[match.group(1).lower()] = value
        elif value:
            positional.append(value)
    return positional, named


def _hugo_one(name: str, args: tuple[list[str], dict[str, str]], resolve: Resolver) -> str | None:
    positional, named = args
    first = positional[0] if positional else ""
    lowered = name.lower()
    if lowered == "figure":
        src = named.get("src", first)
        if not src:
            return None
        alt = named.get("alt", "") or named.get("title", "")
        image = f"![{_bracketed(alt)}]({src})"
        caption = named.get("caption", "") or named.get("title", "")
        if named.get("link"):
            image = f"[{image}]({named['link']})"
        return f"{image}\n\n*{caption.strip()}*" if caption.strip() else image
    if lowered in ("ref", "relref"):
        target = resolve(named.get("path", first))
        return target
    links = {
        "youtube": "https://www.youtube.com/watch?v={}",
        "vimeo": "https://vimeo.com/{}",
        "instagram": "https://www.instagram.com/p/{}/",
    }
    if lowered in links:
        video = named.get("id", first)
        return f"<{links[lowered].format(video)}>" if video else None
    if lowered in ("tweet", "x", "twitter"):
        user, status = named.get("user", ""), named.get("id", positional[-1] if positional else "")
        if not status:
            return None
        return (
            f"<https://x.com/{user}/status/{status}>"
            if user
            else (f"<https://twitter.com/i/status/{status}>")
        )
    if lowered == "gist" and len(positional) >= 2:
        return f"<https://gist.github.com/{positional[0]}/{positional[1]}>"
    return None


def _bracketed(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def liquid_tags(
    body: str, *, first_line: int, resolve: Resolver, site_url: str, base_path: str
) -> Rewritten:
    """Rewrite Jekyll's Liquid; ``site_url`` and ``base_path`` are ``url`` and ``baseurl``."""
    out = Rewritten(body)
    raw: list[str] = []

    def keep_raw(match: re.Match[str]) -> str:
        raw.append(match.group(1))
        return _PLACEHOLDER.format(len(raw) - 1)

    text = _RAW.sub(keep_raw, body)
    text = _LIQUID_HIGHLIGHT.sub(lambda m: f"```{m.group(1)}\n{m.group(2)}\n```", text)

    def line_of(match: re.Match[str]) -> int:
        return first_line + text.count("\n", 0, match.start())

    def comment(match: re.Match[str]) -> str:
        out.notes.append(f"line {line_of(match)}: Liquid comment removed")
        return ""

    def tag(match: re.Match[str]) -> str:
        name, rest = match.group(1), match.group(2).strip()
        if name in ("post_url", "link"):
            target = resolve(rest.strip("\"' "))
            if target is not None:
                return target
            if name == "link":
                return f"{base_path}/{rest.strip(chr(34) + chr(39) + ' /')}"
        out.notes.append(
            f"line {line_of(match)}: Liquid tag {{% {name} %}} removed: syndicate has no equivalent"
        )
        return ""

    def output(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "site.baseurl":
            return base_path
        if expression == "site.url":
            return site_url
        url = _URL_FILTER.match(expression)
        if url:
            path = base_path + "/" + url.group(2).lstrip("/")
            return site_url + path if url.group(3) == "absolute_url" else path
        out.notes.append(
            f"line {line_of(match)}: Liquid output {{{{ {expression} }}}} removed: "
            "syndicate does not run templates in articles"
        )
        return ""

    text = _LIQUID_COMMENT.sub(comment, text)
    text = _LIQUID_TAG.sub(tag, text)
    text = _LIQUID_OUTPUT.sub(output, text)
    for index, kept in enumerate(raw):
        text = text.replace(_PLACEHOLDER.format(index), kept)
    out.body = text
    return out
