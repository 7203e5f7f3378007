"""config.toml -> a validated Config. Errors name the file, the line and the dotted key."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ..errors import ConfigError
from ..model import Author, CorrectionOptions, DigestOptions, FeedOptions, Publication
from .problems import model_problems, toml_error_line
from .schema import Config, ConfigModel

CONFIG_ENV = "SYNDICATE_CONFIG"
DEFAULT_CONFIG = "config.toml"


def find_config(explicit: str | Path | None = None) -> Path:
    """The config file to use: --config, then $SYNDICATE_CONFIG, then ./config.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    return Path(chosen)


def load_config(path: str | Path | None = None) -> Config:
    """Read, parse and validate a config file; every problem is reported, with its line."""
    config_path = find_config(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.single(
            config_path,
            None,
            "config file not found; run `syndicate init DIR` to create a publication, "
            "or pass --config PATH",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.single(config_path, None, f"cannot read config: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(str(exc))
        raise ConfigError.single(config_path, line, f"invalid TOML: {exc}") from None
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(model_problems(config_path, text, exc)) from None
    publication = replace(
        _publication(model), digest=_digest_options(model, config_path.absolute().parent)
    )
    return Config(path=config_path.absolute(), model=model, publication=publication)


def _digest_options(model: ConfigModel, root: Path) -> DigestOptions:
    digest = model.digest
    return DigestOptions(
        width=digest.width, links=digest.links, full=digest.full, templates_dir=root / "templates"
    )


def _publication(model: ConfigModel) -> Publication:
    pub = model.publication
    feeds = model.feeds
    author = (
        Author(name=pub.author.name, email=pub.author.email, url=pub.author.url)
        if (pub.author)
        else None
    )
    return Publication(
        title=pub.title,
        base_url=pub.base_url,
        language=pub.language,
        timezone=ZoneInfo(pub.timezone),
        description=pub.description,
        author=author,
        postal_address=pub.postal_address,
        logo=pub.logo,
        feeds=FeedOptions(
            url=(feeds.url or f"{pub.base_url}/feeds").rstrip("/"),
            max_items=feeds.max_items,
            full_content=feeds.full_content,
            taxonomies=tuple(dict.fromkeys(feeds.taxonomies)),
            websub_hub=feeds.websub_hub,
        ),
        corrections=CorrectionOptions(
            position=model.corrections.position, feed=model.corrections.feed
        ),
    )


def config_value(config: Config, dotted: str) -> Any:
    """Look up a dotted key on the validated model, for messages and tests."""
    value: Any = config.model
    for part in dotted.split("."):
        value = getattr(value, part if part != "from" else "from_")
    return value
