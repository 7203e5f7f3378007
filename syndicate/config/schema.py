"""The whole validated config: ``ConfigModel`` (every table) and ``Config`` (the model, its
file and the Publication built from it, with paths resolved against the config's folder)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from ..errors import UsageError
from ..model import Publication
from .mail import EmailConfig
from .newsletters import NEWSLETTER_ID, NewsletterConfig
from .schedule import ScheduleConfig
from .sections import (
    BouncesConfig,
    ContentConfig,
    CorrectionsConfig,
    DigestConfig,
    FeedsConfig,
    PublicationConfig,
    PublishConfig,
    Section,
    StateConfig,
    SubscribeConfig,
    TrackingConfig,
)

# The whole PostgreSQL URL, password included, for hosts that keep secrets in the environment.
DATABASE_URL_ENV = "SYNDICATE_DATABASE_URL"


class ConfigModel(Section):
    publication: PublicationConfig
    content: ContentConfig = ContentConfig()
    feeds: FeedsConfig = FeedsConfig()
    email: EmailConfig = EmailConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    state: StateConfig = StateConfig()
    publish: PublishConfig = PublishConfig()
    digest: DigestConfig = DigestConfig()
    bounces: BouncesConfig = BouncesConfig()
    subscribe: SubscribeConfig = SubscribeConfig()
    tracking: TrackingConfig = TrackingConfig()

    corrections: CorrectionsConfig = CorrectionsConfig()
    # [exporters.<name>]: each exporter's own settings, validated against the model it declares
    # by build/exporter_settings.py (config cannot know the installed exporters' models).
    exporters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # [newsletters.<id>]: several newsletters from one content stream (empty: the one
    # newsletter made from [email] and [schedule], as before).
    newsletters: dict[str, NewsletterConfig] = Field(default_factory=dict)

    @field_validator("newsletters")
    @classmethod
    def _newsletter_ids(cls, value: dict[str, NewsletterConfig]) -> dict[str, NewsletterConfig]:
        for name in value:
            if not NEWSLETTER_ID.fullmatch(name):
                raise ValueError(
                    f"[newsletters.{name}]: not a newsletter id; use a lowercase slug of "
                    "letters, digits and '-' (at most 40), such as 'daily' or 'climate-weekly'"
                )
        if value and not any(item.default for item in value.values()):
            raise ValueError(
                "no newsletter has default = true; mark at least one (new subscribers who "
                "choose nothing, and those of an upgraded list, get the defaults)"
            )
        return value


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded configuration with every relative path resolved against the config's folder."""

    path: Path
    model: ConfigModel
    publication: Publication

    @property
    def root(self) -> Path:
        """The publication directory: the folder holding config.toml."""
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """A config path made absolute against the publication directory."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def content_dir(self) -> Path:
        return self.resolve(self.model.content.dir)

    @property
    def feeds_dir(self) -> Path:
        return self.resolve(self.model.feeds.out)

    @property
    def state_db(self) -> Path:
        """The SQLite state file; with PostgreSQL, its folder still holds local locks and caches."""
        return self.resolve(self.model.state.db)

    @property
    def state_url(self) -> str:
        """The PostgreSQL state store's URL ($SYNDICATE_DATABASE_URL, then [state] url), or ""."""
        from_env = os.environ.get(DATABASE_URL_ENV, "")
        if from_env and not from_env.startswith(("postgresql://", "postgres://")):
            raise UsageError(
                f"${DATABASE_URL_ENV} must be a postgresql:// URL (the value is not shown); "
                "unset it to use [state] in config.toml"
            )
        return from_env or self.model.state.url

    @property
    def state_target(self) -> Path | str:
        """What ``store.sqlite.connect`` opens: the PostgreSQL URL if one is set, else the file."""
        return self.state_url or self.state_db

    @property
    def templates_dir(self) -> Path:
        """The publication's own templates, which override the built-in ones file by file."""
        return self.root / "templates"
