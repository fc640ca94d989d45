"""Scanning a posts folder: which files are posts, what is read from them, and
how a bad file becomes one error record without stopping the others."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syndicate.config import SiteConfig, parse_config
from syndicate.errors import PostError
from syndicate.posts import BadFile, Post, Scan, body, is_due, scan, status, summary

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
URL = "https://example.com"


# --- helpers -------------------------------------------------------------------


def make_site(root: Path, posts_dir: str = "posts", **site: Any) -> SiteConfig:
    """A site config whose posts folder is ``root/posts_dir`` (created)."""
    folder = root / posts_dir
    folder.mkdir(parents=True, exist_ok=True)
    raw = {"title": "Example", "url": URL, "posts_dir": str(folder), **site}
    return parse_config({"site": raw}, root / "config" / "syndicate.toml").site


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """Write bytes exactly (no newline translation)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def scan_files(root: Path, files: Mapping[str, str | bytes], **site: Any) -> Scan:
    config = make_site(root, **site)
    for name, content in files.items():
        write(config.posts_dir, name, content)
    return scan(config)


def one_post(root: Path, name: str, content: str | bytes, **site: Any) -> Post:
    result = scan_files(root, {name: content}, **site)
    assert result.errors == (), [str(e) for e in result.errors]
    assert len(result.posts) == 1
    return result.posts[0]


def one_error(root: Path, name: str, content: str | bytes, **site: Any) -> BadFile:
    result = scan_files(root, {name: content}, **site)
    assert result.posts == ()
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    error = result.errors[0]
    assert error.source == f"posts/{name}"
    assert error.message and "\n" not in error.message
    return error


def _scan_survives(tmp_path: Path, name: str, content: str | bytes) -> tuple[Scan, int]:
    """Scan the file next to a good post; return the scan and how many records
    (posts + errors) the file produced."""
    result = scan_files(tmp_path, {name: content, "2026-01-06-good.md": yaml_post("title: Good")})
    assert "Good" in [p.title for p in result.posts]
    source = f"posts/{name}"
    produced = sum(p.source == source for p in result.posts)
    produced += sum(e.source == source for e in result.errors)
    return result, produced


def yaml_post(*lines: str, body_text: str = "Body text.\n") -> str:
    return "---\n" + "".join(f"{line}\n" for line in lines) + "---\n" + body_text


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


# --- dates -------------------------------------------------------------------------


DATES = [
    ("name-only", [], datetime(2026, 1, 5, tzinfo=UTC)),
    ("front-matter-day", ["date: 2026-03-01"], datetime(2026, 3, 1, tzinfo=UTC)),
    (
        "front-matter-offset",
        ["date: 2026-03-01 10:00:00 +0500"],
        datetime(2026, 3, 1, 10, 0, tzinfo=tz(5)),
    ),
    ("front-matter-z", ["date: 2026-03-01T10:00:00Z"], datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("empty-date-falls-back", ["date:"], datetime(2026, 1, 5, tzinfo=UTC)),
]


@pytest.mark.parametrize(("lines", "expected"), [d[1:] for d in DATES], ids=[d[0] for d in DATES])
def test_front_matter_date_overrides_the_file_name(
    tmp_path: Path, lines: list[str], expected: datetime
) -> None:
    post = one_post(tmp_path, "2026-01-05-hello.md", yaml_post(*lines))
    assert post.date == expected
    assert post.date.utcoffset() == expected.utcoffset()  # the post's own offset is kept


def test_undated_file_with_front_matter_date_is_a_post(tmp_path: Path) -> None:
    post = one_post(tmp_path, "hello.md", yaml_post("date: 2026-03-01 08:00"))
    assert post.date == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert post.slug == "hello"


def test_undated_file_without_any_date_is_one_error(tmp_path: Path) -> None:
    error = one_error(tmp_path, "hello.md", yaml_post("title: Hello"))
    assert error.message.startswith("date: missing")


NAIVE = [
    ("summer-field", "2026-07-01-a.md", ["date: 2026-07-01 10:00"], (7, 1, 10), 2),
    ("winter-field", "2026-01-15-a.md", ["date: 2026-01-15 10:00"], (1, 15, 10), 1),
    ("summer-name", "2026-07-01-a.md", [], (7, 1, 0), 2),
    ("winter-name", "2026-01-15-a.md", [], (1, 15, 0), 1),
]


@pytest.mark.parametrize(
    ("name", "lines", "wall", "offset"), [n[1:] for n in NAIVE], ids=[n[0] for n in NAIVE]
)
def test_naive_dates_are_in_the_site_zone(
    tmp_path: Path, name: str, lines: list[str], wall: tuple[int, int, int], offset: int
) -> None:
    post = one_post(tmp_path, name, yaml_post(*lines), timezone="Europe/Berlin")
    month, day, hour = wall
    assert post.date.replace(tzinfo=None) == datetime(2026, month, day, hour)
    assert post.date.utcoffset() == timedelta(hours=offset)


def test_naive_toml_datetime_is_in_the_site_zone(tmp_path: Path) -> None:
    text = "+++\ndate = 2026-07-01T10:00:00\n+++\nBody.\n"
    post = one_post(tmp_path, "a.md", text, timezone="Europe/Berlin")
    assert post.date == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_permalink_date_parts_are_taken_in_the_site_zone(tmp_path: Path) -> None:
    # 23:30 in New York on 1 March is 2 March in Berlin: the URL follows the site.
    text = yaml_post("date: 2026-03-01 23:30:00 -0500")
    post = one_post(tmp_path, "2026-03-01-late.md", text, timezone="Europe/Berlin")
    assert post.url == f"{URL}/2026/03/02/late.html"
    assert post.date.utcoffset() == timedelta(hours=-5)


UPDATED = [
    ("last_modified_at", ["last_modified_at: 2026-02-01 10:00"], datetime(2026, 2, 1, 10)),
    ("updated", ["updated: 2026-02-02"], datetime(2026, 2, 2)),
    ("lastmod", ["lastmod: 2026-02-03T08:00:00Z"], datetime(2026, 2, 3, 8)),
    ("modified", ["modified: 2026-02-04"], datetime(2026, 2, 4)),
    (
        "last_modified_at-wins",
        ["lastmod: 2026-02-03", "updated: 2026-02-02", "last_modified_at: 2026-02-01"],
        datetime(2026, 2, 1),
    ),
    ("none", [], datetime(2026, 1, 5)),
    ("before-date-is-date", ["updated: 2025-12-01"], datetime(2026, 1, 5)),
]


@pytest.mark.parametrize(
    ("lines", "expected"), [u[1:] for u in UPDATED], ids=[u[0] for u in UPDATED]
)
def test_updated_comes_from_modification_fields(
    tmp_path: Path, lines: list[str], expected: datetime
) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines))
    assert post.updated == expected.replace(tzinfo=UTC)
    assert post.date == datetime(2026, 1, 5, tzinfo=UTC)


