"""A Hugo or Jekyll site folder -> one ImportedDocument per post, keeping URLs and feed ids.

Front matter (YAML or TOML) goes through the Markdown importer's key mapping; what only these
tools have is handled here: Jekyll's date and slug in ``_posts/YYYY-MM-DD-slug.md``, its
``published: false`` and ``_drafts/``, space-separated ``categories``; Hugo's page bundles
(``post/foo/index.md`` with its images, copied beside the imported article), ``publishDate``
and ``aliases`` (reported: syndicate serves no redirects).

Feed ids: a feed reader knows each old item by its id, so every article gets the old feed's:
Hugo's RSS template writes ``<guid>{{ .Permalink }}</guid>``, so ``id`` is the page's
permalink; jekyll-feed writes ``<id>{{ post.id | absolute_url }}</id>``, and Jekyll's
``post.id`` is the URL's folder plus the slug (``/2024/01/05/welcome``, no ``.html``). ``url``
is the old permalink either way, so links keep pointing where they did. Both need the site's
base URL (``baseURL`` in Hugo's config, ``url`` + ``baseurl`` in ``_config.yml``); without it
the ids and URLs are left to syndicate's defaults and a remark says so.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ..content import frontmatter
from ..content.limits import MAX_SOURCE_BYTES
from ..content.slugs import slugify
from ..content.when import parse_datetime
from ..errors import Problem
from .decode import decode
from .document import SourceError
from .markdown import parse_fields
from .migrated import Expanded, Migrated
from .permalinks import hugo_expand, hugo_pattern, jekyll_expand, jekyll_pattern
from .shortcodes import Rewritten, hugo_shortcodes, liquid_tags

_MARKDOWN = (".md", ".markdown", ".mdown", ".mkd")
_POST_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
_LOOSE_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:([+-]\d{2}):?(\d{2})|(Z))?$"
)
_HUGO_NAMES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml",
               "config.yml", "config.json")  # fmt: skip
# A config folder (config/_default/hugo.toml ...) is as common as a single file.
_HUGO_CONFIGS = (*_HUGO_NAMES, *(f"config/_default/{name}" for name in _HUGO_NAMES))
_DATE_KEYS = {"lastmod", "modified", "updated", "publish_at", "last_modified_at"}


@dataclass(frozen=True, slots=True)
class _Site:
    kind: str  # "hugo" or "jekyll"
    root: Path  # where the config is (or the folder given)
    content: Path  # Hugo: the content folder; Jekyll: the site root
    base: str  # absolute base URL without trailing slash, "" if unknown
    base_path: str  # Jekyll's baseurl ("/blog") or ""
    zone: tzinfo
    config: dict[str, Any]
    authors: dict[str, Any]  # Jekyll's _data/authors.yml: key -> { name, email, uri }


@dataclass(slots=True)
class _Page:
    path: Path
    data: dict[str, Any]
    body: str
    body_line: int
    slug: str
    date: datetime | None
    url_path: str  # the permalink's path ("/post/foo/")
    feed_id: str  # the old feed's id, absolute ("" without a base URL)
    draft: bool
    assets: tuple[tuple[Path, str], ...]
    notes: list[str]


def detect_site(folder: Path) -> str:
    """``jekyll`` or ``hugo`` for a site folder (its root, content folder or ``_posts``)."""
    for place in (folder, *list(folder.absolute().parents)[:3]):
        if any((place / name).is_file() for name in ("_config.yml", "_config.yaml")):
            return "jekyll"
        if any((place / name).is_file() for name in _HUGO_CONFIGS):
            return "hugo"
    if folder.name in ("_posts", "_drafts") or (folder / "_posts").is_dir():
        return "jekyll"
    return "hugo"


def import_site(folder: Path, kind: str, zone: tzinfo) -> Expanded:
    """Every post of the site in ``folder`` as a Migrated; unreadable files are problems."""
    site = _hugo_site(folder, zone) if kind == "hugo" else _jekyll_site(folder, zone)
    remarks: list[str] = []
    if not site.base:
        where = "baseURL in the Hugo config" if kind == "hugo" else "url in _config.yml"
        remarks.append(
            f"{folder}: no {where} found: ids and URLs are syndicate's defaults, so feed "
            "readers will show the old posts as new; set id/url by hand or add the base URL"
        )
    pages: list[_Page] = []
    problems: list[Problem] = []
    skipped = 0
    for path in _files(site):
        if path.stem == "_index" or path.name.startswith("_index."):
            skipped += 1  # a Hugo list page: its feed items are its pages, imported on their own
            continue
        try:
            pages.append(_read(site, path))
        except SourceError as exc:
            problems.append(Problem(path, None, str(exc)))
    if skipped:
        remarks.append(f"{folder}: {skipped} Hugo list page(s) (_index.md) skipped: not articles")
    resolve = _resolver(site, pages)
    items: list[Migrated] = []
    for page in pages:
        try:
            items.append(_migrated(site, page, resolve))
        except SourceError as exc:
            problems.append(Problem(page.path, None, str(exc)))
    return Expanded(tuple(items), tuple(problems), tuple(remarks))


def _files(site: _Site) -> Iterator[Path]:
    """Markdown files of the site, sorted; Jekyll: only ``_posts`` and ``_drafts``."""
    for folder, dirs, files in os.walk(site.content):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _keep_dir(site, here, d))
        if site.kind == "jekyll" and not {"_posts", "_drafts"} & set(here.parts):
            continue
        yield from (here / name for name in sorted(files) if name.lower().endswith(_MARKDOWN))


def _keep_dir(site: _Site, here: Path, name: str) -> bool:
    if site.kind == "hugo":
        return True
    return name in ("_posts", "_drafts") or (not name.startswith("_") and name != "node_modules")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read the site's config: {exc}") from None
    return (
        {str(key).lower(): value for key, value in data.items()} if isinstance(data, dict) else {}
    )


def _zone(value: Any, fallback: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(value) if isinstance(value, str) and value else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _find_config(folder: Path, names: tuple[str, ...]) -> Path | None:
    for place in (folder.absolute(), *list(folder.absolute().parents)[:3]):
        for name in names:
            if (place / name).is_file():
                return place / name
    return None


def _hugo_site(folder: Path, zone: tzinfo) -> _Site:
    config_path = _find_config(folder, _HUGO_CONFIGS)
    config = _read_config(config_path) if config_path else {}
    root = config_path.parent if config_path else folder.absolute()
    if config_path and root.name == "_default" and root.parent.name == "config":
        for name in ("permalinks.toml", "permalinks.yaml", "permalinks.yml"):
            if "permalinks" not in config and (root / name).is_file():
                config["permalinks"] = _read_config(root / name)
        root = root.parent.parent
    content = folder.absolute()
    if (content / "content").is_dir():
        content = content / "content"
    elif config_path and (root / "content").is_dir() and content == root:
        content = root / "content"
    base = str(config.get("baseurl") or "").rstrip("/")
    return _Site("hugo", root, content, base, "", _zone(config.get("timezone"), zone), config, {})


def _jekyll_site(folder: Path, zone: tzinfo) -> _Site:
    config_path = _find_config(folder, ("_config.yml", "_config.yaml"))
    config = _read_config(config_path) if config_path else {}
    root = config_path.parent if config_path else folder.absolute()
    if folder.name in ("_posts", "_drafts") and not config_path:
        root = folder.absolute().parent
    base_path = "/" + str(config.get("baseurl") or "").strip("/") if config.get("baseurl") else ""
    url = str(config.get("url") or "").rstrip("/")
    base = url + base_path if url else ""
    authors: dict[str, Any] = {}
    for name in ("authors.yml", "authors.yaml", "authors.json"):
        if (root / "_data" / name).is_file():
            authors = _read_config(root / "_data" / name)
            break
    zone = _zone(config.get("timezone"), zone)
    return _Site("jekyll", root, root, base, base_path, zone, config, authors)


def _read(site: _Site, path: Path) -> _Page:
    """A post's front matter and body, and where it was published (pass one)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(f"file is {len(data):,} bytes, over the import limit")
    text = decode(data, html=False).text.replace("\r\n", "\n")
    notes: list[str] = []
    if text.lstrip("\ufeff").split("\n", 1)[0].strip() in ("---", "+++"):
        try:
            split = frontmatter.split(text)
        except frontmatter.FrontMatterSyntaxError as exc:
            raise SourceError(f"line {exc.line}: {exc}" if exc.line else str(exc)) from None
        fields, body, body_line = dict(split.data), split.body, split.body_line
    else:
        fields, body, body_line = {}, text, 1
    if site.kind == "hugo":
        return _hugo_page(site, path, fields, body, body_line, notes)
    return _jekyll_page(site, path, fields, body, body_line, notes)


