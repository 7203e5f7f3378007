"""``[newsletters.<id>]``: several newsletters from one content stream, and the views of
the config each one sees (its own subject, template, sender and schedule)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from ..errors import UsageError
from .mail import EmailConfig, template_name
from .schedule import ScheduleConfig
from .sections import Section

if TYPE_CHECKING:
    from .schema import Config

CADENCES = ("immediate", "daily", "weekly")
NEWSLETTER_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class NewsletterConfig(Section):
    """``[newsletters.<id>]``: one newsletter made from the publication's articles."""

    title: str = Field(min_length=1)
    description: str = ""
    schedule: str = "weekly"
    day: Weekday = "monday"
    time: str = "08:00"
    default: bool = False
    sections: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    cadences: list[Literal["immediate", "daily", "weekly"]] = Field(default_factory=list)
    subject: str = ""
    max_articles: int | None = Field(default=None, ge=1)
    min_articles: int = Field(default=1, ge=1)
    template: str = ""
    from_: str = Field(default="", alias="from")
    reply_to: str = ""

    @field_validator("title", "subject", "from_", "reply_to")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return EmailConfig._one_line(value)

    @field_validator("from_", "reply_to")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        return EmailConfig._mailbox(value)

    @field_validator("schedule")
    @classmethod
    def _schedule_kind(cls, value: str) -> str:
        return ScheduleConfig._schedule_kind(value)

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        return ScheduleConfig._clock_time(value)

    @field_validator("template")
    @classmethod
    def _template_name(cls, value: str) -> str:
        return template_name(value) if value else value

    @field_validator("cadences")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"lists a cadence twice: {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class Newsletter:
    """One configured newsletter: its id and ``[newsletters.<id>]`` settings."""

    id: str
    settings: NewsletterConfig

    @property
    def title(self) -> str:
        return self.settings.title

    @property
    def default(self) -> bool:
        return self.settings.default

    @property
    def cadences(self) -> tuple[str, ...]:
        """The cadences a reader may pick, or () when the newsletter's schedule is the only one."""
        return tuple(self.settings.cadences)

    @property
    def default_cadence(self) -> str:
        """The cadence of a subscription that chose none: the schedule's, if offered."""
        if not self.cadences:
            return ""
        schedule = self.settings.schedule
        wanted = "immediate" if schedule == "on-new" else schedule
        return wanted if wanted in self.cadences else self.cadences[0]

    def matches(self, section: str, tags: tuple[str, ...] | list[str]) -> bool:
        """Whether an article with this section and tags belongs to the newsletter.

        No sections and no tags: every article. Otherwise its section or any tag must be
        listed (compared without case).
        """
        sections = {name.casefold() for name in self.settings.sections}
        wanted = {name.casefold() for name in self.settings.tags}
        if not sections and not wanted:
            return True
        return (section or "").casefold() in sections or any(
            tag.casefold() in wanted for tag in tags
        )


def configured_newsletters(config: Config) -> tuple[Newsletter, ...]:
    """The ``[newsletters.<id>]`` tables in config order; () for a one-newsletter publication."""
    return tuple(Newsletter(name, table) for name, table in config.model.newsletters.items())


def default_newsletter_ids(config: Config) -> tuple[str, ...]:
    """The ids new subscribers get when they choose nothing."""
    return tuple(item.id for item in configured_newsletters(config) if item.default)


def find_newsletter(config: Config, name: str) -> Newsletter:
    """The newsletter with this id, or a UsageError listing the known ids."""
    for item in configured_newsletters(config):
        if item.id == name:
            return item
    known = ", ".join(item.id for item in configured_newsletters(config)) or "none configured"
    raise UsageError(f"unknown newsletter {name!r}; the config defines: {known}")


def newsletter_config(config: Config, name: str) -> Config:
    """``config`` as the newsletter ``name`` sees it: its subject, max_articles, template, from
    and reply_to over ``[email]``, and its schedule as ``[schedule]``.

    Everything downstream (planning, rendering, delivery settings) reads these keys, so a
    newsletter reuses the one-newsletter code path unchanged.
    """
    table = find_newsletter(config, name).settings
    email = config.model.email
    changes: dict[str, Any] = {}
    if table.subject:
        changes["subject"] = table.subject
    if table.max_articles is not None:
        changes["max_articles"] = table.max_articles
    if table.template:
        changes["template"] = table.template
    if table.from_:
        changes["from_"] = table.from_
    if table.reply_to:
        changes["reply_to"] = table.reply_to
    # Each newsletter's editions have their own archive (edition/archive_page.py, folder_of).
    archive = email.archive_url
    changes["archive_url"] = (
        archive.replace("{newsletter}", name)
        if archive
        else f"{config.publication.feeds.url}/archive/{name}/{{edition}}/"
    )
    schedule = ScheduleConfig(
        email=table.schedule, day=table.day, time=table.time, min_articles=table.min_articles
    )
    model = config.model.model_copy(
        update={"email": email.model_copy(update=changes), "schedule": schedule}
    )
    return replace(config, model=model)