def test_bad_updated_value_names_its_field(tmp_path: Path) -> None:
    error = one_error(tmp_path, "2026-01-05-a.md", yaml_post("lastmod: soon"))
    assert error.message.startswith("lastmod: expected a date like")


# --- due, scheduled, draft, unpublished -----------------------------------------


STATUS = [
    ("past", ["date: 2026-04-01"], "due"),
    ("exactly-now", ["date: 2026-04-10 12:00:00 UTC"], "due"),
    ("same-moment-other-offset", ["date: 2026-04-10 14:00:00 +0200"], "due"),
    ("one-second-later", ["date: 2026-04-10 12:00:01 UTC"], "scheduled"),
    ("future", ["date: 2026-05-01"], "scheduled"),
    ("published-false", ["date: 2026-04-01", "published: false"], "unpublished"),
    ("published-no-string", ["date: 2026-04-01", 'published: "no"'], "unpublished"),
    ("published-no-plain", ["date: 2026-04-01", "published: no"], "unpublished"),
    ("published-true", ["date: 2026-04-01", "published: true"], "due"),
    ("published-yes-future", ["date: 2026-05-01", "published: yes"], "scheduled"),
    ("draft-true", ["date: 2026-04-01", "draft: true"], "draft"),
    ("draft-yes", ["date: 2026-04-01", "draft: yes"], "draft"),
    ("draft-on", ["date: 2026-04-01", "draft: on"], "draft"),
    ("draft-future", ["date: 2026-05-01", "draft: true"], "draft"),
    ("draft-false", ["date: 2026-04-01", "draft: false"], "due"),
    ("draft-no", ["date: 2026-04-01", "draft: no"], "due"),
    (
        "unpublished-and-draft",
        ["date: 2026-04-01", "published: false", "draft: true"],
        "unpublished",
    ),
]


@pytest.mark.parametrize(("lines", "expected"), [s[1:] for s in STATUS], ids=[s[0] for s in STATUS])
def test_status_with_an_injected_now(tmp_path: Path, lines: list[str], expected: str) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines))
    assert status(post, NOW) == expected
    assert is_due(post, NOW) is (expected == "due")


def test_toml_draft_is_a_draft(tmp_path: Path) -> None:
    post = one_post(tmp_path, "a.md", "+++\ndate = 2026-04-01\ndraft = true\n+++\nBody.\n")
    assert status(post, NOW) == "draft"
    assert not is_due(post, NOW)


@pytest.mark.parametrize(
    ("line", "field"),
    [("published: maybe", "published"), ("draft: 1", "draft"), ("draft: [true]", "draft")],
    ids=["published-maybe", "draft-number", "draft-list"],
)
def test_unclear_flags_are_one_error(tmp_path: Path, line: str, field: str) -> None:
    error = one_error(tmp_path, "2026-01-05-a.md", yaml_post(line))
    assert error.message.startswith(f"{field}: expected true or false")


# --- categories and tags -------------------------------------------------------------


CATEGORIES = [
    ("list", ["categories: [Travel, Food]"], ("Travel", "Food")),
    ("block-list", ["categories:", "  - Travel", "  - Food"], ("Travel", "Food")),
    ("space-separated", ["categories: Travel Food"], ("Travel", "Food")),
    ("singular-not-split", ["category: Big News"], ("Big News",)),
    ("singular-list", ["category: [Big News, Small]"], ("Big News", "Small")),
    ("numbers", ["categories: [2026, 1.5]"], ("2026", "1.5")),
    ("number-scalar", ["categories: 2026"], ("2026",)),
    ("duplicates", ["categories: [a, b, a]", "category: b"], ("a", "b")),
    ("plural-then-singular", ["categories: x y", "category: z w"], ("x", "y", "z w")),
    ("null", ["categories:"], ()),
    ("null-items-skipped", ["categories: [a, null, b]"], ("a", "b")),
]


