"""Property test: whatever a post says, the feeds stay valid and hold it."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from helpers import make_site
from hypothesis import given
from hypothesis import strategies as st
from test_scan_property import SETTINGS, as_yaml, front_matter

from syndicate.feeds import build
from syndicate.posts import due_posts, scan

NOW = datetime(2100, 1, 1, tzinfo=UTC)
# Text that tends to break feeds: markup, entities, CDATA ends, control
# characters, lone surrogates' neighbours, right-to-left marks.
awkward = st.lists(
    st.one_of(
        st.sampled_from(
            ["<", ">", "&", "]]>", "&amp;", "\x00", "\x07", "\x1b", "\u200f", "\ufffe"]
        ),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=5),
    ),
    max_size=12,
).map("".join)


@SETTINGS
@given(data=front_matter, title=awkward, body_text=awkward)
def test_feeds_parse_cleanly_and_hold_every_due_post(
    data: dict[str, Any], title: str, body_text: str
) -> None:
    data = {**data, "title": title}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = make_site(root, {"2026-01-05-x.md": as_yaml(data, body_text).decode("utf-8")})
        found = scan(config.site)
        due = due_posts(found.posts, NOW)
        result = build(config, due)
        rendered = len(due) - len(result.errors)
        for name in ("feed.xml", "rss.xml"):
            feed = feedparser.parse((config.feeds.output_dir / name).read_bytes())
            assert not feed.bozo, (name, feed.get("bozo_exception"))
            assert len(feed.entries) == rendered
        document = json.loads((config.feeds.output_dir / "feed.json").read_text("utf-8"))
        assert len(document["items"]) == rendered
