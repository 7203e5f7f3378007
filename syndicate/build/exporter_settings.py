"""``[exporters.<name>]`` tables -> each exporter's validated settings, with config-style errors.

The config loader keeps these tables raw (it cannot know which exporters are installed, nor
their models); here each one is checked against the ``settings_model`` its exporter declares
(``exporters/settings.py``), and every problem is reported at once like any other config error:
``config.toml:12: exporters.sitemap.changefreq: ... (got ...)``. The exporters then get the
validated objects only, never the file. May import config, errors and the exporters package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from ..config import Config, key_line, model_problems
from ..errors import ConfigError, Problem
from ..exporters import Exporter, exporter_classes, installed_names, load_exporter
from ..exporters.settings import accepted_keys, create, settings_model, unknown_keys


def configured_exporters(config: Config) -> list[Exporter]:
    """The exporters ``build`` runs ([feeds] exporters or the defaults, plus the digest when
    ``[digest] build = true``), each made with its settings from ``[exporters.<name>]``."""
    classes = exporter_classes(config.model.feeds.exporters)
    if config.model.digest.build and "digest" not in classes:
        classes |= exporter_classes(["digest"])
    settings = exporter_settings(config, classes)
    return [create(name, cls, settings.get(name)) for name, cls in classes.items()]


def exporter_settings(config: Config, chosen: Mapping[str, type[Any]]) -> dict[str, BaseModel]:
    """The validated settings of every chosen exporter that declares a model (its defaults
    when config has no table), and of every ``[exporters.<name>]`` table, even one whose
    exporter this build does not run, so a mistake is found before it matters.

    Raises ConfigError listing every problem: a table for an exporter that is not installed or
    takes no settings, an unknown key, a wrong value.
    """
    tables = config.model.exporters
    report = _Report(config)
    classes = dict(chosen)
    for name in tables:
        if name not in classes:
            cls = load_exporter(name)
            if cls is None:
                report.add(
                    (name,),
                    f"no exporter named {name!r} is installed (installed: "
                    f"{', '.join(installed_names())}); install the package that provides it, "
                    f"or remove the [exporters.{name}] table",
                )
                continue
            classes[name] = cls
    found: dict[str, BaseModel] = {}
    for name, cls in classes.items():
        model = settings_model(cls)
        raw = tables.get(name)
        if model is None:
            if raw is not None:
                report.add(
                    (name,),
                    f"exporter {name!r} ({cls.__module__}:{cls.__qualname__}) takes no "
                    f"settings; remove the [exporters.{name}] table",
                )
            continue
        settings = _validate(name, model, raw or {}, report)
        if settings is not None:
            found[name] = settings
    report.raise_if_any()
    return found


def settings_parts(config: Config, exporters: Sequence[Exporter]) -> list[bytes]:
    """The settings of the exporters a build runs, as bytes for the build cache's fingerprint:
    a changed setting (or a plugin's changed default) means a cold, correct build."""
    settings = exporter_settings(config, {e.name: type(e) for e in exporters})
    return [f"{name}:{_dump(value)}".encode() for name, value in sorted(settings.items())]


def _validate(
    name: str, model: type[BaseModel], raw: dict[str, Any], report: _Report
) -> BaseModel | None:
    unknown = unknown_keys(model, raw)
    takes = ", ".join(accepted_keys(model)) or "no keys"
    for key in unknown:
        report.add((name, key), f"unknown key; exporter {name!r} takes: {takes}")
    try:
        # Unknown keys are reported above, in our words; validate the rest so that a wrong
        # value is reported in the same run.
        settings = model.model_validate({k: v for k, v in raw.items() if k not in unknown})
    except ValidationError as exc:
        report.validation(name, exc)
        return None
    return None if unknown else settings


def _dump(settings: BaseModel) -> str:
    try:
        return settings.model_dump_json()
    except PydanticSerializationError:  # a field of a type pydantic cannot write as JSON
        return repr(settings)


class _Report:
    """Problems found in the [exporters.*] tables; config.toml is read only to place them."""

    def __init__(self, config: Config) -> None:
        self.source = config.path
        self.path = _shown(config.path)
        self.problems: list[Problem] = []

    @cached_property
    def text(self) -> str:
        """config.toml's text, read once and only when there is a problem to place."""
        try:
            return self.source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""  # only the line numbers are lost

    def add(self, loc: tuple[str, ...], message: str) -> None:
        """One problem with the key ``exporters.<loc>``, on the line that sets it."""
        full = ("exporters", *loc)
        line = key_line(self.text, full)
        self.problems.append(Problem(self.path, line, f"{'.'.join(full)}: {message}"))

    def validation(self, name: str, exc: ValidationError) -> None:
        """Every error of one table's validation, each with its line and dotted key."""
        self.problems += model_problems(self.path, self.text, exc, ("exporters", name))

    def raise_if_any(self) -> None:
        """Raise a ConfigError listing every problem found."""
        if self.problems:
            raise ConfigError(self.problems)


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
