"""Feeds: every file parses cleanly in feedparser and carries what the posts say."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from helpers import make_site, post

from syndicate.config import Config
from syndicate.feeds import build
from syndicate.posts import due_posts, scan

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def build_site(config: Config, now: datetime = NOW) -> Any:
    found = scan(config.site)
    return build(config, due_posts(found.posts, now))


def parsed(path: Path) -> Any:
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, f"{path.name}: {feed.get('bozo_exception')}"
    return feed


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-offset.md": post(
                "The <Builds> Problem",
                "2026-04-10 09:30:00 +0200",
                "Don't miss the [docs](/docs/) and ![chart](images/chart.png).\n\nSecond part.",
                categories="[Web Dev, news]",
                tags="[python]",
                image="/assets/cover.jpg",
                last_modified_at="2026-04-12 10:00:00 +0200",
            ),
            "2026-03-01-plain.md": post("Don't panic", "2026-03-01", "Plain *first* paragraph."),
            "2026-02-01-control.md": post("Bell\x07 in a title", "2026-02-01 08:00"),
            "2026-01-01-draft.md": post("A draft", "2026-01-01", draft="true"),
            "2099-01-01-future.md": post("From the future", "2099-01-01"),
        },
        site={"description": "A test blog"},
    )


def test_atom_entries_carry_the_post(site: Config) -> None:
    build_site(site)
    feed = parsed(site.feeds.output_dir / "feed.xml")
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert titles == ["The <Builds> Problem", "Don't panic", "Bell in a title"]
    first = feed.entries[0]
    assert first.link == "https://blog.example.com/web%20dev/news/2026/04/10/offset.html"
    assert first.id == "https://blog.example.com/web%20dev/news/2026/04/10/offset"
    assert first.published == "2026-04-10T09:30:00+02:00"
    assert first.updated == "2026-04-12T10:00:00+02:00"
    assert first.summary == "Don't miss the docs and ."
    content = first.content[0].value
    assert 'href="https://blog.example.com/web%20dev/news/2026/04/10/docs/"' not in content
    assert 'href="https://blog.example.com/docs/"' in content
    assert 'src="https://blog.example.com/web%20dev/news/2026/04/10/images/chart.png"' in content
    assert [t.term for t in first.tags] == ["Web Dev", "news", "python"]
    assert first.media_thumbnail[0]["url"] == "https://blog.example.com/assets/cover.jpg"
    assert first.media_content[0]["type"] == "image/jpeg"
    assert feed.feed.updated == "2026-04-12T10:00:00+02:00"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {
        "alternate": "https://blog.example.com/",
        "self": "https://blog.example.com/feed.xml",
    }


def test_rss_items_carry_the_post(site: Config) -> None:
    build_site(site)
    feed = parsed(site.feeds.output_dir / "rss.xml")
    assert feed.version == "rss20"
    first = feed.entries[0]
    assert first.title == "The <Builds> Problem"
    assert first.link == "https://blog.example.com/web%20dev/news/2026/04/10/offset.html"
    assert first.id == "https://blog.example.com/web%20dev/news/2026/04/10/offset"
    assert first.published == "Fri, 10 Apr 2026 09:30:00 +0200"
    assert first.summary == "Don't miss the docs and ."
    assert 'href="https://blog.example.com/docs/"' in first.content[0].value
    enclosure = first.enclosures[0]
    assert (enclosure.href, enclosure.type) == (
        "https://blog.example.com/assets/cover.jpg",
        "image/jpeg",
    )
    assert feed.entries[1].title == "Don't panic"
    assert len(feed.entries) == 3


def test_json_feed_follows_version_1_1(site: Config) -> None:
    build_site(site)
    document = json.loads((site.feeds.output_dir / "feed.json").read_text("utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "https://blog.example.com/feed.json"
    assert document["home_page_url"] == "https://blog.example.com/"
    first = document["items"][0]
    assert first["title"] == "The <Builds> Problem"
    assert first["url"] == "https://blog.example.com/web%20dev/news/2026/04/10/offset.html"
    assert first["date_published"] == "2026-04-10T09:30:00+02:00"
    assert first["image"] == "https://blog.example.com/assets/cover.jpg"
    assert first["tags"] == ["Web Dev", "news", "python"]
    assert 'href="https://blog.example.com/docs/"' in first["content_html"]
    assert [item["title"] for item in document["items"]][1:] == ["Don't panic", "Bell in a title"]
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]


def test_drafts_and_future_posts_stay_out(site: Config) -> None:
    build_site(site)
    for name in ("feed.xml", "rss.xml"):
        titles = {e.title for e in parsed(site.feeds.output_dir / name).entries}
        assert "A draft" not in titles and "From the future" not in titles


def test_future_post_enters_the_feed_once_due(site: Config) -> None:
    build_site(site, now=datetime(2099, 1, 1, tzinfo=UTC))
    titles = [e.title for e in parsed(site.feeds.output_dir / "feed.xml").entries]
    assert titles[0] == "From the future"


def test_category_feeds_hold_only_their_posts(site: Config) -> None:
    build_site(site)
    web = parsed(site.feeds.output_dir / "categories" / "web-dev" / "feed.xml")
    assert [e.title for e in web.entries] == ["The <Builds> Problem"]
    assert web.feed.title == "Test Blog: Web Dev"
    self_link = next(link.href for link in web.feed.links if link.rel == "self")
    assert self_link == "https://blog.example.com/categories/web-dev/feed.xml"
    assert (site.feeds.output_dir / "categories" / "news" / "rss.xml").is_file()
    assert (site.feeds.output_dir / "categories" / "news" / "feed.json").is_file()


def test_limit_keeps_the_newest(tmp_path: Path) -> None:
    posts = {
        f"2026-01-{day:02d}-p{day}.md": post(f"Post {day}", f"2026-01-{day:02d}")
        for day in range(1, 8)
    }
    config = make_site(tmp_path, posts, feeds={"limit": 3, "categories": False})
    build_site(config)
    titles = [e.title for e in parsed(config.feeds.output_dir / "feed.xml").entries]
    assert titles == ["Post 7", "Post 6", "Post 5"]
    assert not (config.feeds.output_dir / "categories").exists()


def test_second_build_rewrites_nothing(site: Config) -> None:
    first = build_site(site)
    assert first.written and not first.unchanged
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first.written}
    second = build_site(site)
    assert second.written == []
    assert sorted(second.unchanged) == sorted(first.written)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first.written} == before


def test_a_changed_post_rewrites_its_feeds(site: Config) -> None:
    build_site(site)
    path = site.site.posts_dir / "2026-03-01-plain.md"
    path.write_text(path.read_text("utf-8").replace("Plain", "Edited"), "utf-8")
    result = build_site(site)
    assert site.feeds.output_dir / "feed.xml" in result.written
    assert site.feeds.output_dir / "categories" / "web-dev" / "feed.xml" in result.unchanged


def test_unreadable_body_is_reported_and_the_next_post_fills_in(tmp_path: Path) -> None:
    posts: dict[str, str | bytes] = {
        "2026-01-03-broken.md": post("Broken", "2026-01-03").encode() + b"\xff\xfe bad bytes\n",
        "2026-01-02-good.md": post("Good", "2026-01-02"),
        "2026-01-01-older.md": post("Older", "2026-01-01"),
    }
    config = make_site(tmp_path, posts, feeds={"limit": 2})
    result = build_site(config)
    assert [str(e) for e in result.errors] == [
        "posts/2026-01-03-broken.md: not UTF-8 text: byte 0xff in the body, 3 lines after "
        "the front matter (save the file as UTF-8)"
    ]
    titles = [e.title for e in parsed(config.feeds.output_dir / "feed.xml").entries]
    assert titles == ["Good", "Older"]


def test_empty_site_writes_valid_feeds(tmp_path: Path) -> None:
    config = make_site(tmp_path, {})
    build_site(config)
    assert parsed(config.feeds.output_dir / "feed.xml").entries == []
    assert parsed(config.feeds.output_dir / "rss.xml").entries == []


def test_formats_and_paths_come_from_config(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {"2026-01-01-a.md": post("A", "2026-01-01")},
        feeds={"formats": ["rss"], "rss_path": "feeds/all.rss", "output_dir": "out"},
    )
    result = build_site(config)
    assert result.written == [tmp_path / "out" / "feeds" / "all.rss"]
    feed = parsed(tmp_path / "out" / "feeds" / "all.rss")
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert self_link == "https://blog.example.com/feeds/all.rss"


def test_content_that_would_end_a_cdata_section_stays_whole(tmp_path: Path) -> None:
    body = "Raw HTML:\n\n<script>/* <![CDATA[ */ x = 1; /* ]]> */</script>\n\nAfter."
    config = make_site(tmp_path, {"2026-01-01-cdata.md": post("CDATA", "2026-01-01", body)})
    build_site(config)
    for name in ("feed.xml", "rss.xml"):
        (entry,) = parsed(config.feeds.output_dir / name).entries
        assert "After." in entry.content[0].value


def test_enclosure_length_of_a_site_image_with_a_space(tmp_path: Path) -> None:
    config = make_site(
        tmp_path, {"2026-01-01-a.md": post("A", "2026-01-01", image='"/assets/my photo.png"')}
    )
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "my photo.png").write_bytes(b"x" * 123)
    build_site(config)
    (item,) = parsed(config.feeds.output_dir / "rss.xml").entries
    assert item.enclosures[0].href == "https://blog.example.com/assets/my%20photo.png"
    assert item.enclosures[0].length == "123"
