"""Exporter plugins declare a typed settings model and get it from ``[exporters.<name>]``."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.errors import ConfigError, ExportError
from syndicate.exporters import enabled_exporters, registry
from syndicate.publish.site import build
from tests.conftest import Publication, Run, article

TITLES = """
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field

from syndicate.exporters import Artifact, ExporterSettings


class TitlesSettings(ExporterSettings):
    heading: str = "Titles"
    limit: int = Field(default=10, ge=1)
    case: Literal["asis", "upper"] = "asis"


class TitlesExporter:
    name = "titles"
    settings_model = TitlesSettings

    def __init__(self, settings):
        self.settings = settings

    def export(self, pub, articles):
        titles = [a.title for a in articles[: self.settings.limit]]
        if self.settings.case == "upper":
            titles = [t.upper() for t in titles]
        text = "\\n".join([self.settings.heading, *titles]) + "\\n"
        return [Artifact(PurePosixPath("titles.txt"), text.encode(), "text/plain")]
"""

# A model on plain pydantic defaults (extra keys ignored): a misspelt key is still reported.
LAX = """
from pathlib import PurePosixPath

from pydantic import BaseModel

from syndicate.exporters import Artifact


class LaxSettings(BaseModel):
    greeting: str = "hello"


class LaxExporter:
    name = "lax"
    settings_model = LaxSettings

    def __init__(self, settings):
        self.settings = settings

    def export(self, pub, articles):
        data = self.settings.greeting.encode()
        return [Artifact(PurePosixPath("lax.txt"), data, "text/plain")]
"""

# One file per feed, so the build cache decides whether it is re-serialised.
MARKED = """
from syndicate.exporters import ExporterSettings
from syndicate.exporters.feedset import PerFeedExporter


class MarkedSettings(ExporterSettings):
    marker: str = "{default}"


class MarkedExporter(PerFeedExporter):
    name = "marked"
    filename = "marked.txt"
    media_type = "text/plain"
    settings_model = MarkedSettings

    def __init__(self, settings):
        self.settings = settings

    def export_feed(self, pub, spec):
        return f"{{self.settings.marker}} {{len(spec.articles)}}\\n".encode()