@pytest.mark.parametrize(
    ("lines", "expected"), [c[1:] for c in CATEGORIES], ids=[c[0] for c in CATEGORIES]
)
def test_categories(tmp_path: Path, lines: list[str], expected: tuple[str, ...]) -> None:
    assert one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines)).categories == expected


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("categories: {a: 1}", "categories"),
        ("categories: [[a]]", "categories"),
        ("tags: [{a: 1}]", "tags"),
    ],
    ids=["mapping", "nested-list", "mapping-in-list"],
)
def test_bad_categories_and_tags_are_one_error(tmp_path: Path, line: str, field: str) -> None:
    error = one_error(tmp_path, "2026-01-05-a.md", yaml_post(line))
    assert error.message.startswith(f"{field}: expected")


TAGS = [
    ("list", ["tags: [python, web]"], ("python", "web")),
    ("string", ["tags: python web"], ("python", "web")),
    ("singular-not-split", ["tag: static sites"], ("static sites",)),
    ("duplicates", ["tags: [a, b, a]", "tag: b"], ("a", "b")),
    ("none", [], ()),
]


@pytest.mark.parametrize(("lines", "expected"), [t[1:] for t in TAGS], ids=[t[0] for t in TAGS])
def test_tags(tmp_path: Path, lines: list[str], expected: tuple[str, ...]) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines))
    assert post.tags == expected
    assert post.categories == ()  # tags never become categories


FOLDERS = [
    ("subfolder", "posts", "travel/2026-01-05-a.md", ("travel",)),
    ("nested-subfolders", "posts", "travel/europe/2026-01-05-a.md", ("travel", "europe")),
    ("top-level", "posts", "2026-01-05-a.md", ()),
    ("inside-_posts-not-categories", "_posts", "travel/2026-01-05-a.md", ()),
    ("above-_posts", "site", "travel/_posts/2026-01-05-a.md", ("travel",)),
    ("above-nested-_posts", "site", "travel/_posts/old/2026-01-05-a.md", ("travel",)),
    ("bare-_posts", "site", "_posts/2026-01-05-a.md", ()),
]


@pytest.mark.parametrize(
    ("posts_dir", "name", "expected"), [f[1:] for f in FOLDERS], ids=[f[0] for f in FOLDERS]
)
def test_folder_categories(
    tmp_path: Path, posts_dir: str, name: str, expected: tuple[str, ...]
) -> None:
    config = make_site(tmp_path, posts_dir)
    write(config.posts_dir, name, yaml_post("title: A"))
    result = scan(config)
    assert result.errors == ()
    assert [p.categories for p in result.posts] == [expected]


