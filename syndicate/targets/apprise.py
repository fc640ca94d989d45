"""Apprise: the ~150 notification services we do not build ourselves.

``urls = [...]`` are Apprise URLs (``tgram://token/chat``, ``ntfys://topic``,
``pover://user@token``...). What this module relies on, in our own words
(Apprise's manual page and release notes, and the source of the installed
package, 2.3: ``Apprise.notify``, ``NotifyBase``'s limits and
``attachment_support``, the custom JSON plugin, its logger):

* ``Apprise.notify(body, title, body_format, attach)`` answers only whether
  every service took the message (a plain ``bool`` in 1.x; a result object
  whose truth is the same in 2.x). It says nothing about *why* a service
  failed; each plugin writes that to the ``apprise`` logger ("Failed to send
  ... error=500", "A Connection error occurred ..."). So a failure is a
  TransientError carrying those lines (redacted), and a read timeout, which
  Apprise logs as the exception text at debug level, is an ambiguous one:
  the request may have been delivered.
* ``body_format`` tells Apprise what the body is written in; it converts
  Markdown or HTML for services that take another format. Post text is
  escaped for the chosen format (Markdown: backslashes before ``\\ ` * _ [ ]
  ~`` and ``<`` as ``&lt;``, so ``**x**`` or ``<b>`` stays text; HTML: entities).
* A plugin's ``attachment_support`` says whether the service takes files.
  Only those get the image; Apprise downloads an attachment URL itself, so we
  fetch it once first and send without it when it cannot be fetched, instead
  of failing the post.
* Limits differ per service: Apprise's defaults are a 250-character title and
  32,768 characters of body; Pushover takes 1,024 with the title counted in
  the body, Discord 2,000, Telegram 4,096 with the title merged in. We fit the
  title into 250 characters and title plus body into ``max_length`` (1,000 by
  default, under the smallest of these); a URL's ``overflow=split`` or
  ``truncate`` lets Apprise deal with a tighter service.
* The URLs carry the credentials: each is read like a secret (``${ENV}``) and
  registered for redaction together with its user, password and any long,
  token-like part, since Apprise's own messages may quote them piecemeal.

Apprise keeps no idempotency key, so the type is not idempotent and an
ambiguous outcome is held by default (``on_ambiguous``). With several URLs,
each service that took the post is remembered in the state store, so a retry
after a partial failure only goes to the services that did not get it, and
``find_sent`` reports the post as sent when every service had taken it.

The ``apprise`` package is optional (``pip install "syndicate[apprise]"``);
it is imported when such a target is configured. Being absolute, ``import
apprise`` here reaches the third-party package, never this module.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from .. import templating, textfit
from ..errors import ConfigError, PermanentError, TransientError
from ..feeds import Entry
from ..logs import event
from ..redact import redact, register
from ..tables import Table
from .base import Lookup, Message, Receipt, Target

FORMATS = ("markdown", "text", "html")
TITLE_LIMIT = 250  # Apprise's default title_maxlen
DEFAULT_MAX_LENGTH = 1000
DEFAULT_TEMPLATES = {
    "markdown": "{{ post.summary }}\n\n{{ post.url }}\n",
    "text": "{{ post.summary }}\n\n{{ post.url }}\n",
    "html": '<p>{{ post.summary }}</p>\n<p><a href="{{ post.url }}">{{ post.url }}</a></p>\n',
}
INSTALL_HINT = 'the apprise target needs the apprise package: pip install "syndicate[apprise]"'
_TOKEN_LENGTH = 16
_MARKDOWN = re.compile(r"([\\`*_\[\]~])")
# Apprise's logger is process-wide: one capture at a time, so two targets
# sending at once never read each other's lines. Re-entrant: the image is
# fetched inside a send's capture, on the first service that takes files.
_CAPTURE_LOCK = threading.RLock()


def escape_markdown(text: str) -> str:
    """Post text inert in Markdown, for CommonMark and Python-Markdown alike."""
    return _MARKDOWN.sub(r"\\\1", text).replace("<", "&lt;")


ESCAPES: dict[str, Callable[[str], str]] = {
    "markdown": escape_markdown,
    "html": html.escape,
    "text": lambda text: text,
}


class AppriseTarget(Target):
    type = "apprise"
    idempotent = False
    default_on_ambiguous = "hold"
    fields: ClassVar[dict[str, str]] = {
        "urls": 'Apprise URLs, each may use ${ENV}: ["tgram://${TG_TOKEN}/${TG_CHAT}"]',
        "body_format": '"markdown" (default), "text" or "html": what the template writes',
        "attach_image": "send the post's image as an attachment where the service takes one"
        " (default true)",
        "max_length": f"characters for title and body together (default {DEFAULT_MAX_LENGTH})",
        "template": "body template (Jinja2) instead of the default: the summary and the link",
        "template_file": "the body template from a file, relative to the site root",
    }
    limits: ClassVar[tuple[str, ...]] = (
        f"title: {TITLE_LIMIT} characters (Apprise's default), shortened at a word",
        f"title and body: max_length characters (default {DEFAULT_MAX_LENGTH}); the summary"
        " is shortened first, the link is never cut",
    )

    def configure(self, table: Table) -> None:
        try:
            import apprise  # the optional third-party package, not this module
        except ImportError:
            raise ConfigError(f"{table.source}: {table.prefix}type: {INSTALL_HINT}") from None
        self.apprise: Any = apprise
        self.urls = _urls(table, apprise)
        self.body_format = table.choice("body_format", FORMATS, "markdown")
        self.attach_image = table.flag("attach_image", True)
        self.max_length = table.positive_int("max_length", DEFAULT_MAX_LENGTH)
        if "template" in table.data or "template_file" in table.data:
            self.template = templating.load_template(table, self.type, self.root)
        else:
            source = DEFAULT_TEMPLATES[self.body_format]
            default = Table({"template": source}, table.prefix, table.source)
            self.template = templating.load_template(default, self.type, self.root)

    def render(self, entry: Entry, key: str) -> Message:
        escape = ESCAPES[self.body_format]
        # Counted as sent, escapes included.
        title = entry.post.title
        if len(escape(title)) > TITLE_LIMIT:
            title = textfit.shorten(title, TITLE_LIMIT, lambda text: len(escape(text)))
        budget = max(0, self.max_length - len(escape(title)))
        escaped = templating.view(entry, escape)

        def text(title_: str, summary: str) -> str:
            view = replace(escaped, title=escape(title_), summary=escape(summary))
            return templating.render(self.template, view, self.site)

        body = textfit.fit(text, title, entry.summary, budget, textfit.characters)
        if len(body) > budget:
            raise PermanentError(
                f"the apprise template makes {len(body)} characters even without the summary;"
                f" max_length leaves {budget} after the title: shorten the template"
            )
        image = entry.post.image if self.attach_image else None
        payload = {
            "title": escape(title),
            "body": body,
            "body_format": self.body_format,
            "attach": image,
            "services": len(self.urls),
        }
        return Message(target=self.name, key=key, body=payload)

    def send(self, message: Message) -> Receipt:
        fetched: list[Any] = []

        def attachment() -> Any:
            # Fetched once, and only if some service takes files.
            if not fetched:
                fetched.append(self._attachment(message.body["attach"]))
            return fetched[0]

        failed: list[str] = []
        ambiguous = False
        for index, url in enumerate(self.urls):
            mark = _mark(self.name, message.key, url)
            if self._done(mark):
                continue
            with _captured() as records:
                ok, service = self._notify(url, message.body, attachment)
            if ok:
                self._remember(mark)
                continue
            lines = [_text(r) for r in records if r.levelno >= logging.WARNING]
            # requests' words for "sent, but no answer in time"; a connect
            # timeout ("Connection to ... timed out") is not ambiguous.
            ambiguous = ambiguous or any("Read timed out" in _text(r) for r in records)
            reason = " ".join(" ".join(lines[-2:]).split()) or "no reason given; see the log"
            failed.append(f"urls[{index}] ({service}): {reason}")
        if failed:
            done = len(self.urls) - len(failed)
            remembered = done and self._store() is not None
            raise TransientError(
                redact(f"{len(failed)} of {len(self.urls)} services failed: " + "; ".join(failed))
                + (f" ({done} took it and will not get it again)" if remembered else ""),
                ambiguous=ambiguous,
            )
        return Receipt()

    def find_sent(self, message: Message) -> Receipt | Lookup:
        """Sent when every service is remembered as having taken it; else we
        cannot tell whether the last one was reached."""
        if self._store() is not None and all(
            self._done(_mark(self.name, message.key, url)) for url in self.urls
        ):
            return Receipt()
        return Lookup.UNKNOWN

    def _notify(
        self, url: str, body: dict[str, Any], attachment: Callable[[], Any]
    ) -> tuple[bool, str]:
        service = self.apprise.Apprise.instantiate(url)
        if service is None:  # checked at config load; a plugin may still refuse
            return False, "unknown"
        sender = self.apprise.Apprise()
        sender.add(service)
        attach = attachment() if getattr(service, "attachment_support", False) else None
        try:
            result = sender.notify(
                body=body["body"],
                title=body["title"],
                body_format=body["body_format"],
                attach=attach,
            )
        except Exception as exc:  # a plugin bug must not look like a success
            logging.getLogger("apprise").warning("apprise raised %s", type(exc).__name__)
            return False, str(getattr(service, "service_name", "unknown"))
        return bool(result), str(getattr(service, "service_name", "unknown"))

    def _attachment(self, image: str | None) -> Any:
        if not image:
            return None
        with _captured():
            attachment = self.apprise.AppriseAttachment(image)
            # Fetched now, once, and cached for every service.
            reachable = len(attachment) > 0 and bool(attachment[0])
        if not reachable:
            event(
                "image_skipped",
                level=logging.WARNING,
                target=self.name,
                reason="the post's image could not be fetched; sending without it",
            )
            return None
        return attachment

    def _store(self) -> Any:
        return getattr(self, "state", None)

    def _done(self, mark: str) -> bool:
        store = self._store()
        return store is not None and store.get_value(mark) == "sent"

    def _remember(self, mark: str) -> None:
        store = self._store()
        if store is not None:
            store.set_value(mark, "sent")


def _mark(target: str, key: str, url: str) -> str:
    """The state key saying one service took one delivery: a digest of the
    URL, never the URL (it holds a credential)."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"apprise:{target}:{key}:{digest}"