"""

Install = Callable[[str, str, str], Path]


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    """Install plugin distributions (a module plus a dist-info naming its entry point) on
    sys.path, as tests/test_plugins.py does; ``install(name, module, "pkg:Class")``."""
    site = tmp_path / "site"
    site.mkdir()
    sys.path.insert(0, str(site))
    modules: list[str] = []

    def add(name: str, source: str, target: str) -> Path:
        module = target.split(":")[0]
        (site / f"{module}.py").write_text(source)
        info = site / f"{module}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[syndicate.exporters]\n{name} = {target}\n")
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        registry.cache_clear()
        modules.append(module)
        return site / f"{module}.py"

    yield add
    sys.path.remove(str(site))
    for module in modules:
        sys.modules.pop(module, None)
    registry.cache_clear()


@pytest.fixture
def titles(install: Install) -> Path:
    return install("titles", TITLES, "titles_plugin:TitlesExporter")


TWO = {"a.md": article("First"), "b.md": article("Second", date="2026-11-05")}


def line_of(root: Path, text: str) -> int:
    """The 1-based line of config.toml that holds ``text``."""
    lines = (root / "config.toml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def test_typed_settings_reach_the_exporter(titles: Path, make_pub: Publication) -> None:
    extra = '[exporters.titles]\nheading = "Latest"\nlimit = 1\ncase = "upper"\n'
    root = make_pub(TWO, extra=extra)
    build(load_config(root / "config.toml"))
    assert (root / "feeds" / "titles.txt").read_text() == "Latest\nSECOND\n"


def test_defaults_apply_without_a_table(titles: Path, make_pub: Publication) -> None:
    root = make_pub(TWO)
    build(load_config(root / "config.toml"))
    assert (root / "feeds" / "titles.txt").read_text() == "Titles\nSecond\nFirst\n"


def test_a_bad_value_names_the_key_and_its_line(titles: Path, make_pub: Publication) -> None:
    root = make_pub(TWO, extra='[exporters.titles]\nheading = "x"\nlimit = "three"\n')
    with pytest.raises(ConfigError) as caught:
        build(load_config(root / "config.toml"))
    [problem] = caught.value.problems
    assert problem.line == line_of(root, 'limit = "three"')
    assert problem.message == "exporters.titles.limit: expected a valid integer (got 'three')"
    assert not (root / "feeds").exists()


def test_a_value_out_of_range_is_refused(titles: Path, make_pub: Publication) -> None:
    root = make_pub(TWO, extra="[exporters.titles]\nlimit = 0\n")
    with pytest.raises(
        ConfigError, match=r"config.toml:\d+: exporters.titles.limit: .* equal to 1 \(got 0\)"
    ):
        build(load_config(root / "config.toml"))


def test_an_unknown_key_lists_the_keys_it_takes(titles: Path, make_pub: Publication) -> None:
    root = make_pub(TWO, extra='[exporters.titles]\ncolour = "red"\n')
    with pytest.raises(ConfigError) as caught:
        build(load_config(root / "config.toml"))
    [problem] = caught.value.problems
    assert problem.line == line_of(root, "colour")
    assert problem.message == (
        "exporters.titles.colour: unknown key; exporter 'titles' takes: heading, limit, case"
    )


def test_an_unknown_key_is_reported_even_if_the_model_ignores_extras(
    install: Install, make_pub: Publication
) -> None:
    install("lax", LAX, "lax_plugin:LaxExporter")
    root = make_pub(TWO, extra='[exporters.lax]\ngreting = "hi"\n')
    with pytest.raises(ConfigError, match=r"exporters.lax.greting: unknown key; .*: greeting"):
        build(load_config(root / "config.toml"))


def test_a_table_for_an_exporter_not_installed(make_pub: Publication) -> None:
    root = make_pub(TWO, extra='[exporters.sitemap]\nchangefreq = "daily"\n')
    with pytest.raises(ConfigError) as caught:
        build(load_config(root / "config.toml"))
    [problem] = caught.value.problems
    assert problem.line == line_of(root, "[exporters.sitemap]")
    assert problem.message.startswith(
        "exporters.sitemap: no exporter named 'sitemap' is installed (installed: atom, digest, "
    )
    assert problem.message.endswith("or remove the [exporters.sitemap] table")


def test_a_table_for_an_exporter_without_settings(make_pub: Publication) -> None:
    root = make_pub(TWO, extra="[exporters.rss]\nfoo = 1\n")
    with pytest.raises(ConfigError, match=r"exporters.rss: exporter 'rss' .* takes no settings"):
        build(load_config(root / "config.toml"))


def test_a_table_is_checked_even_when_its_exporter_does_not_run(make_pub: Publication) -> None:
    root = make_pub(TWO, feeds='exporters = ["rss"]', extra="[exporters.json]\npretty = 1\n")
    with pytest.raises(ConfigError, match=r"exporters.json.pretty: expected a valid boolean"):
        build(load_config(root / "config.toml"))


def test_validate_lists_every_settings_problem(
    titles: Path, make_pub: Publication, run: Run
) -> None:
    extra = '[exporters.titles]\nlimit = "x"\ncolour = 1\n\n[exporters.sitemap]\n'
    root = make_pub(TWO, extra=extra)
    result = run(root, "validate")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    stderr = result.stderr
    assert f"config.toml:{line_of(root, 'colour')}: exporters.titles.colour: unknown key" in stderr
    assert f"config.toml:{line_of(root, 'limit')}: exporters.titles.limit: expected" in stderr
    sitemap = line_of(root, "[exporters.sitemap]")
    assert f"config.toml:{sitemap}: exporters.sitemap: no exporter named 'sitemap'" in stderr
    assert "3 problems found" in stderr


def test_validate_accepts_good_settings(titles: Path, make_pub: Publication, run: Run) -> None:
    root = make_pub(TWO, extra='[exporters.titles]\nheading = "Latest"\n')
    result = run(root, "validate")
    assert result.exit_code == 0, result.output


def test_build_reports_bad_settings_without_a_traceback(
    titles: Path, make_pub: Publication, run: Run
) -> None:
    root = make_pub(TWO, extra='[exporters.titles]\ncase = "lower"\n')
    result = run(root, "build")
    assert result.exit_code != 0
    assert "exporters.titles.case: expected 'asis' or 'upper' (got 'lower')" in result.stderr
    assert "Traceback" not in result.output


def test_the_json_feed_can_be_written_compact(make_pub: Publication) -> None:
    pretty = make_pub(TWO, name="pretty")
    compact = make_pub(TWO, name="compact", extra="[exporters.json]\npretty = false\n")
    build(load_config(pretty / "config.toml"))
    build(load_config(compact / "config.toml"))
    indented = (pretty / "feeds" / "feed.json").read_bytes()
    small = (compact / "feeds" / "feed.json").read_bytes()
    assert small.count(b"\n") == 1 and len(small) < len(indented)
    assert json.loads(small) == json.loads(indented)


def test_changed_settings_rebuild_cached_feeds(make_pub: Publication) -> None:
    root = make_pub(TWO)
    build(load_config(root / "config.toml"))
    feed = root / "feeds" / "feed.json"
    assert feed.read_bytes().count(b"\n") > 1
    config = root / "config.toml"
    config.write_text(config.read_text() + "\n[exporters.json]\npretty = false\n")
    result = build(load_config(config))
    assert feed.read_bytes().count(b"\n") == 1
    assert any(str(p) == "feed.json" for p in result.report.written)


def test_a_changed_default_rebuilds_cached_feeds(install: Install, make_pub: Publication) -> None:
    """The config file is unchanged; only the plugin's default moved (an upgrade): the
    settings are in the build cache's key, so the cached feed is not kept."""
    install("marked", MARKED.format(default="one"), "marked_plugin:MarkedExporter")
    root = make_pub(TWO, feeds='exporters = ["marked"]')
    build(load_config(root / "config.toml"))
    assert (root / "feeds" / "marked.txt").read_text() == "one 2\n"
    install("marked", MARKED.format(default="three"), "marked_plugin:MarkedExporter")
    build(load_config(root / "config.toml"))
    assert (root / "feeds" / "marked.txt").read_text() == "three 2\n"


def test_library_callers_get_defaults_or_a_clear_error(titles: Path) -> None:
    [exporter] = enabled_exporters(["titles"])
    assert exporter.settings.limit == 10  # type: ignore[attr-defined]
    source = titles.read_text().replace('heading: str = "Titles"', "heading: str")
    titles.write_text(source + "\n")
    sys.modules.pop("titles_plugin", None)
    importlib.invalidate_caches()
    registry.cache_clear()
    with pytest.raises(ExportError, match=r"'titles' needs settings \(heading\).*\[exporters"):
        enabled_exporters(["titles"])