def test_folder_categories_come_before_front_matter_ones(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    write(config.posts_dir, "travel/2026-01-05-a.md", yaml_post("categories: food travel"))
    (post,) = scan(config).posts
    assert post.categories == ("travel", "food")
    assert post.url == f"{URL}/travel/food/2026/01/05/a.html"


# --- which files are posts --------------------------------------------------------


ACCEPTED = [
    ("md", "2026-01-05-hello-world.md", yaml_post("title: Hi"), "Hi", True),
    ("markdown", "2026-01-05-hello-world.markdown", yaml_post("title: Hi"), "Hi", True),
    ("upper-ext", "2026-01-05-hello-world.MD", yaml_post("title: Hi"), "Hi", True),
    ("txt-with-front-matter", "2026-01-05-hello-world.txt", yaml_post("title: Hi"), "Hi", False),
    ("undated-txt-with-date", "notes.txt", yaml_post("date: 2026-01-05"), "Notes", False),
    ("html-with-front-matter", "2026-01-05-hello-world.html", yaml_post("title: Hi"), "Hi", False),
    ("dated-md-without-front-matter", "2026-01-05-hello-world.md", "Body.\n", "Hello World", True),
    ("title-from-slug", "2026-01-05-hello-world.md", yaml_post("tags: a"), "Hello World", True),
    (
        "blank-title-from-slug",
        "2026-01-05-hello-world.md",
        yaml_post("title: ' '"),
        "Hello World",
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "title", "markdown"),
    [a[1:] for a in ACCEPTED],
    ids=[a[0] for a in ACCEPTED],
)
def test_accepted_files(
    tmp_path: Path, name: str, content: str, title: str, markdown: bool
) -> None:
    post = one_post(tmp_path, name, content)
    assert post.title == title
    assert post.is_markdown is markdown
    assert post.source == f"posts/{name}"


def test_dated_md_without_front_matter_gets_slug_url_and_body(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-hello-world.md", "First *para*.\n\nSecond.\n")
    assert post.slug == "hello-world"
    assert post.url == f"{URL}/2026/01/05/hello-world.html"
    assert post.date == datetime(2026, 1, 5, tzinfo=UTC)
    assert body(post) == "First *para*.\n\nSecond.\n"
    assert summary(post) == "First para."


GOOD = yaml_post("title: Real")
IGNORED = [
    ("txt-without-front-matter", "notes.txt", "Just notes.\n"),
    ("dated-txt-without-front-matter", "2026-01-05-notes.txt", "Just notes.\n"),
    ("readme", "README.md", "# About these posts\n\nNothing here.\n"),
    ("dotfile", ".2026-01-05-hidden.md", GOOD),
    ("underscore-file", "_2026-01-05-hidden.md", GOOD),
    ("drafts-folder", "_drafts/2026-01-05-draft.md", GOOD),
    ("hidden-folder", ".git/2026-01-05-x.md", GOOD),
    ("backup-tilde", "2026-01-05-hello.md~", GOOD),
    ("emacs-autosave", "#2026-01-05-hello.md#", GOOD),
    ("image", "2026-01-05-photo.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
    ("no-extension", "2026-01-05-hello", GOOD),
    ("dot-md-only", ".md", GOOD),
]


@pytest.mark.parametrize(("name", "content"), [i[1:] for i in IGNORED], ids=[i[0] for i in IGNORED])
def test_ignored_files(tmp_path: Path, name: str, content: str | bytes) -> None:
    result = scan_files(tmp_path, {name: content, "2026-01-06-real.md": GOOD})
    assert result.errors == ()
    assert [p.source for p in result.posts] == ["posts/2026-01-06-real.md"]


# --- front matter formats -----------------------------------------------------------


FORMATS = [
    ("yaml", "---\ntitle: Hello\ntags: [a, b]\n---\nBody text.\n"),
    ("yaml-dots-close", "---\ntitle: Hello\ntags: [a, b]\n...\nBody text.\n"),
    ("yaml-trailing-spaces", "---  \ntitle: Hello\ntags: [a, b]\n---  \nBody text.\n"),
    ("toml", '+++\ntitle = "Hello"\ntags = ["a", "b"]\n+++\nBody text.\n'),
    ("json", '{\n  "title": "Hello",\n  "tags": ["a", "b"]\n}\nBody text.\n'),
    ("bom-yaml", "\ufeff---\ntitle: Hello\ntags: [a, b]\n---\nBody text.\n"),
    ("bom-toml", '\ufeff+++\ntitle = "Hello"\ntags = ["a", "b"]\n+++\nBody text.\n'),
    ("crlf-yaml", "---\r\ntitle: Hello\r\ntags: [a, b]\r\n---\r\nBody text.\r\n"),
    ("crlf-toml", '+++\r\ntitle = "Hello"\r\ntags = ["a", "b"]\r\n+++\r\nBody text.\r\n'),
    ("crlf-json", '{\r\n "title": "Hello",\r\n "tags": ["a", "b"]\r\n}\r\nBody text.\r\n'),
    ("bom-crlf-yaml", "\ufeff---\r\ntitle: Hello\r\ntags: [a, b]\r\n---\r\nBody text.\r\n"),
]


@pytest.mark.parametrize("content", [f[1] for f in FORMATS], ids=[f[0] for f in FORMATS])
def test_front_matter_formats(tmp_path: Path, content: str) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", content)
    assert post.title == "Hello"
    assert post.tags == ("a", "b")
    assert body(post) == "Body text.\n"  # CRLF made LF, front matter and BOM skipped
    assert summary(post) == "Body text."


def test_crlf_body_is_read_with_lf(tmp_path: Path) -> None:
    content = "---\r\ntitle: A\r\n---\r\nOne\r\nline.\r\n\r\nTwo.\r\n"
    post = one_post(tmp_path, "2026-01-05-a.md", content)
    assert body(post) == "One\nline.\n\nTwo.\n"
    assert summary(post) == "One line."


def test_bom_without_front_matter(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-bom-post.md", "\ufeffHello there.\n\nMore.\n")
    assert post.title == "Bom Post"
    assert body(post) == "Hello there.\n\nMore.\n"


@pytest.mark.parametrize(
    "content",
    ["---\n---\nBody text.\n", "+++\n+++\nBody text.\n", "---\n\n\n---\nBody text.\n"],
    ids=["yaml", "toml", "yaml-blank-lines"],
)
def test_empty_front_matter(tmp_path: Path, content: str) -> None:
    post = one_post(tmp_path, "2026-01-05-hello-there.md", content)
    assert post.title == "Hello There"
    assert post.metadata == {}
    assert body(post) == "Body text.\n"


def test_empty_front_matter_makes_an_undated_file_an_error(tmp_path: Path) -> None:
    # Front matter says "this is a post"; without a date it cannot be one.
    error = one_error(tmp_path, "notes.md", "---\n---\nText.\n")
    assert error.message.startswith("date: missing")


BAD_HEADS = [
    ("yaml-list", "---\n- a\n- b\n---\nBody\n", ["front matter", "mapping", "list"], 2),
    ("yaml-scalar", "---\njust words\n---\nBody\n", ["front matter", "mapping", "text"], 2),
    ("yaml-number", "---\n42\n---\nBody\n", ["front matter", "mapping", "'42'"], 2),
    ("toml-invalid", "+++\ntitle = \n+++\nBody\n", ["front matter", "not valid TOML"], 2),
    (
        "json-invalid",
        '{\n "title": "ok",\n "tags": [1,\n}\nBody\n',
        ["front matter", "not valid JSON", "line 3"],
        3,
    ),
    (
        "yaml-invalid",
        "---\ntitle: ok\ntags: [a, b\nother: x\n---\nBody\n",
        ["front matter", "not valid YAML", "line"],
        None,
    ),
    (
        "yaml-mapping-value",
        "---\ntitle: ok\nbad: a: b\n---\nBody\n",
        ["front matter", "not valid YAML", "line 3"],
        3,
    ),
    ("yaml-no-close", "---\ntitle: ok\nBody\n", ["front matter", 'no closing "---"'], 1),
    ("toml-no-close", '+++\ntitle = "ok"\n', ["front matter", 'no closing "+++"'], 1),
    ("json-no-close", '{\n "title": "ok"\n', ["front matter", 'no closing "}"'], 1),
    ("yaml-python-tag", "---\nx: !!python/name:os.system\n---\nB\n", ["not valid YAML"], 2),
    ("not-utf8", b"---\ntitle: caf\xe9\n---\nBody\n", ["not UTF-8", "0xe9", "line 2"], 2),
    ("utf16", "---\ntitle: a\n---\n".encode("utf-16"), ["UTF-16"], 1),
]


@pytest.mark.parametrize(
    ("content", "words", "line"), [b[1:] for b in BAD_HEADS], ids=[b[0] for b in BAD_HEADS]
)
def test_bad_front_matter_is_one_error(
    tmp_path: Path, content: str | bytes, words: list[str], line: int | None
) -> None:
    error = one_error(tmp_path, "2026-01-05-a.md", content)
    for word in words:
        assert word in error.message
    if line is not None:
        assert error.line == line
        assert str(error).startswith(f"posts/2026-01-05-a.md:{line}: ")
    else:
        assert error.line is not None and error.line >= 2


def test_yaml_error_line_counts_from_the_top_of_the_file(tmp_path: Path) -> None:
    content = "---\ntitle: a\ntags: [x]\n\nauthor: Ada\nbad: [1, 2\n---\nBody\n"
    error = one_error(tmp_path, "2026-01-05-a.md", content)
    assert error.line is not None and error.line >= 6  # not counted from the front matter


BAD_FIELDS = [
    ("date-word", ["date: tomorrow"], "date: expected a date like"),
    ("date-impossible", ["date: 2026-02-30"], "date: expected a date like"),
    ("date-number", ["date: 12"], "date: expected a date like"),
    ("title-mapping", ["title: {a: 1}"], "title: expected text, got a mapping"),
    ("title-list", ["title: [a]"], "title: expected text, got a list"),
    ("slug-list", ["slug: [a]"], "slug: expected text"),
    ("id-mapping", ["id: {a: 1}"], "id: expected text"),
    (
        "image-mapping-without-path",
        ["image: {alt: x}"],
        'image: expected a string or a mapping with "path"',
    ),
    ("image-bool", ["image: true"], "image: expected an image path or URL"),
    ("author-bool", ["author: true"], 'author: expected a name or a mapping with "name"'),
    ("permalink-placeholder", ["permalink: /:nope/"], 'permalink: unknown placeholder ":nope"'),
    ("excerpt-list", ["excerpt: [a]"], "excerpt: expected text"),
    ("file-name-date", [], "file name: 2026-02-30 is not a real date"),
]


@pytest.mark.parametrize(
    ("lines", "start"), [b[1:] for b in BAD_FIELDS], ids=[b[0] for b in BAD_FIELDS]
)
def test_bad_field_is_one_error_naming_the_field(
    tmp_path: Path, lines: list[str], start: str
) -> None:
    name = "2026-02-30-a.md" if start.startswith("file name") else "2026-01-05-a.md"
    error = one_error(tmp_path, name, yaml_post(*lines))
    assert error.message.startswith(start)


def test_non_utf8_body_fails_only_when_the_body_is_read(tmp_path: Path) -> None:
    content = b"---\ntitle: Fine\n---\nFirst line.\ncaf\xe9\n"
    post = one_post(tmp_path, "2026-01-05-a.md", content)
    assert post.title == "Fine"
    with pytest.raises(PostError, match=r"not UTF-8 text: byte 0xe9 in the body"):
        body(post)
    with pytest.raises(PostError, match="not UTF-8"):
        summary(post)


def test_non_utf8_body_does_not_matter_with_a_summary_field(tmp_path: Path) -> None:
    content = b"---\nexcerpt: Short.\n---\ncaf\xe9\n"
    post = one_post(tmp_path, "2026-01-05-a.md", content)
    assert summary(post) == "Short."


def test_body_of_a_deleted_file_is_a_post_error(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post("title: A"))
    post.path.unlink()
    with pytest.raises(PostError, match="cannot read the file"):
        body(post)


# --- YAML typing ----------------------------------------------------------------------


TYPING = [
    ("title-yes", "title: Yes", "title", "Yes"),
    ("title-no", "title: no", "title", "no"),
    ("title-on", "title: On", "title", "On"),
    ("title-year", "title: 2026", "title", "2026"),
    ("title-float", "title: 2.5", "title", "2.5"),
    ("title-true", "title: true", "title", "true"),
    ("title-date", "title: 2026-04-10", "title", "2026-04-10"),
    ("title-time", "title: 10:00", "title", "10:00"),
    ("title-tilde", "title: ~", "title", "A Post"),
    ("title-spaces-stripped", "title: '  Hi  '", "title", "Hi"),
    ("slug-number", "slug: 2026", "slug", "2026"),
]


@pytest.mark.parametrize(
    ("line", "attribute", "expected"), [t[1:] for t in TYPING], ids=[t[0] for t in TYPING]
)
def test_yaml_values_are_read_as_people_write_them(
    tmp_path: Path, line: str, attribute: str, expected: str
) -> None:
    post = one_post(tmp_path, "2026-01-05-a-post.md", yaml_post(line))
    assert getattr(post, attribute) == expected


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("time: 10:00", "time", "10:00"),
        ("time: 1:30:00", "time", "1:30:00"),
        ("answer: yes", "answer", "yes"),
        ("when: 2026-04-10", "when", "2026-04-10"),
        ("count: 0x1F", "count", "0x1F"),
        ("ratio: 1e3", "ratio", "1e3"),
        ("episode: 08", "episode", "08"),
        ("id: 007", "id", "007"),
        ("version: 1.10", "version", "1.10"),
        ("flag: TRUE", "flag", True),
        ("nothing: null", "nothing", None),
    ],
    ids=[
        *("sexagesimal", "long-time", "yes", "date", "hex", "exponent"),
        *("leading-zero", "id-leading-zeros", "version", "bool", "null"),
    ],
)
def test_yaml_scalars_are_text_but_booleans_and_null(
    tmp_path: Path, line: str, key: str, expected: object
) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(line))
    assert post.metadata[key] == expected
    assert type(post.metadata[key]) is type(expected)


# --- summary -------------------------------------------------------------------------


SUMMARIES = [
    ("excerpt", ["excerpt: From *excerpt*."], "Ignored.\n", "From excerpt."),
    ("description", ["description: From description."], "Ignored.\n", "From description."),
    ("summary", ["summary: From summary."], "Ignored.\n", "From summary."),
    (
        "excerpt-wins",
        ["summary: S.", "description: D.", "excerpt: E."],
        "Ignored.\n",
        "E.",
    ),
    ("empty-excerpt-ignored", ["excerpt: ''"], "Body para.\n", "Body para."),
    ("field-html", ['excerpt: "<p>Fish &amp; chips</p>"'], "Ignored.\n", "Fish & chips"),
    ("first-paragraph", [], "First one\nstill first.\n\nSecond.\n", "First one still first."),
    ("entities", [], "Salt &amp; pepper &lt;3\n\nNo.\n", "Salt & pepper <3"),
    ("html-tags", [], "A <b>bold</b> <em>move</em>.\n\nNo.\n", "A bold move."),
    ("link", [], "See [link](https://x.example/) now.\n\nNo.\n", "See link now."),
    ("emphasis-and-code", [], "*Very* **much** `code`.\n\nNo.\n", "Very much code."),
    ("heading", [], "# Big title\n\nNo.\n", "Big title"),
    ("image", [], "![alt text](/a.png) after.\n\nNo.\n", "after."),
    ("footnote-ref", [], "Claim[^1].\n\n[^1]: Source.\n", "Claim."),
    ("leading-blank-lines", [], "\n\n\nFirst.\n\nSecond.\n", "First."),
    ("empty-body", [], "", ""),
]


@pytest.mark.parametrize(
    ("lines", "body_text", "expected"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES]
)
def test_summary(tmp_path: Path, lines: list[str], body_text: str, expected: str) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines, body_text=body_text))
    assert summary(post) == expected


