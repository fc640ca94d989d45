"""Property tests: whatever is in the posts folder, ``scan`` answers.

Each file yields exactly one Post, exactly one BadFile, or nothing (a file that
is not a post), and nothing escapes ``scan`` or ``summary`` but PostError.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.config import SiteConfig, parse_config
from syndicate.errors import PostError
from syndicate.posts import Scan, scan, summary

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DATED = ("2026-01-01-x.md", "2026-01-02-x.md", "2026-01-03-x.md")
UNDATED = "notes.md"

# The keys the scan reads, plus a few it does not.
POST_KEYS = (
    "date",
    "title",
    "categories",
    "tags",
    "category",
    "image",
    "published",
    "draft",
    "permalink",
    "slug",
    "id",
    "excerpt",
    "author",
    "last_modified_at",
)

# What a BadFile message starts with: a front-matter field the scan reads, or
# one of the file-level problems.
FIELD_NAMES = (
    *POST_KEYS,
    *("updated", "lastmod", "modified", "tag", "guid", "images"),
    *("description", "summary", "excerpt_separator"),
)
FILE_PROBLEMS = (
    "front matter: ",
    "file name: ",
    "not UTF-8 text: ",
    "UTF-16 text ",
    "cannot read the file ",
)
MESSAGE_START = re.compile(
    "^(?:"
    + "|".join(re.escape(f"{name}: ") for name in FIELD_NAMES)
    + "|"
    + "|".join(map(re.escape, FILE_PROBLEMS))
    + "|id .+ is also the id of )"
)


def site_for(folder: Path) -> SiteConfig:
    raw = {"title": "Example", "url": "https://example.com", "posts_dir": str(folder)}
    return parse_config({"site": raw}, folder.parent / "config" / "syndicate.toml").site


def records(result: Scan, name: str) -> int:
    source = f"posts/{name}"
    return sum(p.source == source for p in result.posts) + sum(
        e.source == source for e in result.errors
    )


def scan_folder(files: dict[str, bytes]) -> Scan:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "posts")
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        site = site_for(folder)
        result = scan(site)
        for post in result.posts:
            try:
                text = summary(post)
            except PostError as exc:
                assert str(exc)
            else:
                assert isinstance(text, str)
        return result


# --- (a) arbitrary bytes ----------------------------------------------------------

# Characters YAML, TOML and JSON give meaning to, digits, and the letters of
# YAML's type tags (!!int, !!float, !!bool, !!timestamp).
SYNTAX = ":-[]{}\n #'\"!&*,?|>@=.\\\t~0123456789 abefilmnostrauxy\r"

raw_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=80).map(lambda t: t.encode("utf-8")),
    st.text(alphabet=SYNTAX, max_size=80).map(lambda t: t.encode("utf-8")),
)
# Bytes are mostly rejected on the first line; frame some so the front matter
# parsers and the body reader see them too.
framed = st.one_of(
    raw_bytes,
    st.builds(lambda fm, rest: b"---\n" + fm + b"\n---\n" + rest, raw_bytes, raw_bytes),
    st.builds(lambda fm, rest: b"+++\n" + fm + b"\n+++\n" + rest, raw_bytes, raw_bytes),
    st.builds(lambda fm, rest: b"{\n" + fm + b"\n}\n" + rest, raw_bytes, raw_bytes),
    st.builds(lambda fm: b"---\n" + fm, raw_bytes),
    st.builds(lambda rest: b"---\ntitle: t\n---\n" + rest, raw_bytes),
    st.builds(lambda head, rest: b"\xef\xbb\xbf" + head + b"\r\n" + rest, raw_bytes, raw_bytes),
)


@SETTINGS
@given(contents=st.lists(framed, min_size=len(DATED) + 1, max_size=len(DATED) + 1))
def test_arbitrary_bytes_never_escape_scan(contents: list[bytes]) -> None:
    names = [*DATED, UNDATED]
    result = scan_folder(dict(zip(names, contents, strict=True)))
    for name in DATED:
        # A dated Markdown file is always a post or an error, never skipped.
        assert records(result, name) == 1, name
    assert records(result, UNDATED) in (0, 1)
    assert len(result.posts) + len(result.errors) <= len(names)
    assert [p.date for p in result.posts] == sorted((p.date for p in result.posts), reverse=True)


# --- (b) arbitrary front matter ------------------------------------------------------


text = st.one_of(st.text(max_size=20), st.from_regex(r"[-+]?0[0-9]{1,3}", fullmatch=True))
scalars = st.one_of(
    text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["2026-01-05", "2026-01-05 10:00 +0200", "2026-13-45", "yes", "no", "/x/"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=8,
)
front_matter = st.dictionaries(st.one_of(st.sampled_from(POST_KEYS), text), values, max_size=8)
bodies = st.text(max_size=120)


def as_yaml(data: dict[str, Any], body_text: str) -> bytes:
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return ("---\n" + dumped + "---\n" + body_text).encode("utf-8")


def as_json(data: dict[str, Any], body_text: str) -> bytes:
    dumped = json.dumps(data, indent=2, ensure_ascii=False)
    return (dumped + "\n" + body_text).encode("utf-8")


@SETTINGS
@given(data=front_matter, body_text=bodies)
def test_arbitrary_front_matter_is_one_post_or_one_error(
    data: dict[str, Any], body_text: str
) -> None:
    for render in (as_yaml, as_json):
        # One file per scan, so two files can never share an id.
        name = "2026-01-05-x.md"
        result = scan_folder({name: render(data, body_text)})
        assert len(result.posts) + len(result.errors) == 1, render.__name__
        for error in result.errors:
            assert error.source == f"posts/{name}"
            assert error.message, render.__name__
            assert "\n" not in error.message and "\r" not in error.message
            assert MESSAGE_START.match(error.message), error.message
        for post in result.posts:
            assert post.date.tzinfo is not None
            assert post.url.startswith("https://example.com/")
            assert isinstance(post.title, str)
