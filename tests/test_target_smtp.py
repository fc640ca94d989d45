"""The SMTP target against a real SMTP server on 127.0.0.1 (aiosmtpd).

Messages are checked as a mail client would read them (``email`` parser),
not with the target's own code. The crash test kills a real worker process
while the server holds the message, then restarts and counts arrivals.
"""

from __future__ import annotations

import asyncio
import email
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from contract_smtp import CONTRACT
from helpers import make_site, post
from receiver import write_site

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.publish import dry_run
from syndicate.state import open_store
from syndicate.targets import registry
from syndicate.targets.base import Lookup, Receipt
from syndicate.targets.smtp import SmtpTarget, message_id
from syndicate.worker import run_once

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "smtp.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
PASSWORD = "pw-5f4dcc3b5aa765d61d8327deb882cf99"
NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
validate = CONTRACT.validate


@pytest.fixture(autouse=True)
def smtp_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TYPES, "smtp", "syndicate.targets.smtp:SmtpTarget")


# --- a real SMTP server --------------------------------------------------------


@dataclass
class Mailbox:
    """aiosmtpd handler: records every message it takes; ``reply`` (at
    MAIL, RCPT or DATA) answers with an error instead; ``stall`` holds the
    answer to DATA until released; ``hang_up`` drops the connection after
    DATA; ``on_data`` runs when a message arrives."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    reply: dict[str, str] = field(default_factory=dict)
    stall: threading.Event | None = None
    hang_up: bool = False
    on_data: Callable[[], None] | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if "MAIL" in self.reply:
            return self.reply["MAIL"]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if "RCPT" in self.reply:
            return self.reply["RCPT"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if "DATA" in self.reply:
            return self.reply["DATA"]
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.on_data is not None:
            self.on_data()
        if self.hang_up:
            server.transport.close()
        if self.stall is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.stall.wait, 30)
        return "250 2.0.0 Ok: queued as 4ZX9"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(content, _class=EmailMessage, policy=email.policy.default)
            for _, _, content in self.received
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


Serve = Callable[..., tuple[Mailbox, int]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start an SMTP server on 127.0.0.1 with ``Controller`` options."""
    started: list[tuple[Controller, Mailbox]] = []

    def start(mailbox: Mailbox | None = None, **options: Any) -> tuple[Mailbox, int]:
        box = mailbox or Mailbox()
        port = free_port()
        controller = Controller(box, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append((controller, box))
        return box, port

    yield start
    for controller, box in started:
        if box.stall is not None:
            box.stall.set()
        controller.stop()


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    if isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"blog",
        PASSWORD.encode(),
    ):
        return AuthResult(success=True)
    # A server that echoes what it was given: it must not reach our errors.
    given = data.password.decode() if isinstance(data, LoginPassword) else "?"
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad login {given}")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


# --- the site and the target ---------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch «day» <b>✓</b>",
                "2026-04-10 09:30:00 +0200",
                "We *launched*. See [the docs](/docs/start.html).\n\nMore below.",
                image="/assets/cover.jpg",
                image_alt='"A rocket"',
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


MakeSmtp = Callable[..., SmtpTarget]


@pytest.fixture
def make_smtp(site: Config) -> MakeSmtp:
    def make(**options: Any) -> SmtpTarget:
        values = {
            "host": "127.0.0.1",
            "security": "none",
            "from": "news@blog.example.com",
            "to": "readers@lists.example.com",
            "timeout": 5,
            **options,
        }
        config = TargetConfig(name="list", type="smtp", options=values, source=site.path)
        target = registry.make_target(config, site.site)
        assert isinstance(target, SmtpTarget)
        target.clock = lambda: NOW
        return target

    return make


def deliver(target: SmtpTarget, entry: Entry) -> Receipt:
    return target.send(target.render(entry, KEY))


# --- render --------------------------------------------------------------------


