"""The small ``config.toml`` tables: publication, content, feeds, subscribe, state, digest ...

Every table is a strict pydantic model (``Section``), so an unknown key or a wrong type is an
error, never silently coerced.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """Strict: unknown keys and wrong types are errors, never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class AuthorConfig(Section):
    name: str
    email: str = ""
    url: str = ""


class PublicationConfig(Section):
    title: str = Field(min_length=1)
    base_url: str
    language: str = "en"
    timezone: str = "UTC"
    description: str = ""
    author: AuthorConfig | None = None
    postal_address: str = ""
    logo: str = ""

    @field_validator("base_url")
    @classmethod
    def _absolute_http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL such as 'https://example.org'")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", value):
            raise ValueError(f"not a language tag: {value!r}; use e.g. 'en' or 'de-AT'")
        return value


class ContentConfig(Section):
    dir: str = "content"


class FeedsConfig(Section):
    out: str = "feeds"
    url: str = ""
    max_items: int = Field(default=50, ge=1)
    full_content: bool = True
    taxonomies: list[Literal["tags", "sections"]] = ["tags", "sections"]
    websub_hub: str = ""
    exporters: list[str] | None = None


class SubscribeConfig(Section):
    """[subscribe]: the double opt-in form served by ``syndicate serve`` / syndicate.web:app."""

    url: str = ""  # public URL of the web app's root; default: the unsubscribe URL's origin
    confirm_hours: int = Field(default=48, ge=1, le=24 * 30)
    rate_limit: int = Field(default=5, ge=1)  # subscribe requests per IP per window
    rate_window: int = Field(default=3600, ge=1)  # seconds
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the real client.
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an IP address or network: {item!r}; use e.g. '127.0.0.1' or '10.0.0.0/8'"
                ) from None
        return value

    @field_validator("url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL such as 'https://example.org'")
        return value.rstrip("/")


class BouncesConfig(Section):
    """[bounces]: soft bounces in a row before an address is suppressed."""

    soft_limit: int = Field(default=3, ge=1)


class TrackingConfig(Section):
    """[tracking]: what the newsletter may count about its readers. Off unless switched on."""

    clicks: bool = False  # count clicks per edition and link (aggregate only; see README)


class CorrectionsConfig(Section):
    """[corrections]: where feeds show correction notes, the corrections feed, and whether
    ``publish`` mails notices of corrections to the readers who got the article."""

    email: Literal["ask", "auto", "never"] = "ask"
    position: Literal["top", "bottom"] = "bottom"
    feed: bool = False


class StateConfig(Section):
    """[state]: where shared state lives. ``db`` is the embedded SQLite file (and the folder of
    the local lock and cache files); ``url`` a PostgreSQL server shared by several hosts."""

    db: str = "state/syndicate.db"
    url: str = ""

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "expected a postgresql:// URL (or leave it out for the embedded SQLite file)"
            )
        if urlsplit(value).password is not None:
            raise ValueError(
                "the URL holds a password; keep it out of config.toml: set $PGPASSWORD, use "
                "~/.pgpass, or give the whole URL in $SYNDICATE_DATABASE_URL (the value is not "
                "shown)"
            )
        return value


class PublishConfig(Section):
    deploy: str = ""
    deploy_timeout: float = Field(default=600, gt=0)
    lock_timeout: float = Field(default=7200, gt=0)  # seconds without the run lock: an error


class DigestConfig(Section):
    width: int = Field(default=72, ge=30, le=400)
    links: Literal["article", "digest"] = "article"
    full: bool = False
    build: bool = False