def test_summary_uses_given_text_instead_of_reading_the_file(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(body_text="On disk.\n"))
    assert summary(post, "Given *text*.\n\nMore.") == "Given text."


def test_front_matter_excerpt_separator(tmp_path: Path) -> None:
    text = yaml_post(
        "excerpt_separator: <!--more-->", body_text="One.\n\nTwo.\n<!--more-->\nThree.\n"
    )
    post = one_post(tmp_path, "2026-01-05-a.md", text)
    assert post.excerpt_separator == "<!--more-->"
    assert summary(post) == "One. Two."


def test_site_excerpt_separator(tmp_path: Path) -> None:
    text = yaml_post(body_text="One.\n\nTwo.\n<!-- more -->\nThree.\n")
    post = one_post(tmp_path, "2026-01-05-a.md", text, excerpt_separator="<!-- more -->")
    assert summary(post) == "One. Two."


# --- image ---------------------------------------------------------------------------


IMAGES = [
    ("root-path", ["image: /assets/a.png"], "https://example.com/blog/assets/a.png"),
    ("relative-path", ["image: assets/a.png"], "https://example.com/blog/assets/a.png"),
    ("full-url-kept", ["image: https://cdn.example.org/a.png"], "https://cdn.example.org/a.png"),
    (
        "mapping-path",
        ["image:", "  path: /assets/b.png", "  alt: B"],
        "https://example.com/blog/assets/b.png",
    ),
    ("mapping-full-url", ["image: {path: 'http://x.example/c.png'}"], "http://x.example/c.png"),
    (
        "spaces-encoded",
        ["image: /assets/my pic.png"],
        "https://example.com/blog/assets/my%20pic.png",
    ),
    (
        "hugo-images-list",
        ["images: [/assets/h.png, /assets/i.png]"],
        "https://example.com/blog/assets/h.png",
    ),
    ("none", [], None),
    ("empty", ["image: ''"], None),
]