def _urls(table: Table, apprise: Any) -> tuple[str, ...]:
    raw = table.data.get("urls")
    if isinstance(raw, str):
        raise table.error("urls", 'expected a list of Apprise URLs: urls = ["..."]')
    values = table.str_list("urls", ())
    if not values:
        raise table.error("urls", 'is required (a list of Apprise URLs: urls = ["..."])')
    # A sub-table with one key per URL, so ${ENV} and errors read "urls[1]".
    items = Table(
        {f"urls[{i}]": value for i, value in enumerate(values)}, table.prefix, table.source
    )
    urls = []
    for index in range(len(values)):
        key = f"urls[{index}]"
        url = items.secret(key)
        _register_parts(url)
        with _captured():
            service = apprise.Apprise.instantiate(url)
        if service is None:
            scheme = url.partition("://")[0] if "://" in url else ""
            said = f'"{scheme}://" is not a service Apprise knows' if scheme else "no scheme"
            raise items.error(
                key, f"Apprise cannot use this URL ({said}); see https://appriseit.com/services/"
            )
        urls.append(url)
    return tuple(urls)


def _register_parts(url: str) -> None:
    """Register the pieces of an Apprise URL that may be credentials."""
    try:
        parts = urlsplit(url)
        user, password, host = parts.username, parts.password, parts.hostname
    except ValueError:
        return
    for value in (user, password):
        if value:
            register(value)
    # Tokens often stand where a host would (tgram://<bot token>/...), but a
    # real host name has dots and is not worth hiding.
    netloc = parts.netloc.rpartition("@")[2]
    candidates = [netloc, host or "", *parts.path.split("/")]
    candidates += [value for _, value in parse_qsl(parts.query)]
    for value in candidates:
        if len(value) >= _TOKEN_LENGTH and not _looks_like_host(value):
            register(value)


def _text(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a plugin's malformed log call
        return str(record.msg)


def _looks_like_host(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", value)) and "." in value


@contextmanager
def _captured() -> Iterator[list[logging.LogRecord]]:
    """Apprise's log lines while the block runs, kept from other handlers
    (they may quote a credential) and returned for the error message."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("apprise")
    handler = Collect(logging.DEBUG)
    with _CAPTURE_LOCK:
        level, propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            yield records
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
