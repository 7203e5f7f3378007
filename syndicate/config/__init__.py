"""config.toml -> a validated Config. Errors name the file, the line and the dotted key.

Owns loading and checking ``config.toml`` (pydantic), cron checks and the newsletters' views
of the config. Modules: ``sections`` (the small tables), ``mail`` ([email] and its tables),
``schedule`` ([schedule], cron checks), ``newsletters`` ([newsletters.<id>] and each one's
view of the config), ``schema`` (ConfigModel, Config), ``problems`` (errors with their line
and key), ``loading`` (find, read, validate). This package re-exports the names the rest of
syndicate uses, so callers import from ``syndicate.config``.

May import model, errors.
"""

from .loading import CONFIG_ENV, DEFAULT_CONFIG, config_value, find_config, load_config
from .mail import DkimConfig, EmailConfig, SendingConfig, SesConfig, SmtpConfig, template_name
from .newsletters import (
    CADENCES,
    NEWSLETTER_ID,
    Newsletter,
    NewsletterConfig,
    Weekday,
    configured_newsletters,
    default_newsletter_ids,
    find_newsletter,
    newsletter_config,
)
from .problems import key_line, model_problems
from .schedule import KEYWORDS, ScheduleConfig, cron_problem
from .schema import Config, ConfigModel
from .sections import (
    AuthorConfig,
    BouncesConfig,
    ContentConfig,
    CorrectionsConfig,
    DigestConfig,
    FeedsConfig,
    PublicationConfig,
    PublishConfig,
    StateConfig,
    SubscribeConfig,
    TrackingConfig,
)

__all__ = [
    "CADENCES",
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "KEYWORDS",
    "NEWSLETTER_ID",
    "AuthorConfig",
    "BouncesConfig",
    "Config",
    "ConfigModel",
    "ContentConfig",
    "CorrectionsConfig",
    "DigestConfig",
    "DkimConfig",
    "EmailConfig",
    "FeedsConfig",
    "Newsletter",
    "NewsletterConfig",
    "PublicationConfig",
    "PublishConfig",
    "ScheduleConfig",
    "SendingConfig",
    "SesConfig",
    "SmtpConfig",
    "StateConfig",
    "SubscribeConfig",
    "TrackingConfig",
    "Weekday",
    "config_value",
    "configured_newsletters",
    "cron_problem",
    "default_newsletter_ids",
    "find_config",
    "find_newsletter",
    "key_line",
    "load_config",
    "model_problems",
    "newsletter_config",
    "template_name",
]
