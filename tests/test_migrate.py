"""syndicate import of whole sites: a Hugo site, a Jekyll site and a WordPress export become
content files that keep each post's date, author, slug, address and old feed id."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from syndicate.ingest.shortcodes import hugo_shortcodes, liquid_tags
from syndicate.ingest.wxr import import_wxr
from tests.conftest import Publication, Run

FIXTURES = Path(__file__).parent / "fixtures" / "migrate"
HUGO = FIXTURES / "hugo-site"
JEKYLL = FIXTURES / "jekyll-site"
WXR = FIXTURES / "wordpress-export.xml"


def front(path: Path) -> tuple[dict[str, Any], str]:
    """A written content file -> (front matter, body)."""
    text = path.read_text(encoding="utf-8")
    _, head, body = text.split("+++\n", 2)
    return tomllib.loads(head), body


def feed_ids(root: Path) -> dict[str, tuple[str, str]]:
    """title -> (RSS guid, Atom id) of the built feeds, read back with feedparser."""
    rss = feedparser.parse((root / "feeds" / "rss.xml").read_bytes())
    atom = feedparser.parse((root / "feeds" / "atom.xml").read_bytes())
    assert rss.bozo == 0 and atom.bozo == 0
    atom_ids = {entry.title: entry.id for entry in atom.entries}
    return {entry.title: (entry.id, atom_ids[entry.title]) for entry in rss.entries}


def test_hugo_site(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", str(HUGO))
    assert result.exit_code == 0, result.output
    content = root / "content"
    assert sorted(p.name for p in content.glob("*.md")) == [
        "about.md",
        "first-light-at-the-harbour.md",
        "night-shift.md",
        "unfinished.md",
    ]
    meta, body = front(content / "first-light-at-the-harbour.md")
    permalink = "https://old.example.org/2024/01/first-light-at-the-harbour/"  # [permalinks]
    assert meta["id"] == meta["url"] == permalink
    assert meta["slug"] == "first-light-at-the-harbour"
    assert meta["date"].isoformat() == "2024-01-05T07:30:00+01:00"
    assert meta["updated"].isoformat() == "2024-01-06T10:00:00+01:00"
    assert meta["authors"] == ["Mara Lind"]
    assert meta["tags"] == ["Port", "cranes", "mornings"]
    assert meta["summary"] == "The crane drivers start before dawn."
    assert "draft" not in meta
    # Shortcodes: rewritten where Markdown can say the same, else removed and reported.
    assert "![A crane against the dawn sky](/img/crane.jpg)\n\n*Crane 4 at 6:50*" in body
    assert "<https://www.youtube.com/watch?v=dQw4w9WgXcQ>" in body
    assert "<https://gist.github.com/maralind/4f2a9>" in body
    assert "[night shift story](https://old.example.org/2024/02/night-shift/)" in body
    assert "Visitors need a pass to enter the quay." in body
    assert "{{" not in body
    notes = result.stderr
    assert "what could not be carried over" in notes
    assert (
        "aliases not carried over (syndicate serves no redirects): /old/first-light/, /p/17/"
        in (notes)
    )
    assert "first-light.md: line 22: shortcode {{< notice ...}} removed" in notes
    assert "front-matter key 'weight' dropped" in notes
    assert "unfinished.md: no date in the front matter" in notes
    assert "2 Hugo list page(s) (_index.md) skipped" in notes

    # A page bundle: its images are copied beside the article, paths kept.
    meta, body = front(content / "night-shift.md")
    assert meta["id"] == "https://old.example.org/2024/02/night-shift/"
    assert meta["authors"] == ["Jon Berg", "Mara Lind"]
    assert "![Floodlights over the container stacks](night.jpg)" in body
    bundle = HUGO / "content" / "posts" / "night-shift"
    assert (content / "night-shift" / "night.jpg").read_bytes() == (
        bundle / "night.jpg"
    ).read_bytes()
    assert (content / "night-shift" / "data" / "chart.png").is_file()
    assert "2 page-bundle file(s) copied to" in notes

    meta, _ = front(content / "about.md")  # TOML front matter, a page outside any section
    assert meta["id"] == "https://old.example.org/about/"
    meta, _ = front(content / "unfinished.md")
    assert meta["draft"] is True and "id" not in meta and "url" not in meta

    built = run(root, "build")
    assert built.exit_code == 0, built.output
    ids = feed_ids(root)
    assert ids["First Light at the Harbour"] == (permalink, permalink)
    # The bundle's images resolve to where Hugo published them, beside the old page.
    entries = feedparser.parse((root / "feeds" / "atom.xml").read_bytes()).entries
    night = next(entry for entry in entries if entry.title == "The Night Shift")
    assert "https://old.example.org/2024/02/night-shift/night.jpg" in night.content[0].value

    again = run(root, "import", str(HUGO))
    assert again.exit_code == 0, again.output
    assert again.stdout.count("unchanged (already imported)") == 4


def test_jekyll_site(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", str(JEKYLL))
    assert result.exit_code == 0, result.output
    content = root / "content"
    assert sorted(p.name for p in content.glob("*.md")) == [
        "bridge-idea.md",
        "flood-report.md",
        "hidden.md",
        "welcome-to-jekyll.md",
    ]
    meta, body = front(content / "welcome-to-jekyll.md")
    # jekyll-feed's <id> is post.id | absolute_url: the URL without ".html".
    old = "https://blog.example.net/news/jekyll/update/2024/03/05/welcome-to-jekyll"
    assert meta["id"] == old
    assert meta["url"] == old + ".html"
    assert meta["date"].isoformat() == "2024-03-05T00:00:00-05:00"  # filename, site timezone
    assert meta["slug"] == "welcome-to-jekyll"
    assert meta["tags"] == ["jekyll", "update", "river", "launch"]
    assert meta["summary"] == "Why we started a river newsletter."
    assert meta["authors"] == [
        {"name": "Ana Ruiz", "url": "https://blog.example.net/news/about/ana/"}
    ]  # _data/authors.yml
    assert "![The old mill](/news/assets/mill.jpg)" in body
    assert '```ruby\ndef print_hi(name)\n  puts "Hi, #{name}"\nend\n```' in body
    assert "[the flood report](https://blog.example.net/news/reports/flood/)" in body
    assert "Templates look like {{ page.title }}." in body  # {% raw %} kept verbatim
    assert "{%" not in body
    assert "welcome-to-jekyll.md: line 22: Liquid tag {% include %} removed" in result.stderr
    assert "front-matter key 'layout' dropped" in result.stderr

    meta, _ = front(content / "flood-report.md")
    assert meta["url"] == "https://blog.example.net/news/reports/flood/"  # its own permalink
    assert meta["id"] == "https://blog.example.net/news/reports/flood-report"
    assert meta["date"].isoformat() == "2024-04-01T18:30:00-04:00"
    assert meta["updated"].isoformat() == "2024-04-03T09:00:00-04:00"
    assert meta["authors"] == [{"name": "Ben Okafor", "email": "ben@example.net"}]
    assert meta["section"] == "Weather"
    for draft in ("hidden.md", "bridge-idea.md"):  # published: false, and _drafts/
        meta, _ = front(content / draft)
        assert meta["draft"] is True and "id" not in meta
    assert "bridge-idea.md: no date in the file name or front matter" in result.stderr
    assert "hidden.md: published: false: imported as a draft" in result.stderr

    built = run(root, "build")
    assert built.exit_code == 0, built.output
    assert feed_ids(root)["Welcome to the Riverside Dispatch"] == (old, old)


def test_jekyll_posts_folder_alone_finds_its_config(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", str(JEKYLL / "_posts"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert 'id = "https://blog.example.net/news/jekyll/update/2024/03/05/welcome-to-jekyll"' in (
        result.stdout
    )
    assert not list((root / "content").iterdir())


def test_site_without_base_url_says_ids_are_not_kept(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    site = tmp_path / "bare"
    shutil.copytree(HUGO / "content", site / "content")
    (site / "hugo.toml").write_text('title = "No base"\n')
    root = make_pub()
    result = run(root, "import", str(site))
    assert result.exit_code == 0, result.output
    assert "no baseURL in the Hugo config found" in result.stderr
    meta, _ = front(root / "content" / "night-shift.md")
    assert "id" not in meta and "url" not in meta


def test_wordpress_export(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", str(WXR))
    assert result.exit_code == 0, result.output
    content = root / "content"
    assert sorted(p.name for p in content.glob("*.md")) == [
        "council-passes-budget.md",
        "draft-school-lunches.md",
        "\u00fcber-die-br\u00fccken.md",
    ]
    meta, body = front(content / "council-passes-budget.md")
    assert meta["id"] == "https://gazette.example.com/?p=101"  # the old feed's <guid>
    assert meta["url"] == "https://gazette.example.com/2024/06/03/council-passes-budget/"
    assert meta["date"].isoformat() == "2024-06-03T07:15:00+00:00"  # post_date_gmt
    assert meta["updated"].isoformat() == "2024-06-04T10:00:00+00:00"
    assert meta["authors"] == ["Helen Park"]  # dc:creator "editor" -> display name
    assert meta["tags"] == ["Council", "Budget"]  # "Uncategorized" left out
    assert meta["summary"] == "The council voted 7 to 2 to pass the budget."
    assert meta["image"] == {
        "url": "https://gazette.example.com/wp-content/uploads/2024/06/council.jpg",
        "alt": "Council members raising their hands",
    }
    assert body.startswith("\nThe council voted 7 to 2 on Monday night to pass the budget.\n\n")
    assert "![Council members raising their hands](https://gazette.example.com/" in body
    assert "The vote, just after 10 pm" in body
    assert "The biggest item is the new bridge.\\\nIt costs \u20ac4 million." in body
    assert "<https://www.youtube.com/watch?v=abc123XYZ>" in body
    assert "## What happens next\n\n- Tenders open in July\n- Work starts in spring" in body
    assert "[gallery" not in body and "[caption" not in body
    notes = result.stderr
    assert "wordpress-export.xml#101: shortcode [gallery] removed" in notes
    assert "wordpress-export.xml#101: 1 comment(s) not carried over" in notes
    assert "1 attachment, 1 nav_menu_item, 1 page, 1 trash post" in notes

    meta, body = front(content / "\u00fcber-die-br\u00fccken.md")
    assert meta["slug"] == "\u00fcber-die-br\u00fccken"  # wp:post_name, percent-decoded
    assert meta["authors"] == ["Tom\u00e1s Ure\u00f1a"]
    assert "Three bridges, **three** different stories." in body
    assert "> We crossed it every day." in body
    meta, _ = front(content / "draft-school-lunches.md")
    assert meta["draft"] is True and "url" not in meta
    assert meta["date"].isoformat() == "2024-06-08T11:00:00+02:00"  # post_date, in Berlin

    built = run(root, "build")
    assert built.exit_code == 0, built.output
    ids = feed_ids(root)
    assert ids["Council Passes the 2024 Budget"] == ("https://gazette.example.com/?p=101",) * 2
    assert "Draft: School Lunches" not in ids


def test_wordpress_export_expands_no_entities(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    export = tmp_path / "export.xml"
    export.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>x</title>
<item><title>Leak &xxe; here</title><link>https://x.example/a/</link>
<guid>https://x.example/?p=1</guid><content:encoded>Body &xxe; &c;</content:encoded>
<wp:post_id>1</wp:post_id><wp:post_date_gmt>2024-01-01 00:00:00</wp:post_date_gmt>
<wp:post_name>a</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
</item></channel></rss>
"""
    )
    root = make_pub()
    result = run(root, "import", str(export))
    assert result.exit_code == 0, result.output
    written = (root / "content" / "a.md").read_text(encoding="utf-8")
    assert "TOP-SECRET" not in written and "aaaa" not in written
    assert 'title = "Leak here"' in written


