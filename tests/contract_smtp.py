"""Contract row: one email per post over SMTP (no HTTP: the battery's status
classification does not apply; ``test_target_smtp.py`` covers SMTP replies).

``validate`` reads the message the way a mail client and a list server would:
a one-line subject, an RFC 5322 ``Message-ID``, ASCII addresses, and an HTML
part whose every link is absolute and whose only tags are the template's (so
text from a post can never add markup).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from contracts import SECRET, Contract

from syndicate.targets.base import Message

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
MSG_ID = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")
ADDRESS = re.compile(rf"{_DOT_ATOM}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# The default template's tags; the battery's post body is "<p>x</p>".
TEMPLATE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "table",
    "tr",
    "td",
    "p",
    "h1",
    "a",
    "img",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
        if tag == "img":
            self.images.append(dict(attrs))


def page(message: Message) -> _Page:
    parser = _Page()
    parser.feed(message.html or "")
    parser.close()
    return parser


def _validate(message: Message) -> list[str]:
    body = message.body
    problems = []
    subject = body["subject"]
    if not subject or any(ord(c) < 32 or ord(c) == 127 for c in subject):
        problems.append(f"subject is not one line of text: {subject!r}")
    if not MSG_ID.fullmatch(body["message_id"]):
        problems.append(f"Message-ID {body['message_id']!r} is not an RFC 5322 msg-id")
    addresses = [body["from"].rpartition("<")[2].rstrip(">"), *body["to"]]
    problems += [f"address {a!r}" for a in addresses if not (a.isascii() and ADDRESS.fullmatch(a))]
    if message.html is None:
        return [*problems, "no HTML part"]
    if body["html_bytes"] != len(message.html.encode("utf-8")):
        problems.append("html_bytes does not match the HTML")
    parsed = page(message)
    if extra := parsed.tags - TEMPLATE_TAGS:
        problems.append(f"markup from the post: {sorted(extra)}")
    for link in parsed.links:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"relative or odd link {link!r}")
    if body["image"]:
        shown = [i for i in parsed.images if i.get("src") == body["image"]]
        if not shown or not shown[0].get("width") or not shown[0].get("alt"):
            problems.append("the image is not shown with a width and alt text")
    return problems


CONTRACT = Contract(
    type="smtp",
    options=lambda server: {
        "host": "127.0.0.1",
        "security": "none",
        "username": "blog",
        "password": SECRET,
        "from": "news@blog.example.com",
        "to": "readers@lists.example.com",
    },
    validate=_validate,
    texts=lambda message: [message.body["text"], " ".join(page(message).links)],
)
