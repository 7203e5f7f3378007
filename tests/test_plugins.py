"""Third-party exporters plug in through the ``syndicate.exporters`` entry-point group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.errors import ExportError
from syndicate.exporters import registry
from syndicate.publish.site import build
from tests.conftest import Publication, article

PLUGIN = """
from pathlib import PurePosixPath
from syndicate.exporters import Artifact


class TitlesExporter:
    name = "titles"

    def export(self, pub, articles):
        text = "\\n".join(a.title for a in articles) + "\\n"
        return [Artifact(PurePosixPath("titles.txt"), text.encode(), "text/plain")]
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[Path]:
    """A tiny distribution on sys.path with a dist-info that declares an entry point."""
    site = tmp_path / "site"
    (site / "titles_plugin").mkdir(parents=True)
    (site / "titles_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "titles_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: titles-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[syndicate.exporters]\ntitles = titles_plugin:TitlesExporter\n"
    )
    sys.path.insert(0, str(site))
    registry.cache_clear()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("titles_plugin", None)
    registry.cache_clear()


def test_a_third_party_exporter_runs_in_build(
    installed_plugin: Path, make_pub: Publication
) -> None:
    root = make_pub({"a.md": article("First"), "b.md": article("Second", date="2026-11-05")})
    build(load_config(root / "config.toml"))
    assert (root / "feeds" / "titles.txt").read_text() == "Second\nFirst\n"
    assert (root / "feeds" / "rss.xml").is_file()


def test_exporters_can_be_chosen_by_name(installed_plugin: Path, make_pub: Publication) -> None:
    root = make_pub({"a.md": article()}, feeds='exporters = ["titles"]')
    build(load_config(root / "config.toml"))
    assert sorted(p.name for p in (root / "feeds").iterdir()) == ["titles.txt"]


def test_an_unknown_exporter_name_is_a_clear_error(make_pub: Publication) -> None:
    root = make_pub({"a.md": article()}, feeds='exporters = ["sitemap"]')
    with pytest.raises(ExportError, match=r"'sitemap'.*not installed; installed: .*rss"):
        build(load_config(root / "config.toml"))


def test_a_broken_plugin_names_its_module(installed_plugin: Path, make_pub: Publication) -> None:
    (installed_plugin / "titles_plugin" / "__init__.py").write_text("raise ImportError('boom')\n")
    root = make_pub({"a.md": article()})
    with pytest.raises(ExportError, match=r"'titles' \(titles_plugin:TitlesExporter\).*boom"):
        build(load_config(root / "config.toml"))
