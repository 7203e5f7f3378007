"""What delivery needs to know from config.toml, and nothing more: built once, at the edge.

Everything else in ``delivery`` takes these small frozen objects, never the whole ``Config``:
who a message is from and how readers reach the list (``MessageSettings``), which transport
carries it (``TransportSettings``), how it is signed (``DkimSettings``), and how hard a send
tries (``RetryPolicy``). This module is the only one in ``delivery`` that reads ``Config``;
a newsletter with its own sender (or a test) builds its settings with ``dataclasses.replace``.

The reader-facing URLs (unsubscribe, subscribe, view in browser) are computed here too: the
edition archive and the web app link to the same pages the messages do.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from ..errors import ConfigError, DeliveryError
from .engine import RetryPolicy
from .subscribers import InvalidAddress, plain_address

if TYPE_CHECKING:
    from ..config import Config, SesConfig, SmtpConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSettings:
    """The headers and links every message of the list carries."""

    from_: str  # ``[email] from``; empty: the publication's author under its title
    title: str  # the publication's title: the fallback display name and the List-Id's
    author_email: str
    domain: str  # Message-IDs and List-Id live under it
    reply_to: str
    unsubscribe_base: str  # one-click unsubscribe page; the token is added per recipient
    unsubscribe_mailto: str  # the mailto: alternative of List-Unsubscribe, or ""
    archive_url_template: str  # the view-in-browser page, ``{edition}`` filled per edition
    config_path: Path  # named in the error when there is no sender
    preferences_base: str = ""  # the reader's preferences page (newsletters only)  # named in the error when there is no sender

    @classmethod
    def from_config(cls, config: Config) -> MessageSettings:
        email = config.model.email
        pub = config.publication
        mailto = email.unsubscribe_mailto
        return cls(
            from_=email.from_,
            title=pub.title,
            author_email=(pub.author.email or "") if pub.author is not None else "",
            domain=pub.domain,
            reply_to=email.reply_to,
            unsubscribe_base=unsubscribe_base(config),
            unsubscribe_mailto=f"mailto:{mailto}?subject={quote('unsubscribe')}" if mailto else "",
            archive_url_template=(email.archive_url or f"{pub.feeds.url}/newsletter/{{edition}}/"),
            config_path=config.path,
            preferences_base=f"{app_url(config)}/preferences",
        )

    @property
    def sender(self) -> str:
        """The From mailbox: ``[email] from``, else the publication's author under its title."""
        if self.from_:
            name, addr = parseaddr(self.from_)
            return mailbox(name, addr)
        if not self.author_email:
            raise ConfigError.single(
                self.config_path, None, "email.from: required to build a newsletter message"
            )
        return mailbox(self.title, self.author_email)

    @property
    def envelope_sender(self) -> str:
        """The SMTP envelope sender (MAIL FROM): the From address."""
        return parseaddr(self.sender)[1]

    @property
    def list_id(self) -> str:
        """``"Title" <newsletter.example.org>`` (RFC 2919): lets readers filter the list."""
        title = self.title.replace("\\", "").replace('"', "")
        return f'"{title}" <newsletter.{self.domain}>'

    def archive_url(self, edition_id: str) -> str:
        """The edition's view-in-browser page: ``[email] archive_url`` with ``{edition}``
        filled, default ``<[feeds] url>/newsletter/<edition>/``."""
        return self.archive_url_template.replace("{edition}", quote(edition_id))


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportSettings:
    """``[email] transport`` and the settings of each transport."""

    name: str
    outbox: Path
    smtp: SmtpConfig
    ses: SesConfig

    @classmethod
    def from_config(cls, config: Config) -> TransportSettings:
        email = config.model.email
        return cls(
            name=email.transport,
            outbox=config.resolve(email.outbox),
            smtp=email.smtp,
            ses=email.ses,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimSettings:
    """``[email.dkim]``: off when ``key_file`` is None."""

    key_file: Path | None
    selector: str
    domain: str  # ``[email.dkim] domain``, else the domain of ``[email] from``

    @classmethod
    def from_config(cls, config: Config) -> DkimSettings:
        dkim = config.model.email.dkim
        sender = parseaddr(config.model.email.from_)[1]
        return cls(
            key_file=config.resolve(dkim.key_file) if dkim.key_file else None,
            selector=dkim.selector,
            domain=dkim.domain or sender.rpartition("@")[2].lower(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    """Everything a send needs besides the rendered message and its recipients."""

    message: MessageSettings
    transport: TransportSettings
    dkim: DkimSettings
    policy: RetryPolicy
    state_db: Path | str  # the SQLite file, or the PostgreSQL URL ([state] url)

    @classmethod
    def from_config(cls, config: Config) -> DeliverySettings:
        sending = config.model.email.sending
        return cls(
            message=MessageSettings.from_config(config),
            transport=TransportSettings.from_config(config),
            dkim=DkimSettings.from_config(config),
            policy=RetryPolicy(
                retries=sending.retries,
                retry_delay=sending.retry_delay,
                max_attempts=sending.max_attempts,
                max_errors=sending.max_errors,
                lease=sending.lease,
                batch=sending.claim_batch,
            ),
            state_db=config.state_target,
        )


def unsubscribe_base(config: Config) -> str:
    """``[email] unsubscribe_url``, or ``<base_url>/unsubscribe`` (served by ``syndicate serve``)."""
    return config.model.email.unsubscribe_url or f"{config.publication.base_url}/unsubscribe"


def app_url(config: Config) -> str:
    """The public root of the web app: ``[subscribe] url``, else the unsubscribe URL's origin."""
    if config.model.subscribe.url:
        return config.model.subscribe.url
    parts = urlsplit(unsubscribe_base(config))
    return f"{parts.scheme}://{parts.netloc}"


def subscribe_url(config: Config) -> str:
    """Where the subscribe form lives (and posts to); archive pages link to it."""
    return f"{app_url(config)}/subscribe"


def mailbox(name: str, addr: str) -> str:
    """``Name <addr>`` as a header value; DeliveryError for an address that is not one."""
    try:
        return str(Address(display_name=name, addr_spec=plain_address(addr)))
    except (ValueError, IndexError, InvalidAddress) as exc:
        raise DeliveryError(f"not a usable email address: {addr!r} ({exc})") from None
