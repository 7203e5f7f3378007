"""Write a deterministic synthetic newsroom corpus: ``python bench/make_corpus.py N DIR``.

Each article is ~1,100 words in our TOML (``+++``) front-matter format (``--yaml``: the same
articles with YAML ``---`` front matter shaped like a Hugo or Jekyll site's), with headings, lists,
links, images with alt text, callouts, an FAQ, non-ASCII text, 1-4 of 50 tags (Zipf-like, so
rare tags reach deep into the archive as real newsroom tags do), one of 6 sections and a date
spread over several years. The same N and seed always give the same bytes; DIR also gets a
``config.toml`` so ``syndicate --config DIR/config.toml build`` works at once.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

SECTIONS = ("World", "Politics", "Business", "Science", "Culture", "Sport")
TAGS = (
    "Climate",
    "Elections",
    "Économie",
    "Health",
    "Technology",
    "Energy",
    "Migration",
    "Courts",
    "Education",
    "Housing",
    "Transport",
    "Agriculture",
    "Défense",
    "Diplomacy",
    "Trade",
    "Labour",
    "Banking",
    "Startups",
    "Space",
    "AI",
    "Privacy",
    "Media",
    "Film",
    "Music",
    "Literature",
    "Theatre",
    "Football",
    "Tennis",
    "Cycling",
    "Olympics",
    "Europe",
    "Africa",
    "Asia",
    "Latin America",
    "Middle East",
    "München",
    "São Paulo",
    "Tōkyō",
    "Kraków",
    "Zürich",
    "Oceans",
    "Wildlife",
    "Water",
    "Cities",
    "Crime",
    "Religion",
    "Science Policy",
    "Public Finance",
    "Weather",
    "Obituaries",
)
WORDS = (
    "government minister council report analysis market growth policy city region people "
    "budget vote plan court ruling data study team season match result crisis talks "
    "agreement year week official spokesperson community school hospital energy price "
    "supply demand inflation rate bank election campaign party leader opposition reform "
    "research scientist climate emissions water river coast village harvest workers union "
    "strike contract investment company start-up founder product launch festival film "
    "director audience museum exhibition gallery novel author stage concert orchestra "
    "café naïve façade déjà-vu Ærø Straße smørrebrød piñata jalapeño über coöperation "
    "Zürich Kraków São Paulo Tōkyō Δελφοί Москва 東京 北京 ☀ résumé fiancée crème brûlée"
).split()
AUTHORS = (
    "Ana Souza",
    "Jürgen Weiß",
    "Chloé Martin",
    "Kwame Mensah",
    "Priya Natarajan",
    "Søren Kierkegaard",
    "Li Wei",
    "María José Peña",
    "Oleksandr Kovalenko",
    "Fatima Zahra",
)
CALLOUTS = ("TIP", "NOTE", "INFO", "WARNING", "IMPORTANT")
START = datetime(2016, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365 * 9)

CONFIG = """\
[publication]
title = "The Benchmark Gazette"
base_url = "https://gazette.example"
language = "en"
timezone = "Europe/Berlin"
description = "A synthetic newsroom archive for benchmarks."
author = {{ name = "Desk", email = "desk@gazette.example" }}

[content]
dir = "content"

[feeds]
out = "feeds"
max_items = {max_items}

[state]
db = "state/syndicate.db"
"""


def sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    """One sentence of vocabulary words, capitalised and full-stopped."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def paragraph(rng: random.Random, sentences: int, number: int) -> str:
    """A paragraph with the odd inline link, emphasis and code span."""
    parts = [sentence(rng) for _ in range(sentences)]
    roll = rng.random()
    if roll < 0.35:
        parts.insert(
            1, f"See [the {rng.choice(WORDS)} report](/reports/{number}-{rng.randint(1, 999)}/)."
        )
    elif roll < 0.5:
        parts.insert(1, f"Officials called it *{rng.choice(WORDS)}* and **{rng.choice(WORDS)}**.")
    elif roll < 0.6:
        parts.append(f"Read more at <https://archive.example/{rng.randint(1, 99999)}>.")
    return " ".join(parts)


def tags_for(rng: random.Random) -> list[str]:
    """1-4 distinct tags, weighted Zipf-like so a few tags are common and many are rare."""
    weights = [1 / (rank + 1) for rank in range(len(TAGS))]
    chosen: list[str] = []
    for _ in range(rng.randint(1, 4)):
        tag = rng.choices(TAGS, weights)[0]
        if tag not in chosen:
            chosen.append(tag)
    return chosen


