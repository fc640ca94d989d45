"""One email per post to a list address over SMTP: the self-hoster's newsletter.

The list software (Mailman, Google Groups, listmonk's own address, a Sympa
list) fans the email out to its subscribers and adds its own unsubscribe
headers; we submit one message to it. What this module relies on, in our own
words (RFC 5321, RFC 4954, RFC 8314, RFC 5322, Python's ``smtplib`` and
``email`` documentation, Mailman's list settings as universities explain them):

* Replies starting with 4 are transient: the same command may work later, so
  the outbox retries. Replies starting with 5 are permanent: nothing changes
  by sending it again, so the delivery is dead. 421 (service closing) is the
  one 4xx that also ends the connection; ``smtplib`` closes it and reports the
  code. 535 means the login was refused: dead, with a word to renew the
  credential (RFC 4954); 454 is a temporary authentication failure.
* Message submission is STARTTLS on port 587 or implicit TLS on port 465
  (RFC 8314 asks clients to support both). ``security = "starttls"`` never
  falls back to plain text when the server does not offer STARTTLS: that is
  a permanent error, since an attacker on the path can strip the offer.
  Certificates are verified against the system's CAs, or ``ca_file``.
* ``security = "none"`` is plain text, accepted for a loopback host (a local
  MTA relaying for us) and for a host on the network without a login (a
  relay on a trusted LAN, logged as a warning). A login over plain text to
  another machine is a config error: the password would cross the network.
* The message is ``multipart/alternative`` with a plain-text part first and
  the HTML part last (clients show the last part they can render). The image
  is shown in the HTML by its absolute URL, not attached: Mailman holds any
  post over 40 KB for a moderator by default, an inline copy would be
  multiplied by every subscriber and stripped from digests and archives, and
  clients that block remote images still show the alt text at the given
  width. Both parts come from ``syndicate/emails.py``.
* ``Message-ID`` is ``<delivery key@domain of from>``: the same for every
  attempt at one post, and unique per post and target. RFC 5322 asks for an id
  unique to the message; list software (Sympa) and mailbox providers (Gmail
  keeps one copy per id) drop a message whose id they have already seen, so a
  repeat that does slip through is usually discarded downstream.
* ``Date`` is the time of the attempt, taken in ``send`` (``render`` is pure).
  The list address is in ``To``: Mailman holds mail that reaches a list only
  as a Bcc ("implicit destination").
* Ambiguity: once the message's final ``.`` has been sent, the server may have
  queued it even if its answer never arrives (RFC 1047's duplicate problem).
  A timeout or disconnect *after* that point is ambiguous; before it (refused
  connection, a drop during the greeting, login or recipients), nothing can
  have been queued and the error is plainly transient. SMTP cannot be asked
  afterwards whether a message arrived, so ``find_sent`` cannot tell and an
  ambiguous send is held for a person (``never_resend``).
* Addresses must be ASCII (an internationalised domain is converted to its
  ASCII form): a non-ASCII local part would need SMTPUTF8, which many relays
  lack. Headers and both parts are 7-bit (quoted-printable), so a relay
  without 8BITMIME takes them unchanged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..emails import EMAIL_FIELDS, load_email_templates, render_email
from ..errors import DeliveryError, PermanentError, TransientError
from ..feeds import Entry
from ..logs import event
from ..redact import redact
from ..tables import Table
from .base import Lookup, Message, Receipt, Target

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# Seven-bit headers and parts: quoted-printable for anything else.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class _Session(smtplib.SMTP):
    """``smtplib``'s client, noting when the message's final dot has left:
    from then on a lost answer means the server may have queued it."""

    body_sent = False
    _body_next = False

    def getreply(self) -> tuple[int, bytes]:
        code, text = super().getreply()
        # 354 answers DATA: the next thing written is the message itself.
        self._body_next = code == 354
        return code, text

    def send(self, s: ReadableBuffer | str) -> None:
        body, self._body_next = self._body_next, False
        super().send(s)
        if body:
            self.body_sent = True


class _SSLSession(_Session, smtplib.SMTP_SSL):
    """The same, over implicit TLS (port 465)."""


class SmtpTarget(Target):
    type = "smtp"
    idempotent = False
    never_resend = True
    fields: ClassVar[dict[str, str]] = {
        "host": "the SMTP server (your provider's submission host, or a local MTA)",
        "port": "default 587 with starttls, 465 with ssl, 25 with none",
        "security": '"starttls" (default), "ssl" (implicit TLS) or "none" (see below)',
        "username": 'login name; usually "${SMTP_USERNAME}"; omit for no login',
        "password": 'login password, from the environment: "${SMTP_PASSWORD}"',
        "from": "the sender's address (ASCII), e.g. news@example.com",
        "from_name": "the sender's display name (default: the site title)",
        "to": "the list address, or a list of them",
        "reply_to": "an address for replies (default: none, replies go to from)",
        "timeout": "seconds to wait for the server at each step (default 30)",
        "ca_file": "PEM file of CAs to trust instead of the system's (private relay)",
        **EMAIL_FIELDS,
    }
    limits: ClassVar[tuple[str, ...]] = (
        "headers and parts are 7-bit: non-ASCII text is encoded (RFC 2047, quoted-printable)",
        "addresses are ASCII; an internationalised domain is sent in its ASCII form",
        "the subject is one line: whitespace in the rendered subject is collapsed",
    )

    def configure(self, table: Table) -> None:
        self.host = table.text("host", nonempty=True).strip()
        if any(char.isspace() or char in "/@" for char in self.host):
            raise table.error("host", "expected a host name or IP address")
        self.security = table.choice("security", SECURITY, "starttls")
        self.port = table.positive_int("port", DEFAULT_PORTS[self.security])
        if self.port > 65535:
            raise table.error("port", f"expected a port number up to 65535, got {self.port}")
        self.username = table.secret("username", required=False)
        self.password = table.secret("password", required=False)
        if bool(self.username) != bool(self.password):
            missing = "password" if self.username else "username"
            raise table.error(missing, "set both username and password, or neither")
        self.sender = _address(table, "from", table.text("from", nonempty=True))
        self.sender_name = _one_line(table, "from_name", table.text("from_name", self.site.title))
        self.to = tuple(_address(table, "to", value) for value in _to_list(table))
        reply_to = table.text("reply_to", "")
        self.reply_to = _address(table, "reply_to", reply_to) if reply_to else None
        self.timeout = table.number("timeout", 30.0, minimum=0.1)
        ca_file = table.text("ca_file", "")
        self.context = _tls_context(table, ca_file, self.root) if self.security != "none" else None
        self.templates = load_email_templates(table, self.root)
        self.domain = self.sender.rpartition("@")[2]
        if self.security == "none" and not _loopback(self.host):
            if self.username:
                raise table.error(
                    "security",
                    '"none" sends the password in plain text: use "starttls" or "ssl"'
                    " (plain text is only for a server on this machine)",
                )
            event(
                "smtp_plain_text",
                level=logging.WARNING,
                target=self.name,
                error=f"mail to {self.host} is sent unencrypted (security = none)",
            )
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def render(self, entry: Entry, key: str) -> Message:
        email = render_email(self.templates, entry, self.site)
        # A control character in a title (an escape, a bell) has no place in
        # a header, encoded or not; a subject left empty becomes the site's.
        subject = " ".join(_CONTROL.sub(" ", email.subject).split()) or self.site.title
        body: dict[str, Any] = {
            "subject": subject,
            "from": f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender,
            "to": list(self.to),
            "reply_to": self.reply_to,
            "message_id": message_id(key, self.domain),
            "content": self.templates.content,
            "image": entry.post.image,
            "text": email.text,
            "html_bytes": len(email.html.encode("utf-8")),
        }
        return Message(target=self.name, key=key, body=body, html=email.html)

    def build(self, message: Message) -> EmailMessage:
        """The email as it goes on the wire (``Date`` is now)."""
        body = message.body
        mail = EmailMessage(policy=_POLICY)
        mail["Subject"] = body["subject"]
        mail["From"] = Address(display_name=self.sender_name, addr_spec=self.sender)
        mail["To"] = [Address(addr_spec=address) for address in self.to]
        if self.reply_to:
            mail["Reply-To"] = Address(addr_spec=self.reply_to)
        mail["Date"] = format_datetime(self.clock())
        mail["Message-ID"] = body["message_id"]
        mail.set_content(body["text"], cte="quoted-printable")
        mail.add_alternative(message.html or "", subtype="html", cte="quoted-printable")
        return mail

    def send(self, message: Message) -> Receipt:
        mail = self.build(message)
        session: _Session | None = None
        accepted = False
        try:
            # Connecting in the constructor: it records the host name that
            # TLS checks the certificate against (connect() alone does not).
            if self.security == "ssl":
                session = _SSLSession(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                session = _Session(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                session.starttls(context=self.context)
            if self.username:
                session.login(self.username, self.password)
            refused = session.send_message(mail, from_addr=self.sender, to_addrs=list(self.to))
            accepted = True
        except (smtplib.SMTPException, OSError) as exc:
            sent = session is not None and session.body_sent
            raise classify(exc, self.host, self.port, body_sent=sent) from None
        finally:
            if session is not None:
                _close(session, polite=accepted)
        if refused:
            # Taken for the other addresses: sending again would repeat it there.
            event(
                "smtp_recipients_refused",
                level=logging.WARNING,
                target=self.name,
                error=redact(_refusals(refused)),
            )
        return Receipt(remote_id=message.body["message_id"])

    def find_sent(self, message: Message) -> Receipt | Lookup:
        """SMTP keeps no searchable record of what it took: a person decides."""
        return Lookup.UNKNOWN


def message_id(key: str, domain: str) -> str:
    """``<key@domain>``; a key that is not an RFC 5322 dot-atom becomes a
    stable digest of itself, as unique and as stable across attempts."""
    left = key if _DOT_ATOM.fullmatch(key) else "syn_" + _digest(key)
    return f"<{left}@{domain}>"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def classify(exc: BaseException, host: str, port: int, *, body_sent: bool) -> DeliveryError:
    """An SMTP failure as the outbox needs it: transient, permanent or ambiguous."""
    where = f"{host}:{port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = f"every recipient was refused: {_refusals(exc.recipients)}"
        if any(400 <= code < 500 for code in codes):
            return TransientError(redact(text))
        return PermanentError(redact(text))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_error(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        hint = ""
        if "STARTTLS" in str(exc).upper():
            hint = ': the server does not offer STARTTLS; try security = "ssl" with port 465'
        elif "AUTH" in str(exc).upper():
            hint = ": the server offers no login here; check host, port and security"
        return PermanentError(redact(f"{where}: {exc}{hint}"))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(
            redact(
                f"{where}: the server's TLS certificate is not trusted ({exc.verify_message});"
                " fix the certificate, or set ca_file for a private CA"
            )
        )
    reason = _reason(exc)
    if body_sent:
        return TransientError(
            redact(
                f"{where}: {reason} after the message was sent, before the server"
                " confirmed it; it may have been queued"
            ),
            ambiguous=True,
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransientError(f"{where}: connection refused")
    if isinstance(exc, socket.gaierror):
        return TransientError(redact(f"{host}: cannot resolve the host name ({exc.strerror})"))
    return TransientError(redact(f"{where}: {reason}"))


def _reply_error(code: int, text: bytes | str) -> DeliveryError:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    said = " ".join(said.split())
    message = f"SMTP {code}: {said}" if said else f"SMTP {code}"
    if code == 535:
        return PermanentError(
            redact(f"{message}; the login was refused: check username and password, or renew them")
        )
    if 400 <= code < 500:
        return TransientError(redact(message))
    return PermanentError(redact(message))


def _reason(exc: BaseException) -> str:
    # smtplib reports a read timeout as a disconnect caused by the timeout.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "no answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    parts = []
    for address, (code, text) in recipients.items():
        said = " ".join(text.decode("utf-8", "replace").split())
        parts.append(f"{address}: {code} {said}".strip())
    return "; ".join(parts)


def _close(session: smtplib.SMTP, *, polite: bool) -> None:
    """QUIT after success (its failure changes nothing), else just close."""
    if polite:
        try:
            session.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    session.close()


def _to_list(table: Table) -> list[str]:
    value = table.data.get("to")
    if isinstance(value, str):
        return [table.text("to", nonempty=True)]
    found = list(table.str_list("to", ()))
    if not found:
        raise table.error("to", "is required (the list address, or a list of addresses)")
    return found


def _one_line(table: Table, key: str, value: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise table.error(key, "expected one line of text")
    return value.strip()


def _address(table: Table, key: str, value: str) -> str:
    """An ASCII ``local@domain``; an internationalised domain in its ASCII form."""
    expected = f'expected an address like "news@example.com", got "{value}"'
    local, at, domain = value.strip().rpartition("@")
    if not at or not _DOT_ATOM.fullmatch(local) or len(local) > 64:
        if key == "from" and "<" in value:
            expected += "; put the display name in from_name"
        raise table.error(key, expected)
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise table.error(key, expected) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise table.error(key, expected)
    return f"{local}@{ascii_domain}"


def _tls_context(table: Table, ca_file: str, root: Path) -> ssl.SSLContext:
    if not ca_file:
        return ssl.create_default_context()
    path = Path(ca_file) if Path(ca_file).is_absolute() else root / ca_file
    try:
        # Given a file, only its CAs are trusted, not the system's as well.
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise table.error("ca_file", f"cannot load CA certificates from {path} ({exc})") from None


def _loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
