"""The file target: one JSON file per delivery key, written atomically, idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import make_site, post

from syndicate.config import Config, TargetConfig, parse_config
from syndicate.errors import ConfigError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.file import FileTarget, file_name
from syndicate.targets.registry import make_target

KEY = "launch-day.drop"


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch «day»",
                "2026-04-10 09:30:00 +0200",
                "We *launched*.\n\nMore below.",
                categories="[News, Web Dev]",
                tags="[python]",
                image="/assets/cover.jpg",
                last_modified_at="2026-04-12 10:00:00 +0200",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


def file_target(site: Config, **options: Any) -> FileTarget:
    config = TargetConfig(
        name="drop",
        type="file",
        options={"folder": "outbox", **options},
        source=site.path,
    )
    target = make_target(config, site.site)
    assert isinstance(target, FileTarget)
    return target


def test_render_is_the_post_as_json_data(site: Config, entry: Entry) -> None:
    message = file_target(site).render(entry, KEY)
    assert message.key == KEY
    assert message.target == "drop"
    assert message.body == {
        "type": "post.published",
        "key": KEY,
        "target": "drop",
        "post": {
            "id": "https://blog.example.com/news/web%20dev/2026/04/10/launch",
            "title": "Launch «day»",
            "url": "https://blog.example.com/news/web%20dev/2026/04/10/launch.html",
            "summary": "We launched.",
            "image": "https://blog.example.com/assets/cover.jpg",
            "categories": ["News", "Web Dev"],
            "tags": ["python"],
            "date": "2026-04-10T09:30:00+02:00",
            "updated": "2026-04-12T10:00:00+02:00",
            "author": {"name": "Ada", "email": "ada@example.com", "url": None},
        },
    }
    # JSON-able as it is, and pure: the same post and key give the same message.
    json.dumps(message.body)
    assert file_target(site).render(entry, KEY) == message


def test_send_writes_one_file_named_after_the_key(site: Config, entry: Entry) -> None:
    target = file_target(site)
    message = target.render(entry, KEY)
    receipt = target.send(message)
    folder = site.root / "outbox"
    path = folder / f"{KEY}.json"
    # Exactly one file: no temporary file is left behind by the atomic write.
    assert sorted(p.name for p in folder.iterdir()) == [path.name]
    data = path.read_bytes()
    assert data.endswith(b"}\n")
    assert "Launch «day»".encode() in data  # UTF-8, not \u escapes
    assert json.loads(data) == message.body
    assert data.decode().splitlines()[1] == '  "key": "launch-day.drop",'  # sorted, indented
    assert receipt.remote_id == path.name
    assert receipt.remote_url == path.as_uri()


def test_sending_again_overwrites_the_same_file(site: Config, entry: Entry) -> None:
    target = file_target(site)
    message = target.render(entry, KEY)
    target.send(message)
    path = site.root / "outbox" / f"{KEY}.json"
    before = path.stat().st_mtime_ns
    assert target.send(message) == target.send(message)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert path.stat().st_mtime_ns == before  # same bytes: not even rewritten
    assert target.idempotent and target.retries_ambiguous()


def test_a_changed_message_replaces_the_file(site: Config, entry: Entry) -> None:
    target = file_target(site)
    target.send(target.render(entry, KEY))
    renamed = file_target(site)
    renamed.name = "other"
    renamed.send(renamed.render(entry, KEY))
    path = site.root / "outbox" / f"{KEY}.json"
    assert json.loads(path.read_text("utf-8"))["target"] == "other"
    assert len(list(path.parent.iterdir())) == 1


@pytest.mark.parametrize(
    "key",
    ["https://blog.example.com/2026/04/10/launch|drop", "../../escape", "..", "Key", "a.tmp", ""],
)
def test_any_key_becomes_a_file_inside_the_folder(site: Config, entry: Entry, key: str) -> None:
    target = file_target(site)
    receipt = target.send(target.render(entry, key))
    folder = site.root / "outbox"
    files = list(folder.iterdir())
    assert [p.name for p in files] == [receipt.remote_id]
    assert files[0].name.endswith(".json") and not files[0].name.startswith(".")
    assert json.loads(files[0].read_text("utf-8"))["key"] == key


def test_distinct_keys_get_distinct_names() -> None:
    keys = ["a/b", "a b", "a:b", "A/B", "ab", "a-b", "x" * 300, "x" * 301]
    names = [file_name(key) for key in keys]
    assert len(set(names)) == len(keys)
    assert all(len(name) < 140 for name in names)
    assert file_name("a/b") == file_name("a/b")  # stable


def test_an_absolute_folder_is_used_as_it_is(site: Config, entry: Entry, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "deep"
    target = file_target(site, folder=str(elsewhere))
    target.send(target.render(entry, KEY))
    assert (elsewhere / f"{KEY}.json").is_file()


def test_a_folder_that_cannot_be_made_is_transient(site: Config, entry: Entry) -> None:
    (site.root / "blocked").write_text("a file, not a folder", encoding="utf-8")
    target = file_target(site, folder="blocked/outbox")
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    message = str(caught.value)
    assert "blocked" in message and "\n" not in message
    assert not caught.value.ambiguous


def test_a_relative_folder_starts_at_the_site_root(tmp_path: Path) -> None:
    raw_target = {"name": "drop", "type": "file", "folder": "out"}
    parsed = parse_config(
        {
            "site": {"title": "T", "url": "https://blog.example.com", "source_dir": "src"},
            "targets": [raw_target],
        },
        tmp_path / "config" / "syndicate.toml",
    )
    target = make_target(parsed.targets[0], parsed.site)
    assert isinstance(target, FileTarget)
    assert target.folder == parsed.root / "out" == tmp_path.resolve() / "out"
    assert set(FileTarget.fields) == {"folder"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].folder: is required (expected a string)"),
        ({"folder": ""}, 'targets[0].folder: expected a non-empty string, got ""'),
        ({"folder": 5}, "targets[0].folder: expected a non-empty string, got 5"),
        ({"folder": "out", "foldr": "x"}, 'targets[0].foldr: unknown key (did you mean "folder"?)'),
    ],
    ids=["missing", "empty", "number", "typo"],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="drop", type="file", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert str(caught.value) == f"{site.path}: {expected}"
