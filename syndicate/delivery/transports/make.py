"""The transport ``[email] transport`` names, made from its settings."""

from __future__ import annotations

from ...errors import DeliveryError
from ..settings import TransportSettings
from . import Transport
from .file import FileTransport
from .ses import SesTransport
from .smtp import SmtpTransport


def make_transport(settings: TransportSettings, name: str | None = None) -> Transport:
    """The transport ``[email] transport`` names (or ``name``), configured from its settings."""
    chosen = name or settings.name
    if chosen == "file":
        return FileTransport(settings.outbox)
    if chosen == "smtp":
        return SmtpTransport.from_config(settings.smtp)
    if chosen == "ses":
        return SesTransport.from_config(settings.ses)
    raise DeliveryError(f"unknown transport {chosen!r}; use file, smtp or ses")
