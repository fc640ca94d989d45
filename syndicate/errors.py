"""The errors syndicate raises across module boundaries.

::

    SyndicateError            a problem to report on one line, never a traceback
     ├── ConfigError          bad config or usage: the command exits 2
     ├── StateError           the state database cannot be used (newer schema, locked)
     ├── PostError            one post file cannot be read; the others go on
     └── DeliveryError        a target's send did not succeed
          ├── TransientError  try again later (timeouts, 429, 5xx); may be ambiguous
          └── PermanentError  never retried (4xx, bad credentials); the delivery is dead
"""

from __future__ import annotations


class SyndicateError(Exception):
    """A failure explained in one line."""


class ConfigError(SyndicateError):
    """The config file or the command line is wrong; exit status 2."""


class PostError(SyndicateError):
    """A post file that cannot be read, with the field and what was expected."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class StateError(SyndicateError):
    """The state database is unusable as it is; exit status 2."""


class DeliveryError(SyndicateError):
    """A send that did not succeed; the message is safe to log (no secrets)."""


class TransientError(DeliveryError):
    """Worth another try.

    ``retry_after`` is the service's own hint in seconds, when it gave one.
    ``ambiguous`` means the request may have reached the service (a read
    timeout after sending), so a retry could deliver twice unless the target
    sends an idempotency key.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, ambiguous: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class PermanentError(DeliveryError):
    """Trying again will not help: the delivery becomes dead with this reason."""
