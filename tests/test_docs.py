"""The docs name every command and config key, so none goes undocumented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from syndicate.cli import cli
from syndicate.config import (
    DeliveryConfig,
    FeedsConfig,
    PreflightConfig,
    ScheduleConfig,
    SiteConfig,
    StateConfig,
)
from syndicate.targets.registry import TYPES, target_class

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text("utf-8")
SECTIONS = {
    "site": SiteConfig,
    "feeds": FeedsConfig,
    "state": StateConfig,
    "schedule": ScheduleConfig,
    "delivery": DeliveryConfig,
    "preflight": PreflightConfig,
}
# Where the TOML key differs from the field's name.
KEY_NAMES = {"severities": "checks"}


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`syndicate {command}" in README


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (s, KEY_NAMES.get(f.name, f.name))
        for s, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
    ],
)
def test_every_config_key_is_documented(section: str, key: str) -> None:
    part = CONFIG_DOC.split(f"## `[{section}]`", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"^\| `{key}` \|", part, re.MULTILINE), f"{section}.{key}"


def test_readme_commands_are_marked_for_ci() -> None:
    for marker in ("<!-- run-command -->", "<!-- test-command -->"):
        after = README.split(marker, 1)[1].lstrip()
        assert after.startswith("```bash\n")


TARGETS_DOC = (ROOT / "docs" / "targets.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("kind", "key"),
    [(kind, key) for kind in sorted(TYPES) for key in target_class(kind).fields],
)
def test_every_target_type_and_key_is_documented(kind: str, key: str) -> None:
    part = TARGETS_DOC.split(f"## `{kind}`", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"^\| `{key}` \|", part, re.MULTILINE), f"{kind}.{key}"
