"""Content checks that hold a broken post back before it reaches anyone.

Each check has a name (``config.PREFLIGHT_CHECKS``) and a severity: ``error``
holds the post back (quarantine), ``warning`` only reports. The config's
``[preflight.checks]`` table changes a severity or turns a check ``off``; a
post's front matter ``preflight: { skip: [name, ...] }`` turns checks off for
that post. Nothing is sent or written: the body is passed in, and the only
files looked at are the post's own front matter (for the line of a field) and
the image a post names on its own site.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from .chatter import find_chatter
from .config import PREFLIGHT_CHECKS, PreflightConfig, SiteConfig
from .errors import PostError
from .feeds import local_image
from .posts import Post, body
from .prose import INLINE_CODE, Body, classify, count_words, last_paragraph, unbalanced

DEFAULT_SEVERITY: dict[str, str] = {
    "writer-chatter": "error",
    "unclosed-fence": "error",
    "placeholder": "error",
    "unbalanced-ending": "error",
    "title-missing": "error",
    "title-too-long": "warning",
    "date-far-future": "error",
    "date-too-old": "error",
    "duplicate-title": "warning",
    "duplicate-permalink": "error",
    "image-missing": "error",
    "image-type": "warning",
    "body-too-short": "warning",
}

OLDEST_YEAR = 1990  # in the post's own time zone
SHOWN_IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif")  # every target can show these


@dataclass(frozen=True)
class Finding:
    check: str  # one of config.PREFLIGHT_CHECKS
    severity: str  # "error" or "warning"
    source: str  # post.source
    line: int | None  # 1-based line in the file
    message: str  # one line: what and why

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", " ".join(self.message.split()))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.severity}: {self.check}: {self.message}"


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that hold a post back."""
    return [finding for finding in findings if finding.severity == "error"]


def severities(post: Post, settings: PreflightConfig) -> dict[str, str]:
    """The severity of every check that is on for ``post``."""
    skipped = _skipped(post.metadata)
    levels = {}
    for name, default in DEFAULT_SEVERITY.items():
        level = settings.severities.get(name, default)
        if level != "off" and name not in skipped:
            levels[name] = level
    return levels


def _skipped(meta: Mapping[str, object]) -> set[str]:
    value = meta.get("preflight")
    skip = value.get("skip") if isinstance(value, dict) else None
    if isinstance(skip, str):
        return {skip.strip()}
    if isinstance(skip, list):
        return {str(name).strip() for name in skip}
    return set()


class _Report:
    def __init__(self, post: Post, settings: PreflightConfig) -> None:
        self.post = post
        self.levels = severities(post, settings)
        self.findings: list[Finding] = []

    def on(self, check: str) -> bool:
        return check in self.levels

    def add(self, check: str, line: int | None, message: str) -> None:
        if check in self.levels:
            finding = Finding(check, self.levels[check], self.post.source, line, message)
            self.findings.append(finding)


# --- body checks ------------------------------------------------------------

_PLACEHOLDERS = (
    re.compile(r"\blorem\s+ipsum\b", re.IGNORECASE),
    # Capitals only, as whole words; "a TODO list" is a thing, not a leftover.
    re.compile(
        r"(?<![\w-])(?:TODO|TBD|FIXME|XXX)(?![\w-])"
        r"(?!\s+(?:lists?|apps?|items?|comments?|managers?)\b)"
    ),
    # [insert quote here], [Your Name]; not links ([add a comment](url)).
    re.compile(r"\[(?:insert|add|placeholder|your)\b[^\]\n]*\](?![(\[:])", re.IGNORECASE),
)
# Liquid output and tags, but not Hugo shortcodes ({{< >}}, {{% %}}).
_LIQUID = re.compile(r"\{\{(?![<%]).*?\}\}|(?<!\{)\{%.*?%\}")