@pytest.mark.parametrize(("lines", "expected"), [i[1:] for i in IMAGES], ids=[i[0] for i in IMAGES])
def test_image(tmp_path: Path, lines: list[str], expected: str | None) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(*lines), baseurl="/blog")
    assert post.image == expected


# --- identity --------------------------------------------------------------------------


IDS = [
    ("permalink", [], "https://example.com/2026/01/05/hello"),
    ("id", ["id: post-17"], "post-17"),
    (
        "guid",
        ["guid: urn:uuid:2c3b1f6e-0000-4000-8000-000000000001"],
        "urn:uuid:2c3b1f6e-0000-4000-8000-000000000001",
    ),
    ("id-over-guid", ["guid: g", "id: i"], "i"),
    ("numeric-id", ["id: 42"], "42"),
    ("id-stripped", ["id: '  spaced  '"], "spaced"),
    ("empty-id-ignored", ["id: ''", "guid: g"], "g"),
]


@pytest.mark.parametrize(("lines", "expected"), [i[1:] for i in IDS], ids=[i[0] for i in IDS])
def test_id(tmp_path: Path, lines: list[str], expected: str) -> None:
    post = one_post(tmp_path, "2026-01-05-hello.md", yaml_post(*lines))
    assert post.id == expected
    assert post.url == "https://example.com/2026/01/05/hello.html"  # the link never changes


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (yaml_post("id: same"), yaml_post("id: same")),
        (yaml_post("guid: same"), yaml_post("id: same")),
        (yaml_post("title: A"), yaml_post("title: B", "date: 2026-01-05")),
        (yaml_post("permalink: /about/"), yaml_post("permalink: /about/")),
    ],
    ids=["id", "guid-vs-id", "same-permalink", "same-custom-permalink"],
)
def test_duplicate_id_makes_the_second_file_an_error(
    tmp_path: Path, first: str, second: str
) -> None:
    result = scan_files(tmp_path, {"2026-01-05-same.md": first, "2026-01-05-same.markdown": second})
    # Files are read in name order: ".markdown" before ".md".
    assert [p.source for p in result.posts] == ["posts/2026-01-05-same.markdown"]
    (error,) = result.errors
    assert error.source == "posts/2026-01-05-same.md"
    assert "posts/2026-01-05-same.markdown" in error.message
    assert error.message.startswith(f"id {result.posts[0].id} ")
    assert "\n" not in error.message


