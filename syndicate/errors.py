"""The errors syndicate raises across module boundaries.

::

    SyndicateError            a problem to report on one line, never a traceback
     ├── ConfigError          bad config or usage: the command exits 2
     └── PostError            one post file cannot be read; the others go on

Target errors (transient → retry, permanent → dead) join this tree with the
outbox.
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