def _chatter(report: _Report, parsed: Body, start: int) -> set[int]:
    prose = [
        line if kind == "text" else ""
        for line, kind in zip(parsed.lines, parsed.kinds, strict=True)
    ]
    found = find_chatter(prose)
    for item in found:
        shown = item.line if len(item.line) <= 60 else item.line[:59].rstrip() + "…"
        report.add("writer-chatter", start + item.index, f'"{shown}" {item.pattern.why}')
    return {item.index for item in found}


def _placeholders(report: _Report, parsed: Body, start: int, liquid: bool) -> None:
    for index, (line, kind) in enumerate(zip(parsed.lines, parsed.kinds, strict=True)):
        if kind not in ("text", "quote"):
            continue
        prose = INLINE_CODE.sub(" ", line)
        for pattern in _PLACEHOLDERS:
            hit = pattern.search(prose)
            if hit:
                message = f'placeholder text "{hit.group(0)}" left in the post'
                report.add("placeholder", start + index, message)
        hit = None if liquid else _LIQUID.search(prose)
        if hit:
            shown = hit.group(0) if len(hit.group(0)) <= 40 else hit.group(0)[:39] + "…"
            report.add(
                "placeholder",
                start + index,
                f'"{shown}" is template code that no one renders here, so readers would '
                "see it as it is (set preflight.liquid = true, or render_with_liquid: true "
                "in the front matter, if the site renders Liquid)",
            )


def _ending(report: _Report, parsed: Body, start: int, chatter: set[int]) -> None:
    paragraph = last_paragraph(parsed, chatter)
    found = unbalanced([(index, parsed.lines[index]) for index in paragraph])
    if found:
        index, what = found
        report.add(
            "unbalanced-ending",
            start + index,
            f"the last paragraph has {what}: the post may be cut off or badly edited",
        )


def _body_checks(
    report: _Report, post: Post, text: str, settings: PreflightConfig, start: int
) -> None:
    parsed = classify(text, post.is_markdown)
    chatter = _chatter(report, parsed, start)
    if parsed.open_fence is not None:
        index, fence = parsed.open_fence
        report.add(
            "unclosed-fence",
            start + index,
            f'the code fence "{fence[:30]}" is never closed, so the rest of the post '
            "would show as code",
        )
    if report.on("placeholder"):
        meta_liquid = str(post.metadata.get("render_with_liquid")).lower() == "true"
        _placeholders(report, parsed, start, settings.liquid or meta_liquid)
    _ending(report, parsed, start, chatter)
    if report.on("body-too-short"):
        words = count_words(
            line
            for line, kind in zip(parsed.lines, parsed.kinds, strict=True)
            if kind in ("text", "quote")
        )
        if words < settings.min_words:
            report.add(
                "body-too-short",
                None,
                f"the body has {words} words, fewer than preflight.min_words "
                f"({settings.min_words}): too short to summarise",
            )


# --- front matter checks --------------------------------------------------------


def _key_line(post: Post, *keys: str) -> int | None:
    """The front matter line that sets one of ``keys``, read from the file."""
    pattern = re.compile(rf"^\s*[\"']?(?:{'|'.join(keys)})[\"']?\s*[:=]")
    try:
        with post.path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if number >= post.body_line:
                    break
                if pattern.match(line):
                    return number
    except OSError:
        return None
    return None


def _span(seconds: float) -> str:
    days = round(seconds / 86400)
    return f"{days} days" if days != 1 else "1 day"


def _front_matter(
    report: _Report, post: Post, site: SiteConfig, settings: PreflightConfig, now: datetime
) -> None:
    title = post.metadata.get("title")
    if title is None or not str(title).strip():
        report.add(
            "title-missing",
            None,
            f'no title in the front matter (feeds and announcements would show "{post.title}", '
            "made from the file name)",
        )
    elif len(post.title) > settings.title_max_length:
        report.add(
            "title-too-long",
            _key_line(post, "title"),
            f"the title has {len(post.title)} characters, more than "
            f"preflight.title_max_length ({settings.title_max_length}); announcements cut it",
        )
    if post.date > now + settings.future_limit:
        report.add(
            "date-far-future",
            _key_line(post, "date"),
            f"the date {post.date.date().isoformat()} is more than "
            f"{_span(settings.future_limit.total_seconds())} ahead (preflight.future_limit): "
            "a typo in the year?",
        )
    if post.date.year < OLDEST_YEAR:
        report.add(
            "date-too-old",
            _key_line(post, "date"),
            f"the date {post.date.date().isoformat()} is before 1990: a typo in the year?",
        )
    if post.image:
        _image(report, post, site)