def _moment(value: Any, zone: tzinfo) -> datetime | None:
    """A front-matter date as Hugo and Jekyll accept it (``2024-01-05 10:00:00 +0100`` too)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        loose = _LOOSE_DATE.match(value.strip())
        if loose:
            day, clock, hours, minutes, zulu = loose.groups()
            offset = "+00:00" if zulu else (f"{hours}:{minutes}" if hours else "")
            value = f"{day}T{clock}{offset}"
    if not isinstance(value, str | date):
        return None
    try:
        return parse_datetime(value, zone)
    except ValueError:
        return None


def _hugo_page(
    site: _Site, path: Path, data: dict[str, Any], body: str, body_line: int, notes: list[str]
) -> _Page:
    rel = PurePosixPath(path.relative_to(site.content).as_posix())
    bundle = path.stem == "index"
    parts = rel.parent.parts if bundle else (*rel.parent.parts, rel.stem)
    filename = parts[-1] if parts else rel.stem
    lowered = {str(key).lower(): key for key in data}
    slug = str(data.get(lowered.get("slug", ""), "") or "").strip() or filename
    date = _moment(data.get(lowered.get("date", "")), site.zone)
    for key in ("publishdate", "pubdate"):
        if key in lowered:
            moment = data.pop(lowered[key])
            if date is None:
                date = _moment(moment, site.zone)
            else:
                data.setdefault("publish_at", moment)
    aliases = data.pop(lowered["aliases"], None) if "aliases" in lowered else None
    if aliases:
        shown = ", ".join(
            str(alias) for alias in (aliases if isinstance(aliases, list) else [aliases])
        )
        notes.append(f"aliases not carried over (syndicate serves no redirects): {shown}")
    if "images" in lowered and "image" not in lowered:
        images = data.pop(lowered["images"])
        if isinstance(images, list) and images and isinstance(images[0], str):
            data["image"] = images[0]
    explicit = data.pop(lowered["url"], None) if "url" in lowered else None
    section = parts[0] if len(parts) > 1 else ""
    title = str(data.get(lowered.get("title", ""), "") or "")
    if isinstance(explicit, str) and explicit.strip():
        url_path = "/" + explicit.strip().lstrip("/")
    else:
        pattern = hugo_pattern(site.config, section)
        if pattern:
            url_path = hugo_expand(pattern, date, slug, filename, section, parts, title)
        else:
            url_path = "/" + "/".join([*parts[:-1], slug]) + "/"
        if not _truthy(site.config.get("disablepathtolower")):
            url_path = url_path.lower()
    draft = _truthy(data.pop(lowered["draft"], False)) if "draft" in lowered else False
    if date is None:
        notes.append("no date in the front matter: the file's mtime is used")
    feed_id = site.base + url_path if site.base else ""
    assets = _bundle_assets(path.parent) if bundle else ()
    return _Page(path, data, body, body_line, slug, date, url_path, feed_id, draft, assets, notes)


def _bundle_assets(folder: Path) -> tuple[tuple[Path, str], ...]:
    """A leaf bundle's resources (images and other files, not Markdown) by relative path."""
    found: list[tuple[Path, str]] = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(here) / name
            # A symbolic link could lead anywhere (/etc/passwd): only real files are copied.
            if name.startswith(".") or path.suffix.lower() in _MARKDOWN or path.is_symlink():
                continue
            found.append((path, path.relative_to(folder).as_posix()))
    return tuple(found)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _jekyll_page(
    site: _Site, path: Path, data: dict[str, Any], body: str, body_line: int, notes: list[str]
) -> _Page:
    rel = path.relative_to(site.content)
    in_drafts = "_drafts" in rel.parts
    named = _POST_NAME.match(path.stem)
    stem = named.group(2) if named else path.stem
    slug = str(data.get("slug") or "").strip() or stem
    date = _moment(data.get("date"), site.zone)
    if date is None and named:
        date = _moment(named.group(1), site.zone)
        data["date"] = date
    elif date is None:
        notes.append("no date in the file name or front matter: the file's mtime is used")
    for key in ("categories", "tags"):
        if isinstance(data.get(key), str):
            data[key] = data[key].split()
    # jekyll-feed names an author by a key of _data/authors.yml; so does the post.
    known = site.authors.get(str(data.get("author", "")).lower())
    if isinstance(known, dict) and isinstance(known.get("name"), str):
        data["author"] = {
            "name": known["name"],
            **{key: str(known[key]) for key in ("email",) if known.get(key)},
            **({"url": str(known["uri"])} if known.get("uri") else {}),
        }
    folder_categories = [part for part in rel.parts[:-1] if part not in ("_posts", "_drafts")]
    categories = [
        *folder_categories,
        *_strings(data.get("category")),
        *_strings(data.get("categories")),
    ]
    if "last_modified_at" in data:
        data.setdefault("updated", data.pop("last_modified_at"))
    unpublished = data.pop("published", True) is False
    if unpublished:
        notes.append("published: false: imported as a draft")
    draft = in_drafts or unpublished
    permalink = data.pop("permalink", None)
    pattern = permalink if isinstance(permalink, str) and permalink else jekyll_pattern(site.config)
    local = date.astimezone(site.zone) if date else None  # Jekyll dates URLs in site time
    url_path = jekyll_expand(pattern, local, slug, categories)
    # Jekyll's Document#id: File.dirname(url) + "/" + slug (Ruby's dirname ignores a final /).
    post_id = PurePosixPath(url_path.rstrip("/") or "/").parent.as_posix().rstrip("/") + "/" + slug
    feed_id = site.base + post_id if site.base else ""
    url_path = site.base_path + url_path
    return _Page(path, data, body, body_line, slug, date, url_path, feed_id, draft, (), notes)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def _resolver(site: _Site, pages: list[_Page]) -> Any:
    """A reference (Hugo ``ref``, Jekyll ``post_url``/``link``) -> the page's permalink."""
    table: dict[str, str] = {}
    for page in pages:
        address = _address(site, page)
        rel = page.path.relative_to(site.content).as_posix()
        keys = {rel, rel.removeprefix("_posts/"), page.slug}
        if page.path.stem == "index":  # a Hugo bundle is referred to by its folder
            keys.add(page.path.parent.relative_to(site.content).as_posix())
        else:
            keys.add(page.path.stem)
        keys |= {key.rsplit(".", 1)[0] for key in list(keys)}
        for key in keys:
            table.setdefault(key.strip("/"), address)

    def resolve(reference: str) -> str | None:
        key = reference.strip().strip("\"'").split("#", 1)[0].strip("/")
        return table.get(key) or table.get(key.rsplit(".", 1)[0])

    return resolve


