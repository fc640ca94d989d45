"""The contract every target type meets, and one row per type.

A row says how to configure the type against a loopback server, what its
success and error answers look like (as the real API sends them), and how to
check a rendered message the way the platform would (limits, escaping) —
independently of the target's own code. ``test_target_contract.py`` runs the
shared battery over every row; a type without a row fails that test.

Adding a type: write ``contract_<type>.py`` with ``CONTRACT = Contract(...)``
and add it to ``ROWS`` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Response

from syndicate.targets.base import Message

SECRET = "s3cr3t-t0ken-9f8e7d6c5b4a"


@dataclass(frozen=True)
class Contract:
    type: str
    #: Target options (without name and type) for a server; use SECRET where a
    #: credential goes, so the battery can check it never leaks.
    options: Callable[[HTTPServer], dict[str, Any]]
    #: Platform checks on a rendered message; the problems found, [] if none.
    validate: Callable[[Message], list[str]]
    #: The texts of a message in which the post's link must appear whole.
    texts: Callable[[Message], list[str]]
    #: The request path whose answer decides the outcome (None: no HTTP).
    main_path: str | None = None
    #: A success answer as the real API gives it.
    ok: Callable[[], Response] = field(default=lambda: Response("ok"))
    #: An error answer with this status, in the platform's own shape (its 429
    #: body carries its retry hint the way the platform does).
    error: Callable[[int, str], Response] = field(
        default=lambda status, echo: Response(f"error {echo}", status=status)
    )
    #: Answers for other endpoints the target calls on the way (a session, an
    #: upload), registered before the battery's own answer.
    setup: Callable[[HTTPServer], None] = field(default=lambda server: None)
    #: The Retry-After the battery's 429 answer asks for, in seconds.
    retry_after: float = 7.0


ROWS = [
    "contract_apprise",
    "contract_bluesky",
    "contract_buttondown",
    "contract_discord",
    "contract_file",
    "contract_ghost",
    "contract_listmonk",
    "contract_mailchimp",
    "contract_mastodon",
    "contract_slack",
    "contract_smtp",
    "contract_teams",
    "contract_telegram",
    "contract_webhook",
]


def contracts() -> list[Contract]:
    found = []
    for name in ROWS:
        try:
            found.append(importlib.import_module(name).CONTRACT)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found