# --- the folder ------------------------------------------------------------------------


def test_a_bad_file_never_stops_the_others(tmp_path: Path) -> None:
    bad: dict[str, str | bytes] = {
        "2026-01-01-list.md": "---\n- a\n---\nBody\n",
        "2026-01-02-yaml.md": "---\ntitle: [\n---\nBody\n",
        "2026-01-03-open.md": "---\ntitle: a\n",
        "2026-01-04-date.md": yaml_post("date: someday"),
        "2026-02-30-name.md": yaml_post("title: x"),
        "2026-01-06-bytes.md": b"---\ntitle: \xff\n---\n",
        "sub/2026-01-07-cats.md": yaml_post("categories: {a: b}"),
        "undated.md": yaml_post("title: no date"),
    }
    good: dict[str, str | bytes] = {
        "2026-01-05-good.md": yaml_post("title: Good"),
        "notes.txt": "not a post\n",
    }
    result = scan_files(tmp_path, {**bad, **good})
    assert [p.title for p in result.posts] == ["Good"]
    assert sorted(e.source for e in result.errors) == sorted(f"posts/{n}" for n in bad)
    for error in result.errors:
        assert error.message and "\n" not in error.message


def test_posts_are_sorted_newest_first(tmp_path: Path) -> None:
    files = {
        "2026-01-01-a.md": yaml_post("date: 2026-01-01 23:00:00 -0500"),  # 04:00Z on the 2nd
        "2026-01-02-b.md": yaml_post("date: 2026-01-02 01:00:00 +0000"),
        "2026-01-02-c.md": yaml_post("date: 2026-01-02 03:00:00 +0000"),
        "2025-12-31-d.md": yaml_post(),
        "travel/2026-03-01-e.md": yaml_post(),
    }
    result = scan_files(tmp_path, files)
    assert result.errors == ()
    assert [p.slug for p in result.posts] == ["e", "a", "c", "b", "d"]
    dates = [p.date for p in result.posts]
    assert dates == sorted(dates, reverse=True)


def test_missing_posts_folder_is_one_error(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    config.posts_dir.rmdir()
    result = scan(config)
    assert result.posts == ()
    assert [e.message for e in result.errors] == ["posts folder not found"]


def test_empty_posts_folder(tmp_path: Path) -> None:
    result = scan(make_site(tmp_path))
    assert result == Scan((), ())


def test_author_from_front_matter_or_site(tmp_path: Path) -> None:
    files = {
        "2026-01-01-a.md": yaml_post("author: Grace"),
        "2026-01-02-b.md": yaml_post("author: {name: Alan, email: alan@example.com}"),
        "2026-01-03-c.md": yaml_post(),
    }
    result = scan_files(tmp_path, files, author={"name": "Ada", "email": "ada@example.com"})
    authors = {p.slug: (p.author.name, p.author.email) for p in result.posts}
    assert authors == {
        "a": ("Grace", ""),
        "b": ("Alan", "alan@example.com"),
        "c": ("Ada", "ada@example.com"),
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("date: 9999-12-31 23:00:00 -1000", "date: 9999-12-31T23:00:00-10:00 is out of range"),
        ("date: 0001-01-01 00:30:00 +0100", "date: 0001-01-01T00:30:00+01:00 is out of range"),
    ],
    ids=["after-year-9999", "before-year-1"],
)
def test_dates_at_the_ends_of_the_calendar_are_one_error(
    tmp_path: Path, line: str, message: str
) -> None:
    result = scan_files(
        tmp_path,
        {"2026-01-05-a.md": yaml_post(line), "2026-01-06-good.md": yaml_post("title: Good")},
    )
    assert [p.title for p in result.posts] == ["Good"]
    assert [(e.source, e.message) for e in result.errors] == [("posts/2026-01-05-a.md", message)]