def test_render_is_pure_and_readable(make_smtp: MakeSmtp, entry: Entry) -> None:
    target = make_smtp(reply_to="editor@blog.example.com")

    def no_clock() -> datetime:
        raise AssertionError("render must not read the clock")

    target.clock = no_clock
    message = target.render(entry, KEY)
    body = message.body
    assert body["subject"] == "Launch «day» <b>✓</b>"
    assert body["from"] == "Test Blog <news@blog.example.com>"
    assert body["to"] == ["readers@lists.example.com"]
    assert body["reply_to"] == "editor@blog.example.com"
    assert body["message_id"] == f"<{KEY}@blog.example.com>"
    assert body["image"] == "https://blog.example.com/assets/cover.jpg"
    assert entry.post.url in body["text"]
    # The HTML goes to a file on --dry-run, not into the body.
    assert message.html is not None and "<html" in message.html
    assert not any("<html" in str(value) for value in body.values())
    assert body["html_bytes"] == len(message.html.encode())
    assert "&lt;b&gt;" in message.html and "<b>✓" not in message.html
    assert message.headers == {}
    assert target.render(entry, KEY) == message


@pytest.mark.parametrize("key", ["with space", "a@b.c", "ключ", "x..y", "", "<x>"])
def test_a_key_unfit_for_a_message_id_becomes_a_stable_digest(key: str) -> None:
    value = message_id(key, "example.com")
    assert value.startswith("<syn_") and value.endswith("@example.com>")
    assert value.isascii() and " " not in value
    assert message_id(key, "example.com") == value
    assert message_id(key + "!", "example.com") != value


def test_dry_run_writes_the_html_to_a_file(
    make_smtp: MakeSmtp, site: Config, tmp_path: Path
) -> None:
    (found,) = scan(site.site).posts
    (tmp_path / "preview").mkdir()
    (outcome,) = dry_run(found, [make_smtp()], tmp_path / "preview")
    assert outcome.message is not None
    page = Path(outcome.message["html_file"])
    assert page.parent == tmp_path / "preview"
    assert "Read on the site" in page.read_text("utf-8")


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    sample = next(
        p
        for p in scan(config.site).posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    )
    options = {
        "host": "smtp.example.com",
        "username": "blog",
        "password": PASSWORD,
        "from": "news@example.com",
        "to": ["readers@lists.example.com"],
    }
    target = registry.make_target(
        TargetConfig(name="list", type="smtp", options=options, source=config.path), config.site
    )
    message = target.render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, "utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert PASSWORD not in produced
    assert validate(message) == []


@pytest.mark.parametrize("content", ["summary", "full"])
def test_hostile_text_renders_valid_mail(make_smtp: MakeSmtp, site: Config, content: str) -> None:
    hostile = post(
        "<script>x</script> **b** \a\x1b \r\nBcc: evil@example.com",
        "2026-04-11 09:00:00 +0000",
        "<b>bold</b> & [rel](../up.html) ![pic](/p.png)",
        image="/assets/a.png",
    )
    (site.root / "posts" / "2026-04-11-hostile.md").write_text(hostile, "utf-8")
    found = next(p for p in scan(site.site).posts if p.slug == "hostile")
    message = make_smtp(content=content).render(render_entry(found, site.site), KEY)
    assert message.body["subject"] == "<script>x</script> **b** Bcc: evil@example.com"
    problems = validate(message)
    if content == "summary":
        assert problems == []
    else:  # the author's own HTML is trusted in full mode; links are still absolute
        assert problems == ["markup from the post: ['b']"]


# --- send: success -------------------------------------------------------------


def test_the_message_arrives_once_with_headers_parts_and_image(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry
) -> None:
    box, port = serve()
    target = make_smtp(port=port, reply_to="editor@blog.example.com")
    receipt = deliver(target, entry)
    assert receipt == Receipt(remote_id=f"<{KEY}@blog.example.com>")
    assert len(box.received) == 1
    sender, recipients, _ = box.received[0]
    assert (sender, recipients) == ("news@blog.example.com", ["readers@lists.example.com"])
    (mail,) = box.messages()
    assert mail["From"] == "Test Blog <news@blog.example.com>"
    assert mail["To"] == "readers@lists.example.com"
    assert mail["Reply-To"] == "editor@blog.example.com"
    assert mail["Subject"] == "Launch «day» <b>✓</b>"
    assert mail["Message-ID"] == f"<{KEY}@blog.example.com>"
    assert parsedate_to_datetime(mail["Date"]) == NOW
    assert mail.get_content_type() == "multipart/alternative"
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, page = (p.get_content() for p in parts)
    assert entry.post.url in text and "Read on the site" in text
    assert '<img src="https://blog.example.com/assets/cover.jpg" alt="A rocket"' in page
    assert 'width="536"' in page
    assert 'href="https://blog.example.com/docs/start.html"' not in page  # summary only
    assert f'href="{entry.post.url}"' in page
    # 7-bit on the wire: a relay without 8BITMIME takes it unchanged.
    assert box.received[0][2].isascii()


