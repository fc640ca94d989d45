"""Contract row: Apprise (its services answer through a yes/no only, so the
battery's HTTP status classification does not apply: ``main_path`` is None and
``test_target_apprise.py`` covers failures, timeouts and secrets).

``validate`` checks what Apprise would pass on in Markdown: a title within
Apprise's 250 characters, title and body within the default 1,000, and no
Markdown or HTML from the post left active (every ``* _ [ ] ~ `` `` and ``\\``
escaped by a backslash, no raw ``<``). The last line of the body is the link.
"""

from __future__ import annotations

from contracts import SECRET, Contract

from syndicate.targets.base import Message

TITLE_LIMIT = 250
LENGTH_LIMIT = 1000
ACTIVE = set("*_[]~`<")
ESCAPABLE = set("\\*_[]~`")


def inert(text: str) -> list[str]:
    """Characters that would still format, with their offsets."""
    found = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text) or text[index + 1] not in ESCAPABLE:
                found.append(f"lone backslash at {index}")
            index += 2
            continue
        if char in ACTIVE:
            found.append(f"{char!r} at {index}")
        index += 1
    return found


def _validate(message: Message) -> list[str]:
    body = message.body
    title, text = body["title"], body["body"]
    problems = []
    if len(title) > TITLE_LIMIT:
        problems.append(f"title of {len(title)} characters")
    if len(title) + len(text) > LENGTH_LIMIT:
        problems.append(f"{len(title) + len(text)} characters of title and body")
    link = text.rsplit("\n", 1)[-1]
    if not link.startswith(("http://", "https://")):
        problems.append(f"the body does not end with the link: {link!r}")
    content = text[: len(text) - len(link)]
    problems += [f"title: {p}" for p in inert(title)]
    problems += [f"body: {p}" for p in inert(content)]
    if body["body_format"] != "markdown":
        problems.append(f"body_format {body['body_format']!r}")
    if SECRET in repr(body):
        problems.append("a credential in the message")
    return problems


CONTRACT = Contract(
    type="apprise",
    options=lambda server: {
        "urls": [server.url_for(f"/hook/{SECRET}").replace("http://", "json://", 1)]
    },
    validate=_validate,
    texts=lambda message: [message.body["body"]],
    # The json:// service posts here; end-to-end runs need it to answer.
    setup=lambda server: server.expect_request(f"/hook/{SECRET}").respond_with_data("ok"),
)
