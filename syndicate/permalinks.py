"""Post URLs exactly as Jekyll 4 builds them.

Follows Jekyll's ``Utils.slugify``, ``Drops::UrlDrop`` and ``URL`` classes:
a style name or pattern, placeholders replaced by escaped values, slashes
squeezed, and the date parts taken in the site's time zone.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Mapping
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


def slugify(text: str, mode: str = "default", *, cased: bool = False) -> str:
    """Jekyll's ``Utils.slugify`` for the ``default`` and ``pretty`` modes."""
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


def date_values(moment: datetime) -> dict[str, str]:
    """The date placeholders, from a moment already in the site's zone."""
    return {
        "year": moment.strftime("%Y"),
        "month": moment.strftime("%m"),
        "day": moment.strftime("%d"),
        "hour": moment.strftime("%H"),
        "minute": moment.strftime("%M"),
        "second": moment.strftime("%S"),
        "i_day": str(moment.day),
        "i_month": str(moment.month),
        "short_month": moment.strftime("%b"),
        "long_month": moment.strftime("%B"),
        "short_year": moment.strftime("%y"),
        "w_year": moment.strftime("%G"),
        "week": moment.strftime("%V"),
        "w_day": moment.strftime("%u"),
        "short_day": moment.strftime("%a"),
        "long_day": moment.strftime("%A"),
        "y_day": moment.strftime("%j"),
    }


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
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", path) or path.startswith("//"):
        return path
    relative = _leading_slash(baseurl.removesuffix("/")) + _leading_slash(path)
    return normalize_url(site_url + relative)


def jekyll_id(url_path: str, raw_slug: str) -> str:
    """Jekyll's ``Document#id``: the URL's folder joined with the raw slug.

    jekyll-feed writes this (made absolute) as each entry's ``<id>``; it
    differs from the link for slugs with spaces, capitals or punctuation.
    """
    folder = posixpath.dirname(url_path.rstrip("/")) or "/"
    return folder.rstrip("/") + "/" + raw_slug.lstrip("/")
