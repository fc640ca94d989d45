"""Dates as Jekyll reads them, and durations as the config writes them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

_DATE_RE = re.compile(
    r"""^\s*
    (?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})
    (?:(?:[Tt]|\s+)
       (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?
    )?
    \s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?
    \s*$""",
    re.VERBOSE,
)

EXPECTED_DATE = (
    "a date like 2026-04-10, 2026-04-10 09:30, 2026-04-10 09:30:00 +0200 or 2026-04-10T09:30:00Z"
)


def _offset(text: str) -> tzinfo:
    if text in ("Z", "z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or "0")
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {text} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(value: object, site_tz: tzinfo) -> datetime:
    """Return an aware datetime; naive values are taken in ``site_tz``.

    The post's own offset is kept (feeds show it); permalinks convert to the
    site's zone themselves. Raises ValueError with what was wrong.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=site_tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), site_tz)
    if not isinstance(value, str):
        raise ValueError(f"expected {EXPECTED_DATE}, got {value!r}")
    match = _DATE_RE.match(value)
    if not match:
        raise ValueError(f"expected {EXPECTED_DATE}, got {value!r}")
    parts = match.groupdict()
    fraction = (parts["f"] or "0")[:6].ljust(6, "0")
    try:
        moment = datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            int(fraction),
        )
        zone = _offset(parts["tz"]) if parts["tz"] else site_tz
    except ValueError as exc:
        raise ValueError(f"expected {EXPECTED_DATE}, got {value!r} ({exc})") from None
    return moment.replace(tzinfo=zone)


_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"`` (or whole seconds)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f'expected a duration like "90s", "5m", "2h" or "7d", got {value!r}')


def isoformat(moment: datetime) -> str:
    """RFC 3339 with the moment's own offset, no microseconds."""
    return moment.replace(microsecond=0).isoformat()
