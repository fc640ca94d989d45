"""Post URLs exactly as Jekyll 4 builds them.

Follows Jekyll's ``Utils.slugify``, ``Drops::UrlDrop`` and ``URL`` classes:
a style name or pattern, placeholders replaced by escaped values, slashes
squeezed, and the date parts taken in the site's time zone.
"""

from __future__ import annotations

import functools
import posixpath
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

PLACEHOLDERS = (
    *("collection", "path", "name", "title", "slug", "categories", "slugified_categories"),
    *("year", "month", "day", "hour", "minute", "second", "i_day", "i_month", "short_month"),
    *("long_month", "short_year", "w_year", "week", "w_day", "short_day", "long_day", "y_day"),
    "output_ext",
)

_PLACEHOLDER_RE = re.compile(r":([a-z_]+)")
_PRETTY_KEEP = set("._~!$&'()+,;=@")
_SAFE_PATH_RE = re.compile(r"^[a-zA-Z0-9./-]+$")


def style_template(style: str) -> str:
    """A style name's pattern; anything else is a pattern already."""
    return STYLES.get(style, style)


def check_template(style: str) -> str | None:
    """What is wrong with a permalink style or pattern, or None."""
    for match in _PLACEHOLDER_RE.finditer(style_template(style)):
        if _winner(match.group(1), PLACEHOLDERS) is None:
            return (
                f'unknown placeholder ":{match.group(1)}" in "{style}" '
                f"(expected a style {', '.join(STYLES)} or a pattern using "
                f":{', :'.join(PLACEHOLDERS)})"
            )
    return None


def _winner(name: str, known: Mapping[str, object] | tuple[str, ...]) -> str | None:
    # Jekyll lets a placeholder be followed by "_" (":year_:month").
    pool = [name, name.rstrip("_")] if name.endswith("_") else [name]
    return next((key for key in pool if key in known), None)


def _keeps(char: str, mode: str) -> bool:
    category = unicodedata.category(char)
    if category[0] in "LM" or category == "Nd":
        return True
    return mode == "pretty" and char in _PRETTY_KEEP


_ASCII_GAPS = {
    "default": re.compile(r"[^A-Za-z0-9]+"),
    "pretty": re.compile(r"[^A-Za-z0-9._~!$&'()+,;=@]+"),
}


@functools.lru_cache(maxsize=4096)
def slugify(text: str, mode: str = "default", *, cased: bool = False) -> str:
    """Jekyll's ``Utils.slugify`` for the ``default`` and ``pretty`` modes."""
    if text.isascii():
        slug = _ASCII_GAPS[mode].sub("-", text)
    else:
        out: list[str] = []
        in_gap = False
        for char in text:
            if _keeps(char, mode):
                out.append(char)
                in_gap = False
            elif not in_gap:
                # A run of characters Jekyll does not keep becomes one hyphen.
                out.append("-")
                in_gap = True
        slug = "".join(out)
    # Jekyll removes one leading and one trailing hyphen, not all of them.
    slug = re.sub(r"^-|-$", "", slug)
    return slug if cased else slug.lower()


def escape_path(value: str) -> str:
    """Jekyll's ``URL.escape_path``: percent-encode all but RFC 3986 pchars."""
    if not value or _SAFE_PATH_RE.match(value):
        return value
    return quote(value, safe="-._~!$&'()*+,;=:@/")


def _sanitize(url: str) -> str:
    return re.sub("/+", "/", f"/{url}".replace("..", "/").replace("./", ""))


def expand(template: str, values: Mapping[str, str]) -> str:
    """Fill a pattern's placeholders; an unknown one raises KeyError."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        winner = _winner(name, values)
        if winner is None:
            raise KeyError(name)
        return escape_path(values[winner]) + name[len(winner) :]

    return _sanitize(re.sub("/+", "/", _PLACEHOLDER_RE.sub(fill, template)))


# Jekyll's Drops::UrlDrop date placeholders, as strftime formats.
DATE_FORMATS = {
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
    "i_day": "%-d",
    "i_month": "%-m",
    "short_month": "%b",
    "long_month": "%B",
    "short_year": "%y",
    "w_year": "%G",
    "week": "%V",
    "w_day": "%u",
    "short_day": "%a",
    "long_day": "%A",
    "y_day": "%j",
}


def post_path(
    template: str,
    *,
    name: str,
    slug: str,
    folders: tuple[str, ...],
    categories: list[str],
    output_ext: str,
    moment: datetime,
) -> str:
    """A post's URL path: ``template`` filled from its file name (``name``,
    without extension), slug, folders below the posts folder, categories and
    date (already in the site's zone). Only the placeholders the template
    uses are computed: this runs for every post on every scan."""
    makers: dict[str, Callable[[], str]] = {
        "collection": lambda: "posts",
        "path": lambda: "/".join(f for f in folders if f != "_posts") + f"/{name}",
        "name": lambda: slugify(name),
        "title": lambda: slugify(slug, "pretty", cased=True),
        "slug": lambda: slugify(slug),
        "categories": lambda: "/".join(dict.fromkeys(c.lower() for c in categories)),
        "slugified_categories": lambda: "/".join(dict.fromkeys(slugify(c) for c in categories)),
        "output_ext": lambda: output_ext,
    }
    used = {
        key for found in _PLACEHOLDER_RE.findall(template) for key in (found, found.rstrip("_"))
    }
    values = {key: make() for key, make in makers.items() if key in used}
    for key in used & DATE_FORMATS.keys():
        values[key] = moment.strftime(DATE_FORMATS[key])
    return expand(template, values)


_URI_SAFE = "-._~!$&'()*+,;=:@%/"


def normalize_url(url: str) -> str:
    """Percent-encode what a URI cannot hold, as Addressable's ``normalize``
    does for Jekyll: spaces and non-ASCII characters, per component."""
    parts = urlsplit(url)
    return urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc.lower(),
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE + "?"),
            quote(parts.fragment, safe=_URI_SAFE + "?#"),
        )
    )


def _leading_slash(path: str) -> str:
    return path if not path or path.startswith("/") else f"/{path}"


def absolute_url(site_url: str, baseurl: str, path: str) -> str:
    """Jekyll's ``absolute_url`` filter, quirks included.

    ``url`` is used as written and ``baseurl`` loses one trailing slash, so a
    ``url`` ending in "/" gives "//" exactly as Jekyll does: ids must match
    what a site's feed already published.
    """
    if re.match(r"^https?:", path, re.IGNORECASE):
        return normalize_url(path)  # "a b.png" in a full URL is no URL either
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", path):
        return path
    if path.startswith("//"):
        # Protocol-relative: feeds need a scheme, so take the site's.
        return site_url.split(":", 1)[0].lower() + ":" + path
    relative = _leading_slash(baseurl.removesuffix("/")) + _leading_slash(path)
    return normalize_url(site_url + relative)


def jekyll_id(url_path: str, raw_slug: str) -> str:
    """Jekyll's ``Document#id``: the URL's folder joined with the raw slug.

    jekyll-feed writes this (made absolute) as each entry's ``<id>``; it
    differs from the link for slugs with spaces, capitals or punctuation.
    """
    folder = posixpath.dirname(url_path.rstrip("/")) or "/"
    return folder.rstrip("/") + "/" + raw_slug.lstrip("/")
