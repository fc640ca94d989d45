"""The sample site's feeds, byte for byte.

Regenerate after an intended change, then read the diff before committing:

    SYNDICATE_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from syndicate.config import load_config
from syndicate.feeds import build
from syndicate.holdback import hold_back
from syndicate.posts import due_posts, scan

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FILES = ["feed.xml", "rss.xml", "feed.json", "categories/updates/feed.xml"]


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(ROOT / "config" / "syndicate.toml")
    out = tmp_path_factory.mktemp("public")
    config = dataclasses.replace(config, feeds=dataclasses.replace(config.feeds, output_dir=out))
    found = scan(config.site)
    # As `syndicate build` does: the example post is held back by preflight.
    due, held, _ = hold_back(config, found.posts, due_posts(found.posts, NOW), NOW)
    assert [item.post.source for item in held] == [
        "posts/2026-04-10-ai-scribes-and-the-future-of-precision-medicine.md"
    ]
    result = build(config, due)
    assert result.errors == []
    return out


@pytest.mark.parametrize("name", FILES)
def test_sample_feed_matches_golden(output: Path, name: str) -> None:
    produced = (output / name).read_bytes()
    golden = GOLDEN / name
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(produced)
    assert produced == golden.read_bytes()


@pytest.mark.parametrize("name", ["feed.xml", "rss.xml"])
def test_golden_feeds_parse_cleanly(name: str) -> None:
    feed = feedparser.parse((GOLDEN / name).read_bytes())
    assert not feed.bozo
    assert len(feed.entries) == 2