def test_yaml_lone_surrogate_escape_never_stops_the_scan(tmp_path: Path) -> None:
    # A lone-surrogate escape cannot become UTF-8 in a URL; whether the YAML parser
    # rejects it or the post gets a URL without it, the file yields one record.
    _, produced = _scan_survives(tmp_path, "2026-01-05-a.md", yaml_post('permalink: "/\\ud800/"'))
    assert produced == 1


# --- hostile input found by review ------------------------------------------------------


CRASHES = [
    ("yaml-leading-zero-08", "---\ntitle: 08\n---\nBody\n"),
    ("yaml-leading-zero-minus-09", "---\nepisode: -09\n---\nBody\n"),
    ("yaml-tag-float", "---\nx: !!float abc\n---\nBody\n"),
    ("yaml-tag-int", "---\nx: !!int abc\n---\nBody\n"),
    ("yaml-tag-timestamp", "---\nx: !!timestamp abc\n---\nBody\n"),
    ("yaml-tag-bool", "---\nx: !!bool maybe\n---\nBody\n"),
    ("yaml-huge-int", "---\nx: " + "1" * 5000 + "\n---\nBody\n"),
    ("json-huge-int", '{\n "x": ' + "1" * 5000 + "\n}\nBody\n"),
    ("toml-huge-int", "+++\nx = " + "1" * 5000 + "\n+++\nBody\n"),
    ("json-lone-surrogate-category", '{\n "categories": ["\\ud800"]\n}\nBody\n'),
]


@pytest.mark.parametrize("content", [c[1] for c in CRASHES], ids=[c[0] for c in CRASHES])
def test_hostile_front_matter_never_stops_the_scan(tmp_path: Path, content: str) -> None:
    _, produced = _scan_survives(tmp_path, "2026-01-05-a.md", content)
    assert produced == 1


def test_control_character_in_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    result = scan_files(tmp_path, {"2026-01-05-a.md": "---\ntitle: a\x01b\n---\nBody\n"})
    (error,) = result.errors
    assert error.message.startswith("front matter:")
    assert "\n" not in error.message


def test_duplicate_id_with_a_newline_is_a_one_line_error(tmp_path: Path) -> None:
    same = yaml_post('id: "a\\nb"')
    result = scan_files(tmp_path, {"2026-01-05-a.md": same, "2026-01-06-b.md": same})
    (error,) = result.errors
    assert "\n" not in error.message


def test_toml_error_line_counts_from_the_top_of_the_file(tmp_path: Path) -> None:
    content = '+++\ntitle = "ok"\nfoo = bar\n+++\nBody\n'  # the bad line is line 3
    result = scan_files(tmp_path, {"2026-01-05-a.md": content})
    (error,) = result.errors
    assert error.line == 3


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("README.md", "café notes\n".encode("latin-1")),
        ("notes.txt", "Notizen für später\n".encode("cp1252")),
        ("2026-01-05-notes.txt", "Ünïcödé? nö.\n".encode("latin-1")),
    ],
    ids=["latin1-readme", "cp1252-notes", "dated-latin1-txt"],
)
def test_non_utf8_file_without_front_matter_is_ignored(
    tmp_path: Path, name: str, content: bytes
) -> None:
    _, produced = _scan_survives(tmp_path, name, content)
    assert produced == 0


def test_summary_skips_whitespace_only_leading_lines(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post(body_text="   \n\nFirst.\n\nSecond.\n"))
    assert summary(post) == "First."


def test_front_matter_date_rescues_an_impossible_file_name_date(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-02-30-a.md", yaml_post("date: 2026-03-01"))
    assert post.date == datetime(2026, 3, 1, tzinfo=UTC)


def test_empty_published_and_draft_are_unset(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post("published:", "draft:"))
    assert post.hidden is None


def test_protocol_relative_image_takes_the_site_scheme(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post("image: //cdn.example.net/x.png"))
    assert post.image == "https://cdn.example.net/x.png"


def test_nothing_after_the_date_is_an_error_unless_a_slug_is_given(tmp_path: Path) -> None:
    error = one_error(tmp_path / "one", "2026-01-05-.md", yaml_post())
    assert error.message.startswith("file name: nothing after the date")
    post = one_post(tmp_path / "two", "2026-01-05-.md", yaml_post("slug: named"))
    assert post.url.endswith("/2026/01/05/named.html")


def test_an_id_of_control_characters_falls_back_to_the_link(tmp_path: Path) -> None:
    post = one_post(tmp_path, "2026-01-05-a.md", yaml_post('id: "\\x07 "'))
    assert post.id == "https://example.com/2026/01/05/a"
