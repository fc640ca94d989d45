"""Shared by the crash and PostgreSQL tests: a Standard Webhooks receiver on
127.0.0.1, a site written to disk, and a worker process that kills itself.

The receiver checks signatures with ``verify`` below, written from the
Standard Webhooks specification, not with syndicate's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from helpers import post, write_posts

SECRET_KEY = hashlib.sha256(b"syndicate crash test key").digest()  # 32 bytes
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()
TOLERANCE = 300  # seconds a webhook-timestamp may differ from our clock

# Retries are due at once, so a bounded number of ticks drains the outbox.
FAST_DELIVERY = {"backoff_base": "0s", "jitter": 0, "concurrency": 5}


def verify(secret: str, headers: Any, body: bytes, now: float | None = None) -> bool:
    """A receiver's check, per the spec: HMAC-SHA256 keyed with the base64 part
    of ``whsec_...``, over "<webhook-id>.<webhook-timestamp>." + the raw body;
    ``webhook-signature`` is a space-separated list of "v1,<base64>"; a
    timestamp too far from now is refused (replay protection)."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not stamp or not signatures or not stamp.isdigit():
        return False
    if now is not None and abs(now - int(stamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for item in signatures.split(" "):
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    body: bytes
    valid: bool

    def payload(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server recording every POST; 200 when the signature
    is good, 401 when not."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self._lock = threading.Lock()
        self._received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                ok = verify(receiver.secret, self.headers, body, now=time.time())
                receiver._record(
                    Received(self.path, self.headers.get("webhook-id") or "", body, ok)
                )
                answer = json.dumps({"id": f"r{len(receiver.received)}"}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def _record(self, request: Received) -> None:
        with self._lock:
            self._received.append(request)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def counts(self) -> Counter[str]:
        """Raw requests per webhook-id (signed correctly), duplicates included."""
        return Counter(r.webhook_id for r in self.received if r.valid)

    def unique(self) -> dict[str, Received]:
        """Deduplicated by webhook-id, as a receiver following the spec would."""
        first: dict[str, Received] = {}
        for request in self.received:
            if request.valid:
                first.setdefault(request.webhook_id, request)
        return first

    def invalid(self) -> list[Received]:
        return [r for r in self.received if not r.valid]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --- a site on disk ------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string, escapes included
    raise TypeError(f"no TOML for {value!r}")


def _toml_table(values: dict[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in values.items()]


def webhook(name: str, url: str, **options: Any) -> dict[str, Any]:
    """A webhook target table that takes every recent post (no baseline)."""
    return {
        "name": name,
        "type": "webhook",
        "url": url,
        "secret": SECRET,
        "backfill": "3650d",
        **options,
    }


def write_site(
    root: Path,
    count: int,
    targets: list[dict[str, Any]],
    *,
    state_url: str | None = None,
    delivery: dict[str, Any] | None = None,
    age: timedelta = timedelta(hours=1),
) -> Path:
    """``count`` tiny posts, the newest ``age`` old, one hour apart; returns
    the config file's path. State defaults to SQLite under ``root/state``."""
    now = datetime.now(UTC).replace(microsecond=0)
    posts: dict[str, str | bytes] = {}
    for number in range(count):
        date = now - age - timedelta(hours=number)
        name = f"{date:%Y-%m-%d}-post-{number}.md"
        posts[name] = post(f"Post {number}", f"{date:%Y-%m-%d %H:%M:%S} +0000", f"Body {number}.")
    write_posts(root / "posts", posts)
    lines = [
        "[site]",
        'title = "Crash Blog"',
        'url = "https://blog.example.com"',
        'author = { name = "Ada" }',
        "",
        "[state]",
        f"url = {_toml_value(state_url or 'sqlite:///state/syndicate.db')}",
        "",
        "[delivery]",
        *_toml_table(delivery if delivery is not None else FAST_DELIVERY),
    ]
    for target in targets:
        lines += ["", "[[targets]]", *_toml_table(target)]
    path = root / "config" / "syndicate.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- a worker that dies ----------------------------------------------------------

# argv: config path, crash point, then "not-idempotent" to make the webhook
# target pose as a target that takes no idempotency key. Reaching the end
# means the crash point was never hit: exit 3.
CRASH_WORKER = textwrap.dedent(
    """
    import os
    import signal
    import sys

    from syndicate import state, worker
    from syndicate.config import load_config
    from syndicate.targets.webhook import WebhookTarget

    config_path, point = sys.argv[1], sys.argv[2]
    if "not-idempotent" in sys.argv[3:]:
        WebhookTarget.idempotent = False


    def die():
        os.kill(os.getpid(), signal.SIGKILL)


    if point == "claimed":
        real_claim = state.Store.claim_next

        def claim_next(self, *args, **kwargs):
            delivery = real_claim(self, *args, **kwargs)
            if delivery is not None:
                die()
            return delivery

        state.Store.claim_next = claim_next
    elif point == "sent-unrecorded":
        real_send = WebhookTarget.send

        def send(self, message):
            real_send(self, message)
            die()

        WebhookTarget.send = send
    elif point == "committing-sent":
        real_finish = state.Store.finish

        def finish(self, delivery, owner, **values):
            if values.get("state") == "sent":
                die()
            return real_finish(self, delivery, owner, **values)

        state.Store.finish = finish
    elif point == "enqueueing":
        # Killed after the target's first sight is written but before the
        # transaction holding it and its baseline rows commits.
        real_add_target = state.Store._add_target

        def _add_target(self, db, name, now):
            real_add_target(self, db, name, now)
            die()

        state.Store._add_target = _add_target
    else:
        sys.exit(f"unknown crash point {point}")

    worker.run_once(load_config(config_path))
    sys.exit(3)
    """
)


def run_crashing_worker(
    config_path: Path, point: str, *extra: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASH_WORKER, str(config_path), point, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
