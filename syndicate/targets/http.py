"""HTTP for targets: one session per target, timeouts, and the outcome rules.

2xx is success. 408, 425, 429 and 5xx are transient, with the service's
``Retry-After`` (seconds or an HTTP date) as the hint; a 504 is also
ambiguous (the gateway gave up, the service may have acted). 3xx is not followed and
is permanent (a moved endpoint needs a person), as are other 4xx. A connection
that fails before the request is sent is transient; a read timeout after it
was sent is transient *and ambiguous*: the service may have acted on it.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3

from .. import __version__
from ..errors import PermanentError, TransientError
from ..redact import redact

USER_AGENT = f"syndicate/{__version__}"
TRANSIENT_STATUS = frozenset({408, 425, 429})
_BODY_SHOWN = 200


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = True
    return session


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def describe(response: requests.Response) -> str:
    """``HTTP 422: <start of the body>``, secrets removed, on one line."""
    text = " ".join(response.text[:_BODY_SHOWN].split())
    return redact(f"HTTP {response.status_code}" + (f": {text}" if text else ""))


def check(response: requests.Response, *, retry_after: float | None = None) -> None:
    """Raise the right error for a non-2xx response; return for 2xx.

    ``retry_after`` lets a target pass a hint it read from the body (Discord,
    Telegram); the header wins when both are there.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    hint = parse_retry_after(response.headers.get("Retry-After"))
    if hint is None:
        hint = retry_after
    if status in TRANSIENT_STATUS or status >= 500:
        # A gateway timeout means the service behind it may have acted.
        raise TransientError(describe(response), retry_after=hint, ambiguous=status == 504)
    if 300 <= status < 400:
        where = redact(response.headers.get("Location", "?"))
        raise PermanentError(f"HTTP {status}: redirected to {where}; update the target's URL")
    if status in (401, 403):
        raise PermanentError(f"{describe(response)}; the credential was refused: renew it")
    if status == 410:
        raise PermanentError(f"{describe(response)}; the endpoint is gone: remove or replace it")
    raise PermanentError(describe(response))


def request(
    session: requests.Session, method: str, url: str, *, timeout: tuple[float, float], **kw: Any
) -> requests.Response:
    """Send one request; network failures become Transient/PermanentError."""
    try:
        return session.request(method, url, timeout=timeout, allow_redirects=False, **kw)
    except requests.exceptions.SSLError as exc:
        raise PermanentError(redact(f"TLS verification failed: {_reason(exc)}")) from None
    except requests.exceptions.ConnectTimeout:
        raise TransientError(f"no connection within {timeout[0]:g}s") from None
    except requests.exceptions.ReadTimeout:
        raise TransientError(
            f"no answer within {timeout[1]:g}s after sending; it may have arrived",
            ambiguous=True,
        ) from None
    except requests.exceptions.ConnectionError as exc:
        # Refused or unresolvable: nothing was sent. Reset or dropped later:
        # the request may have left, so the outcome is ambiguous.
        raise TransientError(
            redact(f"connection failed: {_reason(exc)}"), ambiguous=not _never_connected(exc)
        ) from None
    except requests.exceptions.RequestException as exc:
        raise PermanentError(redact(f"request failed: {_reason(exc)}")) from None


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
