"""Fitting text into a platform's limits, and escaping it for its markup.

Every platform counts differently (characters, graphemes, URLs at a fixed
weight, UTF-8 bytes); each counter is a function ``str -> int`` so ``fit`` can
shorten any text against any of them. Shortening happens at a word boundary
with an ellipsis, and only ever in the summary or the title: never the link.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import regex

ELLIPSIS = "…"
Measure = Callable[[str], int]

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")


def characters(text: str) -> int:
    return len(text)


def graphemes(text: str) -> int:
    """User-perceived characters (Unicode extended grapheme clusters): what
    Bluesky counts. An emoji family or a flag is one; ``e`` + accent is one."""
    return len(_GRAPHEME.findall(text))


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    """What Telegram counts: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, measure: Measure = characters) -> str:
    """``text`` cut at a word boundary to at most ``limit`` units, with "…".

    Never splits a grapheme (an emoji, a letter with its accent); when no word
    boundary is near (a long URL, CJK text without spaces), cuts between
    graphemes instead.
    """
    text = " ".join(text.split())
    if measure(text) <= limit:
        return text
    if limit < measure(ELLIPSIS):
        return ""
    clusters = _GRAPHEME.findall(text)
    # Longest prefix that fits with the ellipsis (binary search: measure is monotone).
    low, high = 0, len(clusters)
    while low < high:
        middle = (low + high + 1) // 2
        if measure("".join(clusters[:middle]) + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    prefix = "".join(clusters[:low])
    # Never end inside a URL: a cut link is a live link to a wrong address.
    inside = next((m for m in _URL.finditer(text) if m.start() < len(prefix) < m.end()), None)
    if inside is not None:
        prefix = prefix[: inside.start()]
    at_space = prefix.rfind(" ")
    if at_space >= len(prefix) * 0.3:
        prefix = prefix[:at_space]
    return prefix.rstrip(" ,;:.-–—") + ELLIPSIS if prefix.strip() else ELLIPSIS


def fit(
    render: Callable[[str, str], str], title: str, summary: str, limit: int, measure: Measure
) -> str:
    """The longest ``render(title, summary)`` within ``limit``.

    The summary is shortened first, then dropped, then the title shortened;
    whatever else the template prints (the link above all) is kept whole.
    """
    text = render(title, summary)
    if measure(text) <= limit:
        return text
    if measure(render(title, "")) <= limit:
        # The largest summary budget that fits; the rendered length grows with
        # the budget, so a binary search over it is enough.
        low, high = 0, measure(summary)
        while low < high:
            middle = (low + high + 1) // 2
            if measure(render(title, shorten(summary, middle, measure))) <= limit:
                low = middle
            else:
                high = middle - 1
        return render(title, shorten(summary, low, measure))
    low, high = 0, measure(title)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(render(shorten(title, middle, measure), "")) <= limit:
            low = middle
        else:
            high = middle - 1
    return render(shorten(title, low, measure), "")


# --- escaping ------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack mrkdwn: ``&``, ``<``, ``>`` as entities, so ``<!channel>`` or
    ``<http://x|y>`` inside post text stay text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def telegram_escape(text: str) -> str:
    """Telegram HTML mode: ``<``, ``>``, ``&`` (and quotes, harmless) as entities."""
    return html.escape(text, quote=False)


# Any "@" followed by a name character, unless it is inside an ASCII word (an
# e-mail address): platforms disagree on what counts as a word before "@"
# ("@@bob" and "¼@bob" are both mentions to Mastodon), so defuse generously.
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@(?=\w)")


def defuse_mentions(text: str) -> str:
    """``@user`` and ``@user@host`` in post text notify nobody: a zero-width
    space after the ``@`` keeps them readable but no longer mentions."""
    return _MENTION.sub("@\u200b", text)
