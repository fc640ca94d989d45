"""Target types by their ``type = "..."`` name.

Adding a type: write ``targets/<type>.py`` with a Target subclass, add one line
here, a row to the contract table in ``tests/test_target_contract.py`` and a
section in ``docs/targets.md``. Modules are imported only when a target of that
type is configured, so unused types cost nothing at start-up.
"""

from __future__ import annotations

import importlib

from ..config import Config, SiteConfig, TargetConfig
from ..errors import ConfigError
from .base import Target

TYPES: dict[str, str] = {
    "apprise": "syndicate.targets.apprise:AppriseTarget",
    "bluesky": "syndicate.targets.bluesky:BlueskyTarget",
    "buttondown": "syndicate.targets.buttondown:ButtondownTarget",
    "discord": "syndicate.targets.discord:DiscordTarget",
    "file": "syndicate.targets.file:FileTarget",
    "ghost": "syndicate.targets.ghost:GhostTarget",
    "listmonk": "syndicate.targets.listmonk:ListmonkTarget",
    "mailchimp": "syndicate.targets.mailchimp:MailchimpTarget",
    "mastodon": "syndicate.targets.mastodon:MastodonTarget",
    "slack": "syndicate.targets.slack:SlackTarget",
    "smtp": "syndicate.targets.smtp:SmtpTarget",
    "teams": "syndicate.targets.teams:TeamsTarget",
    "telegram": "syndicate.targets.telegram:TelegramTarget",
    "webhook": "syndicate.targets.webhook:WebhookTarget",
}


def target_class(kind: str) -> type[Target]:
    module_name, _, class_name = TYPES[kind].partition(":")
    cls: type[Target] = getattr(importlib.import_module(module_name), class_name)
    return cls


def make_target(config: TargetConfig, site: SiteConfig) -> Target:
    if config.type not in TYPES:
        known = ", ".join(f'"{t}"' for t in sorted(TYPES))
        raise ConfigError(
            f'{config.source}: targets[{config.index}].type: unknown target type "{config.type}" '
            f"(expected one of {known})"
        )
    return target_class(config.type)(config, site)


def make_targets(config: Config) -> list[Target]:
    """Every enabled target, validated; a bad one is a ConfigError (exit 2)."""
    targets = [make_target(target, config.site) for target in config.targets]
    return [target for target in targets if target.enabled]