def _image(report: _Report, post: Post, site: SiteConfig) -> None:
    assert post.image is not None
    url = post.image
    path = unquote(urlsplit(url).path)
    site_image = url.startswith(site.absolute("/")) and report.on("image-missing")
    # Paths are percent-encoded in the URL ("my%20photo.png"), not on disk.
    if site_image and local_image(site, url) is None and local_image(site, unquote(url)) is None:
        report.add(
            "image-missing",
            _key_line(post, "image", "images"),
            f"the image {path} is not a file under site.source_dir ({site.source_dir.resolve()})",
        )
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in SHOWN_IMAGE_TYPES:
        kind = f"{suffix} images" if suffix else "an image URL without a file extension"
        report.add(
            "image-type",
            _key_line(post, "image", "images"),
            f"{kind}: some targets and mail clients cannot show it (PNG, JPEG and GIF "
            "work everywhere)",
        )


# --- entry points -----------------------------------------------------------------


def _single(
    post: Post, text: str | None, site: SiteConfig, settings: PreflightConfig, now: datetime
) -> _Report:
    report = _Report(post, settings)
    _front_matter(report, post, site, settings, now)
    if text is not None:
        _body_checks(report, post, text, settings, post.body_line)
    return report


def check_post(
    post: Post, text: str, site: SiteConfig, settings: PreflightConfig, *, now: datetime
) -> list[Finding]:
    """Every single-post check on ``post``, whose body is ``text``."""
    return _sorted(_single(post, text, site, settings, now).findings)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line or 0, PREFLIGHT_CHECKS.index(f.check)))


def check_all(
    posts: Sequence[Post],
    site: SiteConfig,
    settings: PreflightConfig,
    *,
    now: datetime,
    bodies: Callable[[Post], str] = body,
) -> dict[str, list[Finding]]:
    """Findings for every post by id (an empty list when it is clean), with
    the checks across posts: duplicate titles and permalinks.

    A body that cannot be read is left to the code that reads it for the
    feeds; the post's front matter is still checked.
    """
    # Drafts and unpublished posts are never published: they clash with nothing.
    titles: dict[str, list[Post]] = {}
    urls: dict[str, list[Post]] = {}
    for post in posts:
        if post.hidden is None:
            titles.setdefault(_title_key(post), []).append(post)
            urls.setdefault(post.url, []).append(post)
    results: dict[str, list[Finding]] = {}
    for post in posts:
        try:
            text: str | None = bodies(post)
        except PostError:
            text = None
        report = _single(post, text, site, settings, now)
        if post.hidden is None:
            _across(report, titles[_title_key(post)], urls[post.url])
        results.setdefault(post.id, []).extend(report.findings)
    return {key: _sorted(found) for key, found in results.items()}


def _title_key(post: Post) -> str:
    return " ".join(post.title.casefold().split())


def _across(report: _Report, same_title: list[Post], same_url: list[Post]) -> None:
    post = report.post
    others = [other.source for other in same_title if other is not post]
    if others:
        report.add(
            "duplicate-title",
            _key_line(post, "title"),
            f'the title "{post.title}" is also the title of {", ".join(others)}',
        )
    others = [other.source for other in same_url if other is not post]
    if others:
        report.add(
            "duplicate-permalink",
            _key_line(post, "permalink"),
            f"{post.url} is also the permalink of {', '.join(others)}: "
            "one would replace the other on the site",
        )
