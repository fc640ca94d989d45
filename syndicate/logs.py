"""One log line per event, as text or JSON, with secrets redacted.

Events are named actions (``delivery_sent``, ``retry_scheduled``) with fields;
``event()`` is the only way syndicate logs from the worker.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from .redact import RedactingFilter, redact

LOGGER = logging.getLogger("syndicate")


def _value(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [stamp, record.levelname.lower(), record.getMessage()]
        parts += [f"{key}={_value(value)}" for key, value in fields.items() if value is not None]
        return redact(" ".join(parts))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **{key: value for key, value in fields.items() if value is not None},
        }
        return redact(json.dumps(document, ensure_ascii=False, default=str))


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send syndicate's events to stderr in ``log_format`` ("text" or "json")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False
    # The scheduler's own warnings ("missed", "job raised") go through the
    # same handler, so they are formatted and redacted like ours.
    scheduler = logging.getLogger("apscheduler")
    scheduler.handlers[:] = [handler]
    scheduler.setLevel(logging.WARNING)
    scheduler.propagate = False


def event(name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event: ``event("delivery_sent", post=..., target=...)``."""
    LOGGER.log(level, name, extra={"fields": fields})