def _address(site: _Site, page: _Page) -> str:
    """The page's old permalink: absolute with a base URL, else its path."""
    if not site.base:
        return page.url_path
    if site.kind == "jekyll":  # url_path holds the baseurl already
        return site.base.removesuffix(site.base_path) + page.url_path
    return site.base + page.url_path


def _migrated(site: _Site, page: _Page, resolve: Any) -> Migrated:
    """Pass two: rewrite shortcodes/Liquid, map the keys, set slug, dates, url and id."""
    if site.kind == "hugo":
        rewritten: Rewritten = hugo_shortcodes(
            page.body, first_line=page.body_line, resolve=resolve
        )
    else:
        origin = site.base.removesuffix(site.base_path)
        rewritten = liquid_tags(
            page.body,
            first_line=page.body_line,
            resolve=resolve,
            site_url=origin,
            base_path=site.base_path,
        )
    data = dict(page.data)
    for key in [k for k in data if str(k).lower() in ("slug", "date", "draft")]:
        data.pop(key)
    for key in [k for k in data if str(k).lower() in _DATE_KEYS and isinstance(data[k], str)]:
        data[key] = _moment(data[key], site.zone) or data[key]
    body = re.sub(r"\n{3,}", "\n\n", rewritten.body)
    doc = parse_fields(data, body, site.zone)
    address = _address(site, page) if site.base else ""
    doc = replace(
        doc,
        slug=doc.slug or slugify(page.slug) or page.slug,
        date=page.date or doc.date,
        draft=page.draft,
        # A draft was never in the old feed nor on the site: it has no old id or address.
        id=doc.id or ("" if page.draft else page.feed_id),
        url=doc.url or ("" if page.draft else address),
        notes=(*page.notes, *rewritten.notes, *doc.notes),
    )
    mtime = page.path.stat().st_mtime
    return Migrated(source=page.path, doc=doc, fmt=site.kind, mtime=mtime, assets=page.assets)
