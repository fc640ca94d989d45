"""Links, ids and dates equal what Jekyll 4.3 + jekyll-feed wrote for the same posts.

The expected files were produced by the real Jekyll (``scripts/jekyll-reference``);
each case is one ``_config.yml`` applied to the posts in ``fixtures/jekyll``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syndicate.config import parse_config
from syndicate.posts import Post, scan

FIXTURE = Path(__file__).parent / "fixtures" / "jekyll"
CASES = json.loads((FIXTURE / "cases.json").read_text(encoding="utf-8"))


def site_config(jekyll: dict[str, Any], tmp_path: Path) -> Any:
    site: dict[str, Any] = {
        "title": jekyll["title"],
        "url": jekyll["url"],
        "timezone": jekyll.get("timezone", "UTC"),
        "posts_dir": str(FIXTURE),
    }
    for key in ("baseurl", "permalink"):
        if key in jekyll:
            site[key] = jekyll[key]
    return parse_config({"site": site}, tmp_path / "config" / "syndicate.toml")


def scanned(case: dict[str, Any], tmp_path: Path) -> dict[str, Post]:
    config = site_config(case["config"], tmp_path)
    result = scan(config.site)
    return {post.path.relative_to(FIXTURE).as_posix(): post for post in result.posts}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    data = json.loads((FIXTURE / "expected" / f"{case['name']}.json").read_text("utf-8"))
    return {k: v for k, v in data.items() if "/" in k}  # the rest is notes


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_links_and_ids_match_jekyll(case: dict[str, Any], tmp_path: Path) -> None:
    posts = scanned(case, tmp_path)
    compared = 0
    for source, entry in expected(case).items():
        if entry is None:
            # Jekyll left it out: unpublished, or no date in the file name
            # (syndicate reads those when the front matter has a date).
            if source in posts:
                assert posts[source].hidden or "-" not in source.split("/")[-1][:11]
            continue
        post = posts[source]
        assert (post.url, post.id) == (entry["url"], entry["id"]), source
        compared += 1
    assert compared >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_dates_are_the_same_instants(case: dict[str, Any], tmp_path: Path) -> None:
    posts = scanned(case, tmp_path)
    for source, entry in expected(case).items():
        if entry is None:
            continue
        assert posts[source].date == datetime.fromisoformat(entry["published"]), source
        assert posts[source].updated == datetime.fromisoformat(entry["updated"]), source
