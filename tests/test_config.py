"""Config: good values load, every bad one is a one-line error naming the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicate.config import load_config, parse_config
from syndicate.errors import ConfigError

SOURCE = Path("/site/config/syndicate.toml")
SITE = {"title": "Blog", "url": "https://blog.example.com"}


def config_with(**sections: Any) -> Any:
    raw: dict[str, Any] = {"site": dict(SITE)}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse_config(raw, SOURCE)


def test_defaults() -> None:
    config = config_with()
    assert config.root == Path("/site")
    assert config.site.posts_dir == Path("/site/posts")
    assert config.site.permalink == "date"
    assert str(config.site.timezone) == "UTC"
    assert config.site.author.name == "Blog"
    assert config.feeds.output_dir == Path("/site/public")
    assert config.feeds.limit == 20
    assert config.feeds.formats == ("atom", "rss", "json")
    assert (config.feeds.atom_path, config.feeds.rss_path, config.feeds.json_path) == (
        "feed.xml",
        "rss.xml",
        "feed.json",
    )
    assert config.schedule.interval == timedelta(minutes=5)
    assert config.state.url == "sqlite:///state/syndicate.db"
    assert config.site.home == "https://blog.example.com/"


def test_baseurl_and_home() -> None:
    config = config_with(site={"baseurl": "/blog/"})
    assert config.site.home == "https://blog.example.com/blog/"
    assert (
        config.site.absolute("assets/a b.png") == "https://blog.example.com/blog/assets/a%20b.png"
    )


def test_targets_are_kept_for_their_type_to_validate() -> None:
    raw = {"site": SITE, "targets": [{"name": "hook", "type": "webhook", "url": "x"}]}
    (target,) = parse_config(raw, SOURCE).targets
    assert (target.name, target.type, target.options) == ("hook", "webhook", {"url": "x"})


BAD = [
    ({"feeds": {"limit": "ten"}}, 'feeds.limit: expected a positive integer, got "ten"'),
    ({"feeds": {"limit": 0}}, "feeds.limit: expected a positive integer, got 0"),
    ({"feeds": {"limit": True}}, "feeds.limit: expected a positive integer, got true"),
    ({"feeds": {"lmit": 5}}, 'feeds.lmit: unknown key (did you mean "limit"?)'),
    (
        {"feeds": {"formats": ["atom", "rdf"]}},
        'feeds.formats: expected a list of "atom", "rss", "json", got "rdf"',
    ),
    ({"feeds": {"categories": "yes"}}, 'feeds.categories: expected true or false, got "yes"'),
    (
        {"feeds": {"atom_path": "../feed.xml"}},
        'feeds.atom_path: expected a path inside feeds.output_dir, got "../feed.xml"',
    ),
    (
        {"site": {"url": "blog.example.com"}},
        'site.url: expected an absolute http(s) URL, got "blog.example.com"',
    ),
    (
        {"site": {"timezone": "Mars/Olympus"}},
        'site.timezone: expected an IANA time zone like "Europe/Berlin", got "Mars/Olympus"',
    ),
    ({"site": {"permalink": "/:yaer/:title/"}}, 'site.permalink: unknown placeholder ":yaer"'),
    ({"site": {"title": ""}}, 'site.title: expected a non-empty string, got ""'),
    ({"site": {"author": {"email": "a@b.c"}}}, "site.author.name: is required (expected a string)"),
    (
        {"schedule": {"interval": "often"}},
        'schedule.interval: expected a duration like "90s", "5m", "2h" or "7d", got \'often\'',
    ),
    (
        {"schedule": {"interval": "5m", "cron": "* * * * *"}},
        "schedule.cron: set either schedule.interval or schedule.cron, not both",
    ),
    (
        {"schedule": {"cron": "every minute"}},
        'schedule.cron: expected five fields like "*/5 * * * *", got "every minute"',
    ),
    ({"state": {"url": 5}}, "state.url: expected a string, got 5"),
    ({"extra": {"a": 1}}, "extra: unknown key"),
]


@pytest.mark.parametrize(("sections", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_values_name_the_key(sections: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(**sections)
    text = str(caught.value)
    assert text.startswith(f"{SOURCE}: ")
    assert message in text
    assert "\n" not in text


def test_site_is_required() -> None:
    with pytest.raises(ConfigError, match=r"site\.url: is required"):
        parse_config({}, SOURCE)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ("hook", "targets: expected [[targets]] tables"),
        ([{"type": "webhook"}], "targets[0].name: is required"),
        (
            [{"name": "a", "type": "file"}, {"name": "a", "type": "file"}],
            'targets[1].name: "a" is used by another target',
        ),
    ],
    ids=["not-a-list", "no-name", "duplicate"],
)
def test_bad_targets(targets: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config({"site": SITE, "targets": targets}, SOURCE)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[site\ntitle = 1", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_env_var_names_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config" / "other.toml"
    path.parent.mkdir()
    path.write_text('[site]\ntitle = "Other"\nurl = "https://other.example"\n', "utf-8")
    monkeypatch.setenv("SYNDICATE_CONFIG", str(path))
    assert load_config().site.title == "Other"