def test_site_formats_refuse_the_wrong_kind_of_source(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", "--format", "hugo", str(WXR))
    assert result.exit_code == 1
    assert "--format hugo takes the site's folder, not a file" in result.stderr
    result = run(root, "import", "--format", "markdown", str(HUGO))
    assert result.exit_code == 1
    assert "is a folder; --format markdown takes files" in result.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{< vimeo 55073825 >}}", "<https://vimeo.com/55073825>"),
        (
            '{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}',
            "<https://x.com/SanDiegoZoo/status/1453110110599868418>",
        ),
        ('{{< figure src="a.png" title="T" >}}', "![T](a.png)\n\n*T*"),
        ("{{< highlight go >}}\nfmt.Println(1)\n{{< /highlight >}}", "```go\nfmt.Println(1)\n```"),
        ('{{% ref "nowhere.md" %}}', ""),
    ],
)
def test_hugo_shortcodes(source: str, expected: str) -> None:
    assert hugo_shortcodes(source, first_line=1, resolve=lambda ref: None).body == expected


def test_liquid_url_filters_and_unknown_output() -> None:
    out = liquid_tags(
        "![a]({{ '/img/a.png' | relative_url }}) {{ \"/x\" | absolute_url }} {{ page.title }}",
        first_line=5,
        resolve=lambda ref: None,
        site_url="https://s.example",
        base_path="/blog",
    )
    assert out.body == "![a](/blog/img/a.png) https://s.example/blog/x "
    assert out.notes == [
        "line 5: Liquid output {{ page.title }} removed: syndicate does not run templates in "
        "articles"
    ]


