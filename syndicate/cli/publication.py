"""The publication a command works on: its config (named by --config, loaded once per
invocation) and the --now clock override, read in its timezone."""

from __future__ import annotations

from datetime import datetime

import click

from ..config import Config, load_config
from ..content.when import parse_datetime


def load(ctx: click.Context) -> Config:
    """The validated config named by --config (loaded once per invocation)."""
    obj = ctx.find_root().obj
    if "config" not in obj:
        obj["config"] = load_config(obj["config_path"])
    config: Config = obj["config"]
    return config


def parse_now(value: str | None, ctx: click.Context) -> datetime | None:
    """--now ISO: the clock override used by publish/email/build for tests and back-fills."""
    if value is None:
        return None
    try:
        return parse_datetime(value, load(ctx).publication.timezone)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {value!r}", param_hint="--now") from None
