"""config.toml -> a validated Config. Errors name the file, the line and the dotted key."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError, Problem
from .model import Author, CorrectionOptions, DigestOptions, FeedOptions, Publication

CONFIG_ENV = "SYNDICATE_CONFIG"
DEFAULT_CONFIG = "config.toml"


class _Section(BaseModel):
    """Strict: unknown keys and wrong types are errors, never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class AuthorConfig(_Section):
    name: str
    email: str = ""
    url: str = ""


class PublicationConfig(_Section):
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


class ContentConfig(_Section):
    dir: str = "content"


class FeedsConfig(_Section):
    out: str = "feeds"
    url: str = ""
    max_items: int = Field(default=50, ge=1)
    full_content: bool = True
    taxonomies: list[Literal["tags", "sections"]] = ["tags", "sections"]
    websub_hub: str = ""
    exporters: list[str] | None = None


class SmtpConfig(_Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: str = "SYNDICATE_SMTP_PASSWORD"
    connections: int = Field(default=1, ge=1, le=64)
    rate: float = Field(default=0, ge=0)
    timeout: float = Field(default=30, gt=0)

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        # A common slip is to write the password itself here; the message must not repeat it
        # (it ends up in cron mail and logs), and model_problems leaves out the "(got ...)" part.
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(
                "expected the name of an environment variable (such as "
                "SYNDICATE_SMTP_PASSWORD), not the password itself; the value is not shown"
            )
        return value


class SesConfig(_Section):
    region: str = "us-east-1"
    endpoint_url: str = ""
    configuration_set: str = ""
    connections: int = Field(default=4, ge=1, le=64)
    rate: float = Field(default=0, ge=0)
    timeout: float = Field(default=30, gt=0)


class SendingConfig(_Section):
    """How a send run retries and when it gives up (see README, [email.sending])."""

    retries: int = Field(default=3, ge=0, le=20)
    retry_delay: float = Field(default=10, ge=0)
    max_attempts: int = Field(default=10, ge=1)
    max_errors: int = Field(default=50, ge=1)


class DkimConfig(_Section):
    """[email.dkim]: signing is on when ``key_file`` is set; ``domain`` defaults to From's."""

    selector: str = ""
    domain: str = ""
    key_file: str = ""

    @field_validator("selector", "domain")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", value):
            raise ValueError(f"not a DNS name: {value!r}")
        return value


class EmailConfig(_Section):
    from_: str = Field(default="", alias="from")
    reply_to: str = ""
    subject: str = "{{ publication.title }}: {{ edition.articles[0].title }}"
    max_articles: int = Field(default=10, ge=1)
    full_content: bool = False
    transport: Literal["file", "smtp", "ses"] = "file"
    outbox: str = "outbox"
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    archive_url: str = ""
    smtp: SmtpConfig = SmtpConfig()
    ses: SesConfig = SesConfig()
    sending: SendingConfig = SendingConfig()
    dkim: DkimConfig = DkimConfig()

    @field_validator(
        "from_", "reply_to", "subject", "unsubscribe_url", "unsubscribe_mailto", "archive_url"
    )
    @classmethod
    def _one_line(cls, value: str) -> str:
        # A CR or LF in a header value would let config inject headers into every message.
        if "\r" in value or "\n" in value:
            raise ValueError("must be one line: CR/LF is not allowed in an email header")
        return value

    @field_validator("from_", "reply_to")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if value and "@" not in parseaddr(value)[1]:
            raise ValueError(f"not an email address: {value!r}; use 'Name <addr@example.org>'")
        return value


KEYWORDS = ("weekly", "daily", "on-new", "")  # [schedule] email values besides cron


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a usable cron expression, or None when it is (for config)."""
    from croniter import croniter  # only a cron schedule needs it (and its dateutil import)

    if not croniter.is_valid(expression):
        return (
            f'not a schedule: {expression!r}; use weekly, daily, on-new, "" (off) '
            "or a cron expression such as '0 8 * * mon-fri'"
        )
    probe = datetime(2001, 1, 1)  # noqa: DTZ001 - cron works on naive wall-clock time
    try:
        croniter(expression, probe).get_next(datetime)
    except (ValueError, KeyError, OverflowError) as exc:
        return f"cron expression {expression!r} never matches: {exc}"
    return None


class ScheduleConfig(_Section):
    email: str = ""
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = (
        "monday"
    )
    time: str = "08:00"
    min_articles: int = Field(default=1, ge=1)

    @field_validator("email")
    @classmethod
    def _schedule_kind(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in KEYWORDS:
            return value.lower()
        problem = cron_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"not a time of day: {value!r}; use HH:MM such as '08:00'")
        return value


class SubscribeConfig(_Section):
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


class BouncesConfig(_Section):
    """[bounces]: soft bounces in a row before an address is suppressed."""

    soft_limit: int = Field(default=3, ge=1)


class TrackingConfig(_Section):
    """[tracking]: what the newsletter may count about its readers. Off unless switched on."""

    clicks: bool = False  # count clicks per edition and link (aggregate only; see README)


class CorrectionsConfig(_Section):
    """[corrections]: where feeds show correction notes, the corrections feed, and whether
    ``publish`` mails notices of corrections to the readers who got the article."""

    email: Literal["ask", "auto", "never"] = "ask"
    position: Literal["top", "bottom"] = "bottom"
    feed: bool = False


class StateConfig(_Section):
    db: str = "state/syndicate.db"


class PublishConfig(_Section):
    deploy: str = ""
    deploy_timeout: float = Field(default=600, gt=0)
    lock_timeout: float = Field(default=7200, gt=0)  # seconds without the run lock: an error


class DigestConfig(_Section):
    width: int = Field(default=72, ge=30, le=400)
    links: Literal["article", "digest"] = "article"
    full: bool = False
    build: bool = False


class ConfigModel(_Section):
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
    exporters: dict[str, dict[str, Any]] = {}


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
        return self.resolve(self.model.state.db)

    @property
    def templates_dir(self) -> Path:
        """The publication's own templates, which override the built-in ones file by file."""
        return self.root / "templates"


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
        line = _toml_error_line(str(exc))
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


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def model_problems(
    path: Path, text: str, exc: ValidationError, prefix: tuple[str, ...] = ()
) -> list[Problem]:
    """A pydantic error as config problems: line, dotted key (under ``prefix``) and what to do."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(str(part) for part in err["loc"] if not isinstance(part, int))
        key = ".".join(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            message = (
                f"{key}: unknown key; check the spelling against the README's config reference"
            )
        elif kind == "missing":
            message = f"{key}: required key is missing"
        else:
            message = f"{key}: {_clean_message(err['msg'])}"
            secret = loc[-1:] == ("password_env",)
            if "input" in err and not isinstance(err["input"], dict | list) and not secret:
                message += f" (got {err['input']!r})"
        problems.append(Problem(path, key_line(text, loc), message))
    return problems


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ").replace("Input should be", "expected")


def key_line(text: str, loc: tuple[str, ...]) -> int | None:
    """The 1-based line where a dotted key is set in TOML text (best effort, for messages)."""
    table: tuple[str, ...] = ()
    fallback = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            if table == loc[: len(table)] and fallback is None:
                fallback = number
            continue
        assign = re.match(r'^("?[\w-]+"?(?:\s*\.\s*"?[\w-]+"?)*)\s*=', line)
        if not assign:
            continue
        keys = tuple(part.strip().strip('"') for part in assign.group(1).split("."))
        full = table + keys
        if full == loc[: len(full)] and len(full) >= min(len(loc), len(table) + 1):
            return number
    return fallback


def config_value(config: Config, dotted: str) -> Any:
    """Look up a dotted key on the validated model, for messages and tests."""
    value: Any = config.model
    for part in dotted.split("."):
        value = getattr(value, part if part != "from" else "from_")
    return value
