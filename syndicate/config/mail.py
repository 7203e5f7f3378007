"""``[email]`` and its tables (smtp, ses, sending, dkim): how editions are mailed.

The header values are checked here (one line, real mailboxes) so that config can never inject
headers into a message.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Literal

from pydantic import Field, field_validator

from .sections import Section


class SmtpConfig(Section):
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


class SesConfig(Section):
    region: str = "us-east-1"
    endpoint_url: str = ""
    configuration_set: str = ""
    connections: int = Field(default=4, ge=1, le=64)
    rate: float = Field(default=0, ge=0)
    timeout: float = Field(default=30, gt=0)


class SendingConfig(Section):
    """How a send run retries and when it gives up (see README, [email.sending])."""

    retries: int = Field(default=3, ge=0, le=20)
    retry_delay: float = Field(default=10, ge=0)
    max_attempts: int = Field(default=10, ge=1)
    max_errors: int = Field(default=50, ge=1)
    lease: float = Field(default=60, ge=0.5, le=3600)
    claim_batch: int = Field(default=100, ge=1, le=10000)


class DkimConfig(Section):
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


class EmailConfig(Section):
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
    template: str = "email"
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

    @field_validator("template")
    @classmethod
    def _template_name(cls, value: str) -> str:
        return template_name(value)


def template_name(value: str) -> str:
    """A template base name (``email`` -> email.mjml.j2 + email.txt.j2): no paths."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value) or ".." in value:
        raise ValueError(
            f"not a template name: {value!r}; use a base name such as 'climate' for "
            "templates/climate.mjml.j2 and templates/climate.txt.j2"
        )
    return value
