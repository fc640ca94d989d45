"""Fitting text to limits and defusing mentions: pure functions, tables."""

from __future__ import annotations

import pytest

from syndicate.textfit import (
    characters,
    defuse_mentions,
    fit,
    graphemes,
    shorten,
    slack_escape,
    telegram_escape,
    utf16_units,
)


@pytest.mark.parametrize(
    ("text", "limit", "measure", "expected"),
    [
        ("Hello wonderful world", 100, characters, "Hello wonderful world"),
        ("Hello wonderful world", 12, characters, "Hello…"),
        ("Hello   spaced\nwords", 100, characters, "Hello spaced words"),
        ("👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧", 2, graphemes, "👩‍👩‍👧…"),
        ("e\u0301e\u0301e\u0301e\u0301", 3, graphemes, "e\u0301e\u0301…"),
        ("See https://docs.example.com/guide/section-one for more", 40, characters, "See…"),
        ("abcdefghijklmnop", 5, characters, "abcd…"),
        ("anything", 0, characters, ""),
    ],
    ids=["fits", "word", "spaces", "zwj", "combining", "url-never-cut", "no-space", "zero"],
)
def test_shorten(text: str, limit: int, measure: object, expected: str) -> None:
    assert shorten(text, limit, measure) == expected  # type: ignore[arg-type]


def test_fit_shortens_the_summary_then_the_title_never_the_link() -> None:
    link = "https://blog.example.com/a/long/permalink.html"

    def render(title: str, summary: str) -> str:
        return f"{title}\n{summary}\n{link}"

    text = fit(render, "Title", "word " * 100, 80, characters)
    assert text.endswith(link) and len(text) <= 80 and "word…" in text
    text = fit(render, "A long title " * 10, "summary", 70, characters)
    assert text.endswith(link) and len(text) <= 70


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi @bob", "hi @\u200bbob"),
        ("@alice@mastodon.example", "@\u200balice@mastodon.example"),
        ("@@bob", "@@\u200bbob"),
        ("mail ada@example.com", "mail ada@example.com"),
        ("@ alone", "@ alone"),
        ("¼@0100", "¼@\u200b0100"),
    ],
)
def test_defuse_mentions(text: str, expected: str) -> None:
    assert defuse_mentions(text) == expected


def test_escapes_and_counts() -> None:
    assert slack_escape("<!channel> & <b>") == "&lt;!channel&gt; &amp; &lt;b&gt;"
    assert telegram_escape('<b> & "q"') == '&lt;b&gt; &amp; "q"'
    assert utf16_units("a😀") == 3
    assert graphemes("🇩🇪e\u0301") == 2
