"""What every target type is: a config model, a pure ``render`` and a ``send``.

A target type is one module in this package and one line in ``registry.py``.
``render`` turns a post into the exact message that would be sent (no I/O, so
``--dry-run`` shows it); ``send`` delivers it and returns a Receipt, or raises
TransientError (retry later) or PermanentError (dead). Shared behaviour lives
in plain functions (``http.py`` for HTTP), not in this class.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, ClassVar, Protocol

from ..config import SiteConfig, TargetConfig
from ..feeds import Entry
from ..tables import Table

ON_AMBIGUOUS = ("retry", "hold")


class KeyValue(Protocol):
    """Where a target keeps what must outlive a process (a login session)."""

    def get_value(self, key: str) -> str | None: ...

    def set_value(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Message:
    """Exactly what a target would send for one delivery."""

    target: str  # the target's name
    key: str  # the delivery's idempotency key: stable across retries
    body: dict[str, Any]  # the payload, as JSON-able data (shown by --dry-run)
    headers: dict[str, str] = field(default_factory=dict)  # non-secret headers
    html: str | None = None  # an email's HTML, written to a file by --dry-run


class Lookup(Enum):
    """What a target can say when asked whether an ambiguous send arrived."""

    NOT_FOUND = "not found"  # certainly not there: sending is safe
    UNKNOWN = "unknown"  # cannot tell: a person decides


@dataclass(frozen=True)
class Receipt:
    """Where the message landed, when the service says."""

    remote_id: str | None = None
    remote_url: str | None = None


@dataclass(frozen=True)
class Filters:
    """Which posts a target takes: empty means every post."""

    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def accepts(self, categories: tuple[str, ...], tags: tuple[str, ...]) -> bool:
        if self.categories and not _overlap(self.categories, categories):
            return False
        return not (self.tags and not _overlap(self.tags, tags))


def _overlap(wanted: tuple[str, ...], have: tuple[str, ...]) -> bool:
    lowered = {item.lower() for item in have}
    return any(item.lower() in lowered for item in wanted)


class Target(abc.ABC):
    """One configured destination.

    Subclasses set ``type`` and ``idempotent``, read their own keys in
    ``configure`` and implement ``render`` and ``send``.
    """

    type: ClassVar[str]
    #: True when the service takes our idempotency key (a header, a record key,
    #: a file name), so an ambiguous send is retried with the same key safely.
    idempotent: ClassVar[bool] = False
    #: What to do with an ambiguous outcome when not idempotent.
    default_on_ambiguous: ClassVar[str] = "hold"
    #: Newsletters: an ambiguous send is never repeated on a guess; only when
    #: ``find_sent`` says it certainly did not arrive (``on_ambiguous`` is
    #: then fixed to "hold").
    never_resend: ClassVar[bool] = False
    #: One line per config key, for ``syndicate targets`` and the docs.
    fields: ClassVar[dict[str, str]] = {}
    #: The platform's limits render() enforces, one line each, for people.
    limits: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TargetConfig, site: SiteConfig) -> None:
        self.name = config.name
        self.site = site
        # The site root: relative paths in a target's keys start here.
        self.root = config.source.resolve().parent.parent
        table = config.table()
        self.filters = Filters(
            categories=table.str_list("categories", ()), tags=table.str_list("tags", ())
        )
        self.backfill: timedelta = table.duration("backfill", "0d")
        self.enabled = table.flag("enabled", True)
        self.on_ambiguous = table.choice("on_ambiguous", ON_AMBIGUOUS, self.default_on_ambiguous)
        if self.never_resend and self.on_ambiguous == "retry":
            raise table.error(
                "on_ambiguous", f'a {self.type} target never sends twice on a guess: use "hold"'
            )
        self.configure(table)
        table.finish()

    @abc.abstractmethod
    def configure(self, table: Table) -> None:
        """Read this type's keys from ``table`` (unknown keys are then errors)."""

    @abc.abstractmethod
    def render(self, entry: Entry, key: str) -> Message:
        """The message for one post. Pure: no network, no files."""

    @abc.abstractmethod
    def send(self, message: Message) -> Receipt:
        """Deliver; raise TransientError or PermanentError when it did not work."""

    def find_sent(self, message: Message) -> Receipt | Lookup:
        """After an ambiguous outcome: did ``message`` arrive? Targets whose
        service can be searched (a campaign tagged with the post) override
        this; the default cannot tell."""
        return Lookup.UNKNOWN

    def attach(self, state: KeyValue) -> None:
        """Give the target the state store's key/value table (the worker does
        this; a dry run does not, and render never needs it)."""
        self.state: KeyValue | None = state

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release connections; called once when the worker is done."""

    def retries_ambiguous(self) -> bool:
        """Whether an ambiguous outcome is retried (else held for a person)."""
        return self.idempotent or self.on_ambiguous == "retry"