def test_hugo_config_folder(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    site = tmp_path / "split-config"
    shutil.copytree(HUGO / "content", site / "content")
    (site / "config" / "_default").mkdir(parents=True)
    (site / "config" / "_default" / "hugo.yaml").write_text(
        "baseURL: https://split.example.org/blog/\n"
    )
    (site / "config" / "_default" / "permalinks.yaml").write_text("posts: /:section/:slug/\n")
    root = make_pub()
    result = run(root, "import", str(site / "content"))
    assert result.exit_code == 0, result.output
    meta, _ = front(root / "content" / "night-shift.md")
    assert meta["id"] == "https://split.example.org/blog/posts/night-shift/"


def test_wordpress_scheduled_and_protected_posts(tmp_path: Path) -> None:
    def item(post_id: int, status: str, password: str = "") -> str:
        return f"""<item><title>Post {post_id}</title><link>https://w.example/p{post_id}/</link>
<guid isPermaLink="false">https://w.example/?p={post_id}</guid>
<content:encoded><![CDATA[Text of post {post_id}.]]></content:encoded>
<wp:post_id>{post_id}</wp:post_id><wp:post_date_gmt>2030-01-0{post_id} 08:00:00</wp:post_date_gmt>
<wp:post_name>p{post_id}</wp:post_name><wp:status>{status}</wp:status>
<wp:post_type>post</wp:post_type><wp:post_password>{password}</wp:post_password></item>"""

    export = tmp_path / "export.xml"
    export.write_text(
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wp="http://wordpress.org/export/1.1/"><channel><title>w</title>'
        + item(1, "future")
        + item(2, "publish", password="hunter2")
        + "</channel></rss>"
    )
    expanded = import_wxr(export, ZoneInfo("UTC"))
    scheduled, protected = (migrated.doc for migrated in expanded.items)
    assert scheduled.publish_at == scheduled.date and not scheduled.draft
    assert scheduled.date is not None and scheduled.date.isoformat() == "2030-01-01T08:00:00+00:00"
    assert protected.draft and "password-protected" in protected.notes[0]
    assert "hunter2" not in protected.body
