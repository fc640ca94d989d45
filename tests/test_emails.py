"""The shared email rendering (``syndicate/emails.py``) every newsletter
target uses: the sample post as summary and as full content, links made
absolute, the image, the subject template, the plain-text part, and template
mistakes reported at config load with the key and the line.

The HTML is read with ``html.parser``, as a mail client would parse it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import make_site, post

from syndicate.config import Config, load_config
from syndicate.emails import Email, load_email_templates, render_email
from syndicate.errors import ConfigError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.tables import Table

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "ai-scribes-and-the-future-of-precision-medicine.md"


class Page(HTMLParser):
    """Tags, links and images of an HTML email."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (attribute, value)
        self.images: list[dict[str, str | None]] = []
        self.anchors: list[tuple[str | None, str]] = []  # (href, text)
        self._href: str | None = None
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name) is not None:
                self.links.append((name, values[name] or ""))
        if tag == "img":
            self.images.append(values)
        if tag == "a":
            self._href, self._text = values.get("href"), []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.anchors.append((self._href, " ".join("".join(self._text).split())))


def templates(config: Config, **options: Any) -> Any:
    return load_email_templates(Table(options, "targets[0].", config.path), config.root)


def absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@pytest.fixture(scope="module")
def sample() -> tuple[Config, Entry]:
    config = load_config(ROOT / "config" / "syndicate.toml")
    found = next(p for p in scan(config.site).posts if p.source.endswith(SAMPLE))
    return config, render_entry(found, config.site)


def render(config: Config, entry: Entry, **options: Any) -> Email:
    return render_email(templates(config, **options), entry, config.site)


# --- the sample post -------------------------------------------------------------


@pytest.mark.parametrize("content", ["summary", "full"])
def test_the_sample_post_as_html(sample: tuple[Config, Entry], content: str) -> None:
    config, entry = sample
    mail = render(config, entry, content=content)
    page = Page(mail.html)
    assert page.links, "no links at all"
    relative = [value for _, value in page.links if not absolute(value)]
    assert relative == []
    (image,) = page.images
    assert image["src"] == entry.post.image and absolute(image["src"] or "")
    assert image["width"] == "536"  # clients that ignore CSS still scale it
    assert image["alt"] == entry.post.title  # no image_alt: the title
    assert (entry.post.url, "Read on the site") in page.anchors
    assert "<h1 " in mail.html and entry.post.title in mail.html
    assert 'lang="en"' in mail.html
    summary_start = entry.summary[:60]
    assert summary_start in mail.html
    if content == "full":
        assert "<strong>1. Capturing Granular Patient Data:</strong>" in mail.html
        assert "Accelerating Research into Rare Diseases" in mail.html
    else:
        assert "Capturing Granular Patient Data" not in mail.html


@pytest.mark.parametrize("content", ["summary", "full"])
def test_the_sample_post_as_plain_text(sample: tuple[Config, Entry], content: str) -> None:
    config, entry = sample
    text = render(config, entry, content=content).text
    assert text.startswith(entry.post.title + "\n\n")
    assert text.endswith(f"Read on the site: {entry.post.url}\n")
    assert "<" not in text and "&amp;" not in text  # text, not markup
    if content == "full":
        assert "**" not in text and "1. Capturing Granular Patient Data:" in text
        # One blank line between paragraphs.
        assert "\n\nIn conclusion, AI medical scribes" in text
    else:
        assert entry.summary in text and "Capturing Granular" not in text


def test_the_subject_is_the_title_by_default(sample: tuple[Config, Entry]) -> None:
    config, entry = sample
    assert render(config, entry).subject == "AI Scribes and the Future of Precision Medicine"


def test_a_subject_template_is_one_line(sample: tuple[Config, Entry]) -> None:
    config, entry = sample
    subject = render(config, entry, subject="{{ site.title }}:\n  {{ post.title }}\n").subject
    assert subject == "Clinical Notes: AI Scribes and the Future of Precision Medicine"


def test_an_empty_subject_falls_back_to_the_title(sample: tuple[Config, Entry]) -> None:
    config, entry = sample
    assert render(config, entry, subject="{{ '' }}").subject == entry.post.title


# --- a post with relative links and markup in its text ---------------------------


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-links.md": post(
                "Fish & <Chips>",
                "2026-04-10 09:30:00 +0000",
                "See [the docs](/docs/start.html), [next door](other.html) and"
                " [up](../up.html#part).\n\n![a chart](/assets/chart.png)\n\nMore.",
                image="/assets/cover.jpg",
                image_alt='"A plate of fish"',
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    (found,) = scan(site.site).posts
    return render_entry(found, site.site)


def test_relative_links_in_the_full_post_are_made_absolute(site: Config, entry: Entry) -> None:
    page = Page(render(site, entry, content="full").html)
    values = [value for _, value in page.links]
    assert all(absolute(value) for value in values), values
    assert "https://blog.example.com/docs/start.html" in values
    assert "https://blog.example.com/assets/chart.png" in values
    base = entry.post.url.rsplit("/", 1)[0]
    assert f"{base}/other.html" in values


def test_text_from_the_post_is_escaped_in_html_only(site: Config, entry: Entry) -> None:
    mail = render(site, entry)
    assert "Fish &amp; &lt;Chips&gt;" in mail.html and "<Chips>" not in mail.html
    assert mail.subject == "Fish & <Chips>"
    assert mail.text.startswith("Fish & <Chips>\n")


def test_image_alt_comes_from_the_front_matter(site: Config, entry: Entry) -> None:
    (cover, *_) = Page(render(site, entry).html).images
    assert cover["alt"] == "A plate of fish"
    assert cover["src"] == "https://blog.example.com/assets/cover.jpg"


def test_own_template_files(site: Config, entry: Entry) -> None:
    (site.root / "mail").mkdir()
    (site.root / "mail" / "page.html.j2").write_text("<p>{{ post.title }}</p>", "utf-8")
    (site.root / "mail" / "page.txt.j2").write_text("{{ post.title }} {{ post.url }}", "utf-8")
    mail = render(site, entry, html_template="mail/page.html.j2", text_template="mail/page.txt.j2")
    assert mail.html == "<p>Fish &amp; &lt;Chips&gt;</p>"  # autoescaped
    assert mail.text == f"Fish & <Chips> {entry.post.url}\n"


# --- mistakes surface at config load ---------------------------------------------


@pytest.mark.parametrize(
    ("options", "files", "expected"),
    [
        ({"subject": "{{ post.title"}, {}, "targets[0].subject: line 1:"),
        ({"subject": "{{ post.nope }}"}, {}, "targets[0].subject: "),
        (
            {"html_template": "bad.html.j2"},
            {"bad.html.j2": "<p>\n{{ post.title }}\n{% if %}\n"},
            "targets[0].html_template: line 3:",
        ),
        (
            {"text_template": "bad.txt.j2"},
            {"bad.txt.j2": "{{ post.title }}\n\n{{ post.url | nosuchfilter }}"},
            "targets[0].text_template: line 3:",
        ),
        (
            {"html_template": "undefined.html.j2"},
            {"undefined.html.j2": "{{ post.missing_field }}"},
            "targets[0].html_template: ",
        ),
        ({"text_template": "absent.txt.j2"}, {}, "targets[0].text_template: cannot read"),
        ({"content": "everything"}, {}, 'targets[0].content: expected one of "summary", "full"'),
    ],
)
def test_template_mistakes_are_config_errors(
    site: Config, options: dict[str, str], files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        (site.root / name).write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        templates(site, **options)
    assert str(caught.value).startswith(f"{site.path}: {expected}")
