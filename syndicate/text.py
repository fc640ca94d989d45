"""Markdown to HTML, HTML to plain text, and relative links made absolute."""

from __future__ import annotations

import re
import threading
from html import escape, unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

if TYPE_CHECKING:
    import markdown

# Characters XML 1.0 cannot carry: C0 controls but tab/LF/CR, lone surrogates
# and U+FFFE/U+FFFF. A title with one must not make the whole feed invalid.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

_local = threading.local()


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot carry."""
    return _NOT_XML.sub("", text)


def _markdown() -> markdown.Markdown:
    # Building a Markdown instance costs more than converting a short post;
    # keep one per thread and reset it between documents.
    converter: markdown.Markdown | None = getattr(_local, "markdown", None)
    if converter is None:
        import markdown

        converter = markdown.Markdown(
            extensions=["tables", "fenced_code", "footnotes"], output_format="html"
        )
        _local.markdown = converter
    return converter


def render_markdown(source: str) -> str:
    """Python-Markdown with tables, fenced code and footnotes."""
    converter = _markdown()
    try:
        return converter.convert(source)
    finally:
        converter.reset()


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "template", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, entities decoded, spaces collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")


def markdown_to_text(source: str) -> str:
    """Plain text of Markdown (or HTML) source, as a summary shows it."""
    return xml_safe(html_to_text(render_markdown(_FOOTNOTE_REF.sub("", source))))


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def first_paragraph(body: str, separator: str = "\n\n") -> str:
    """Jekyll's excerpt: the body up to the excerpt separator.

    Leading blank lines are skipped, so a post whose body starts with an empty
    line still gets its first paragraph rather than nothing.
    """
    text = _LEADING_BLANK_LINES.sub("", body)
    head, _, _ = text.partition(separator)
    return head


_URL_ATTR = re.compile(
    r"""(?P<lead>\s(?:href|src|poster|cite)\s*=\s*)(?P<quote>["'])(?P<url>.*?)(?P=quote)""",
    re.IGNORECASE | re.DOTALL,
)
_SRCSET_ATTR = re.compile(
    r"""(?P<lead>\ssrcset\s*=\s*)(?P<quote>["'])(?P<value>.*?)(?P=quote)""",
    re.IGNORECASE | re.DOTALL,
)


def absolutize(html: str, base: str) -> str:
    """Make every ``href``/``src``/``srcset`` URL in ``html`` absolute."""

    def one(match: re.Match[str]) -> str:
        url = match.group("url").strip()
        joined = escape(urljoin(base, unescape(url)), quote=True)
        return f"{match.group('lead')}{match.group('quote')}{joined}{match.group('quote')}"

    def many(match: re.Match[str]) -> str:
        candidates = []
        for candidate in match.group("value").split(","):
            pieces = candidate.strip().split(None, 1)
            if pieces:
                pieces[0] = escape(urljoin(base, unescape(pieces[0])), quote=True)
                candidates.append(" ".join(pieces))
        value = ", ".join(candidates)
        return f"{match.group('lead')}{match.group('quote')}{value}{match.group('quote')}"

    return _SRCSET_ATTR.sub(many, _URL_ATTR.sub(one, html))