def test_several_list_addresses(serve: Serve, make_smtp: MakeSmtp, entry: Entry) -> None:
    box, port = serve()
    deliver(make_smtp(port=port, to=["a@lists.example.com", "b@lists.example.com"]), entry)
    assert box.received[0][1] == ["a@lists.example.com", "b@lists.example.com"]
    assert box.messages()[0]["To"] == "a@lists.example.com, b@lists.example.com"


# aiosmtpd warns about AUTH without TLS, which is what these two tests do.
LOGIN_IN_CLEAR = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@LOGIN_IN_CLEAR
def test_login_without_tls_on_loopback(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_TEST_PASSWORD", PASSWORD)
    box, port = serve(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    target = make_smtp(port=port, username="blog", password="${SMTP_TEST_PASSWORD}")
    deliver(target, entry)
    assert len(box.received) == 1


@LOGIN_IN_CLEAR
def test_a_refused_login_is_dead_with_renew_and_no_password(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = PASSWORD + "-old"
    box, port = serve(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    with pytest.raises(PermanentError) as caught:
        deliver(make_smtp(port=port, username="blog", password=wrong), entry)
    text = str(caught.value)
    assert text.startswith("SMTP 535: 5.7.8 bad login ***") and "renew" in text
    # The test server's own log ("mail.log") is the server's, not ours.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail")]
    assert wrong not in text and not any(wrong in line for line in ours)
    assert box.received == []


def test_starttls_then_login(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry, certificate: tuple[Path, Path]
) -> None:
    # The server refuses MAIL and AUTH before STARTTLS: arriving proves TLS.
    box, port = serve(
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    target = make_smtp(
        port=port,
        security="starttls",
        ca_file=str(certificate[0]),
        username="blog",
        password=PASSWORD,
    )
    deliver(target, entry)
    assert len(box.received) == 1


def test_implicit_tls(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry, certificate: tuple[Path, Path]
) -> None:
    box, port = serve(ssl_context=server_tls(certificate))
    deliver(make_smtp(port=port, security="ssl", ca_file=str(certificate[0])), entry)
    assert len(box.received) == 1


def test_an_untrusted_certificate_is_dead(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry, certificate: tuple[Path, Path]
) -> None:
    box, port = serve(tls_context=server_tls(certificate), require_starttls=True)
    with pytest.raises(PermanentError, match="certificate is not trusted"):
        deliver(make_smtp(port=port, security="starttls"), entry)
    assert box.received == []


def test_starttls_never_falls_back_to_plain_text(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry
) -> None:
    box, port = serve()  # offers no STARTTLS
    with pytest.raises(PermanentError, match="does not offer STARTTLS"):
        deliver(
            make_smtp(port=port, security="starttls", username="blog", password=PASSWORD), entry
        )
    assert box.received == []


# --- send: failures ------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply", "kind"),
    [
        ("DATA", "421 4.3.2 shutting down", TransientError),
        ("DATA", "450 4.2.1 mailbox busy", TransientError),
        ("DATA", "451 4.3.0 local error", TransientError),
        ("DATA", "452 4.3.1 insufficient storage", TransientError),
        ("DATA", "550 5.7.1 rejected by policy", PermanentError),
        ("DATA", "552 5.3.4 message too big", PermanentError),
        ("DATA", "554 5.6.0 transaction failed", PermanentError),
        ("MAIL", "553 5.1.8 sender not allowed", PermanentError),
        ("MAIL", "451 4.7.1 greylisted", TransientError),
        ("RCPT", "550 5.1.1 no such list", PermanentError),
        ("RCPT", "450 4.2.0 list busy", TransientError),
    ],
)
def test_replies_are_classified(
    serve: Serve,
    make_smtp: MakeSmtp,
    entry: Entry,
    stage: str,
    reply: str,
    kind: type[Exception],
) -> None:
    box, port = serve(Mailbox(reply={stage: reply}))
    with pytest.raises(kind) as caught:
        deliver(make_smtp(port=port), entry)
    code = reply.split()[0]
    assert code in str(caught.value) and reply.split(" ", 2)[2] in str(caught.value)
    if isinstance(caught.value, TransientError):
        assert not caught.value.ambiguous  # the server said no: nothing was queued
    assert box.received == []


def test_a_refused_connection_is_transient_not_ambiguous(make_smtp: MakeSmtp, entry: Entry) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening
        port = closed.getsockname()[1]
        with pytest.raises(TransientError) as caught:
            deliver(make_smtp(port=port), entry)
    assert not caught.value.ambiguous
    assert "connection refused" in str(caught.value)


def test_no_greeting_in_time_is_not_ambiguous(make_smtp: MakeSmtp, entry: Entry) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever speaks
        with pytest.raises(TransientError) as caught:
            deliver(make_smtp(port=silent.getsockname()[1], timeout=0.3), entry)
    assert not caught.value.ambiguous
    assert "no answer in time" in str(caught.value)


def test_no_answer_after_the_message_is_ambiguous(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry
) -> None:
    box, port = serve(Mailbox(stall=threading.Event()))
    target = make_smtp(port=port, timeout=0.5)
    with pytest.raises(TransientError) as caught:
        deliver(target, entry)
    assert caught.value.ambiguous
    assert "may have been queued" in str(caught.value)
    assert len(box.received) == 1  # the server does hold it
    assert not target.retries_ambiguous()
    assert target.find_sent(target.render(entry, KEY)) is Lookup.UNKNOWN


def test_a_hang_up_after_the_message_is_ambiguous(
    serve: Serve, make_smtp: MakeSmtp, entry: Entry
) -> None:
    box, port = serve(Mailbox(hang_up=True))
    with pytest.raises(TransientError) as caught:
        deliver(make_smtp(port=port), entry)
    assert caught.value.ambiguous
    assert "closed the connection" in str(caught.value)
    assert len(box.received) == 1


def smtp_table(port: int, **options: Any) -> dict[str, Any]:
    return {
        "name": "list",
        "type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "news@blog.example.com",
        "to": "readers@lists.example.com",
        "backfill": "3650d",
        **options,
    }


def rows(config_path: Path) -> dict[str, Any]:
    config = load_config(config_path)
    store = open_store(config.state.url, config.root)
    try:
        return {d.key: d for d in store.list_deliveries()}
    finally:
        store.close()


def test_the_outbox_holds_an_ambiguous_send_and_never_repeats_it(
    serve: Serve, tmp_path: Path
) -> None:
    box, port = serve(Mailbox(stall=threading.Event()))
    config_path = write_site(tmp_path, 1, [smtp_table(port, timeout=0.5)])
    for _ in range(3):
        assert run_once(load_config(config_path)) is not None
    (row,) = rows(config_path).values()
    assert row.state == "held"
    assert "ambiguous" in (row.reason or "") and "may have been queued" in (row.reason or "")
    assert len(box.received) == 1


# --- a worker killed while the server holds the message ------------------------

CRASH_WORKER = textwrap.dedent(
    """
    import os
    import signal
    import sys

    from syndicate import worker
    from syndicate.config import load_config
    from syndicate.targets import registry

    registry.TYPES["smtp"] = "syndicate.targets.smtp:SmtpTarget"
    config_path, point = sys.argv[1], sys.argv[2]
    if point == "sent-unrecorded":
        from syndicate.targets.smtp import SmtpTarget

        real_send = SmtpTarget.send

        def send(self, message):
            real_send(self, message)
            os.kill(os.getpid(), signal.SIGKILL)

        SmtpTarget.send = send
    worker.run_once(load_config(config_path))
    sys.exit(3)
    """
)


@pytest.mark.parametrize("point", ["after-data", "sent-unrecorded"])
def test_a_crash_after_data_and_a_restart_do_not_send_twice(
    serve: Serve, tmp_path: Path, point: str
) -> None:
    worker: list[subprocess.Popen[str]] = []

    def kill_worker() -> None:
        # The server has the whole message; the worker dies before the 250.
        if point == "after-data" and worker and worker[0].poll() is None:
            os.kill(worker[0].pid, signal.SIGKILL)

    box, port = serve(Mailbox(on_data=kill_worker))
    config_path = write_site(tmp_path, 3, [smtp_table(port)])
    process = subprocess.Popen(
        [sys.executable, "-c", CRASH_WORKER, str(config_path), point],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker.append(process)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, stderr
    assert len(box.received) == 1
    (crashed,) = [d for d in rows(config_path).values() if d.state == "sending"]

    for _ in range(3):  # restart: ordinary ticks
        assert run_once(load_config(config_path)) is not None

    after = rows(config_path)
    assert after[crashed.key].state == "held"
    assert "ambiguous" in (after[crashed.key].reason or "")
    assert {d.state for key, d in after.items() if key != crashed.key} == {"sent"}
    ids = Counter(mail["Message-ID"] for mail in box.messages())
    assert sorted(ids) == sorted(f"<{key}@blog.example.com>" for key in after)
    assert set(ids.values()) == {1}  # every post once; the crashed one not again


# --- config --------------------------------------------------------------------


def test_defaults_and_class_facts(make_smtp: MakeSmtp) -> None:
    assert make_smtp(security="starttls").port == 587
    assert make_smtp(security="ssl").port == 465
    assert make_smtp().port == 25
    assert make_smtp().timeout == 5.0
    assert SmtpTarget.never_resend and not SmtpTarget.idempotent
    assert make_smtp().on_ambiguous == "hold"
    assert set(SmtpTarget.fields) >= {"host", "port", "security", "username", "password"}
    assert {"from", "to", "reply_to", "timeout", "subject", "content"} <= set(SmtpTarget.fields)


def test_an_internationalised_domain_is_sent_in_ascii(make_smtp: MakeSmtp) -> None:
    target = make_smtp(**{"from": "news@bücher.example"})
    assert target.sender == "news@xn--bcher-kva.example"


def test_plain_text_to_another_machine_without_login_is_a_warning(
    make_smtp: MakeSmtp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="syndicate")
    make_smtp(host="relay.lan.example")
    (record,) = [r for r in caplog.records if r.getMessage() == "smtp_plain_text"]
    assert record.levelno == logging.WARNING
    assert "relay.lan.example" in getattr(record, "fields", {})["error"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"host": "smtp.example.com", "username": "u", "password": PASSWORD},
            "targets[0].security",
        ),
        ({"host": ""}, "targets[0].host: expected a non-empty string"),
        ({"host": "smtp example.com"}, "targets[0].host: expected a host name or IP address"),
        ({"security": "tls"}, 'targets[0].security: expected one of "starttls"'),
        ({"port": 70000}, "targets[0].port: expected a port number"),
        ({"username": "blog"}, "targets[0].password: set both username and password"),
        ({"from": "Blog <news@example.com>"}, "put the display name in from_name"),
        ({"from": "news"}, 'targets[0].from: expected an address like "news@example.com"'),
        ({"to": []}, "targets[0].to: is required"),
        ({"to": ["ok@example.com", "bad address"]}, "targets[0].to: expected an address"),
        ({"reply_to": "x@"}, "targets[0].reply_to: expected an address"),
        ({"from_name": "Blog\nBcc: x@evil.example"}, "targets[0].from_name: expected one line"),
        ({"ca_file": "missing.pem", "security": "ssl"}, "targets[0].ca_file: cannot load"),
        ({"timeout": 0}, "targets[0].timeout: expected a number"),
        ({"content": "all"}, 'targets[0].content: expected one of "summary", "full"'),
        ({"subject": "{{ post.title"}, "targets[0].subject: line 1:"),
        ({"subject": "{{ post.nope }}"}, "targets[0].subject: "),
        ({"hots": "x"}, 'targets[0].hots: unknown key (did you mean "host"?)'),
    ],
)
def test_config_errors(make_smtp: MakeSmtp, options: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_smtp(**options)
    assert expected in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_missing_password_variable_is_named_not_guessed(make_smtp: MakeSmtp) -> None:
    with pytest.raises(ConfigError) as caught:
        make_smtp(username="blog", password="${SMTP_PASSWORD_NOT_SET_ANYWHERE}")
    assert str(caught.value).endswith(
        "targets[0].password: environment variable SMTP_PASSWORD_NOT_SET_ANYWHERE is not set"
    )


def test_on_ambiguous_retry_is_refused(make_smtp: MakeSmtp) -> None:
    with pytest.raises(ConfigError, match="never sends twice on a guess"):
        make_smtp(on_ambiguous="retry")
