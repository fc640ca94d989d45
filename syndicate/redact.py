"""Secrets never leave the process in clear: logs, errors, state and output.

Every secret resolved from the environment is registered here, and every line
syndicate writes passes through ``redact``.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlsplit

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "***"
# Long enough to be a credential and not a word that happens to match.
_MIN_LENGTH = 6
# A path segment this long in a secret URL is taken for a token.
_TOKEN_LENGTH = 16
_SECRET_PARAM = re.compile(r"token|key|secret|sig|pass|auth|code", re.IGNORECASE)
# Tokens in URLs: /api/webhooks/<id>/<token>, ?token=, ?key=, bot<token>/.
_URL_TOKENS = re.compile(
    r"(?P<lead>[?&](?:token|key|secret|sig|signature|access_token|api_key)=)[^&\s#]+",
    re.IGNORECASE,
)


def register(secret: str) -> None:
    """Remember a secret value so ``redact`` hides it wherever it shows up.

    For a URL (webhook URLs carry their token in the path or the query), its
    path and query values are registered too: HTTP libraries quote
    ``/path?query`` without the host in their errors.
    """
    values = {secret}
    if re.match(r"^https?://", secret, re.IGNORECASE):
        try:
            parts = urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None:
            values.add(parts.path + (f"?{parts.query}" if parts.query else ""))
            # Query values that carry credentials, not "api-version=2016-06-01".
            values.update(
                value
                for name, value in parse_qsl(parts.query)
                if _SECRET_PARAM.search(name) or (len(value) >= _TOKEN_LENGTH and "/" not in value)
            )
            # Webhook services keep the token as a path segment (Slack, Discord).
            values.update(part for part in parts.path.split("/") if len(part) >= _TOKEN_LENGTH)
    if "://" in secret:
        # Database URLs: user:password@host.
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            values.add(password)
    with _lock:
        _secrets.update(value for value in values if len(value) >= _MIN_LENGTH)


def redact(text: str) -> str:
    """``text`` with every registered secret and URL token replaced by ***."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _URL_TOKENS.sub(lambda m: m.group("lead") + MASK, text)


class RedactingFilter(logging.Filter):
    """Applied to syndicate's log handler: no record leaves with a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