def toml_string(text: str) -> str:
    """A TOML basic string (our vocabulary holds no quotes or backslashes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def body(rng: random.Random, number: int) -> str:
    """~1,100 words of Markdown: paragraphs, headings, a list, images, a callout, an FAQ."""
    blocks = [paragraph(rng, 4, number)]
    for section_number in range(5):
        blocks.append(f"## {sentence(rng, 3, 6).rstrip('.')}")
        blocks.extend(paragraph(rng, rng.randint(4, 6), number) for _ in range(2))
        if section_number == 1:
            blocks.append("\n".join(f"- {sentence(rng, 5, 10)}" for _ in range(rng.randint(3, 5))))
        if section_number == 2:
            blocks.append(
                f"![{sentence(rng, 4, 8).rstrip('.')}](/images/{number}-{section_number}.jpg)"
            )
        if section_number == 3:
            kind = rng.choice(CALLOUTS)
            blocks.append(
                f"> [!{kind}] {sentence(rng, 2, 4).rstrip('.')}\n> {sentence(rng)} {sentence(rng)}"
            )
        if section_number == 4:
            blocks.append("1. " + sentence(rng) + "\n2. " + sentence(rng) + "\n3. " + sentence(rng))
    pairs = "\n".join(
        f"Q: {sentence(rng, 5, 9).rstrip('.')}?\nA: {sentence(rng)} {sentence(rng)}"
        for _ in range(3)
    )
    blocks.append(f"::: faq\n{pairs}\n:::")
    blocks.append(paragraph(rng, 3, number))
    return "\n\n".join(blocks) + "\n"


def article(rng: random.Random, number: int, *, yaml: bool = False) -> tuple[str, str, str]:
    """(section slug, file name, file text) of article ``number``: TOML front matter, or with
    ``yaml`` the same fields as YAML (the random draws are the same either way)."""
    section = rng.choice(SECTIONS)
    moment = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
    title = sentence(rng, 4, 9).rstrip(".")
    slug = f"{number:06d}-" + "-".join(
        "".join(c for c in word.lower() if c.isascii() and c.isalnum()) or "x"
        for word in title.split()[:5]
    )
    fields: list[tuple[str, object]] = [
        ("title", title),
        ("date", moment),
        ("authors", [rng.choice(AUTHORS)]),
        ("tags", tags_for(rng)),
        ("section", section),
    ]
    if rng.random() < 0.7:
        fields.append(("summary", sentence(rng, 15, 30)))
    if rng.random() < 0.15:
        fields.append(("dek", sentence(rng, 6, 12)))
    if rng.random() < 0.6:
        fields.append(("image", f"/images/lead-{number}.jpg"))
        if rng.random() < 0.99:  # the odd missing alt text, as in any real archive
            fields.append(("image_alt", sentence(rng, 4, 8).rstrip(".")))
    if rng.random() < 0.2:
        fields.append(("updated", moment + timedelta(hours=rng.randint(1, 72))))
    front = yaml_front(fields, number) if yaml else toml_front(fields)
    text = front + "\n" + body(rng, number)
    return section.lower(), f"{moment.strftime('%Y-%m-%d')}-{slug}.md", text


def toml_front(fields: list[tuple[str, object]]) -> str:
    """Our own ``+++`` front matter: one ``key = value`` line per field."""
    lines = []
    for key, value in fields:
        if isinstance(value, datetime):
            lines.append(f"{key} = {value.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(toml_string(item) for item in value)}]")
        elif key == "image":
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {toml_string(str(value))}")
    return "+++\n" + "\n".join(lines) + "\n+++\n"


# Offsets a Hugo or Jekyll archive's dates are written with (the instant stays the same).
OFFSETS = (timedelta(0), timedelta(hours=1), timedelta(hours=2), timedelta(hours=-5))


def yaml_front(fields: list[tuple[str, object]], number: int) -> str:
    """The same fields as ``---`` YAML front matter shaped like a Hugo or Jekyll site's: a
    quoted title (Hugo's archetype writes one), dates with a UTC offset, ``draft: false``,
    lists in block style (tags of every other article in flow style), plain strings."""
    lines = []
    offset = timezone(OFFSETS[number % len(OFFSETS)])
    for key, value in fields:
        if key == "title":
            lines.append(f"title: {yaml_string(str(value))}")
        elif isinstance(value, datetime):
            lines.append(f"{key}: {value.astimezone(offset).isoformat()}")
            if key == "date":
                lines.append("draft: false")
        elif isinstance(value, list) and key == "tags" and number % 2:
            lines.append(f"{key}: [{', '.join(str(item) for item in value)}]")
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  - {item}" for item in value)
        else:
            lines.append(f"{key}: {value}")
    return "---\n" + "\n".join(lines) + "\n---\n"


def yaml_string(text: str) -> str:
    """A double-quoted YAML string (our vocabulary holds no quotes or backslashes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_corpus(
    count: int, directory: Path, *, seed: int = 1100, max_items: int = 50, yaml: bool = False
) -> int:
    """Write ``count`` articles under directory/content plus directory/config.toml; with
    ``yaml`` the same articles carry YAML front matter instead of TOML."""
    rng = random.Random(seed)
    content = directory / "content"
    for section in SECTIONS:
        (content / section.lower()).mkdir(parents=True, exist_ok=True)
    words = 0
    for number in range(count):
        section, name, text = article(rng, number, yaml=yaml)
        (content / section / name).write_text(text, encoding="utf-8")
        words += len(text.split())
    (directory / "config.toml").write_text(CONFIG.format(max_items=max_items), encoding="utf-8")
    return words // max(count, 1)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: N DIR [--seed S]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of articles")
    parser.add_argument("directory", type=Path, help="where to write content/ and config.toml")
    parser.add_argument("--seed", type=int, default=1100, help="random seed (default 1100)")
    parser.add_argument(
        "--yaml", action="store_true", help="YAML (---) front matter, as Hugo and Jekyll sites"
    )
    args = parser.parse_args(argv)
    average = make_corpus(args.count, args.directory, seed=args.seed, yaml=args.yaml)
    print(f"wrote {args.count} articles (~{average} words each) to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
