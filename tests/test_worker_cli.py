"""The worker's commands: run --once, run (the service), publish, status, retry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import post, write_posts
from pytest_httpserver import HTTPServer

from syndicate.cli import cli

SCRIPT = Path(sys.executable).parent / "syndicate"


def site(tmp_path: Path, targets: str, posts: dict[str, str | bytes] | None = None) -> Path:
    config = tmp_path / "config" / "syndicate.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[site]\ntitle = "Blog"\nurl = "https://blog.example.com"\n\n'
        '[feeds]\ncategories = false\n\n[schedule]\ninterval = "1h"\n\n'
        '[delivery]\nbackoff_base = "1h"\njitter = 0\n\n' + targets,
        "utf-8",
    )
    write_posts(
        tmp_path / "posts",
        posts
        or {
            "2026-01-02-first.md": post("First", "2026-01-02 10:00"),
            "2099-01-01-later.md": post("Later", "2099-01-01"),
        },
    )
    return config


FILE_TARGET = '[[targets]]\nname = "archive"\ntype = "file"\nfolder = "out"\nbackfill = "36500d"\n'


def hook_target(server: HTTPServer, name: str = "hook") -> str:
    return (
        f'[[targets]]\nname = "{name}"\ntype = "webhook"\nurl = "{server.url_for("/hook")}"\n'
        'backfill = "36500d"\n'
    )


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_once_sends_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    code, out, err = run("run", "--once", "--config", str(config))
    assert code == 0, err
    assert "1 due of 2 posts" in out and "1 sent" in out
    assert len(list((tmp_path / "out").glob("*.json"))) == 1
    assert "delivery_sent" in err
    code, out, _ = run("run", "--once", "--config", str(config))
    assert code == 0 and "0 enqueued; 0 sent" in out


def test_run_once_exits_1_when_a_delivery_fails(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", status=503)
    config = site(tmp_path, hook_target(httpserver))
    code, out, err = run("run", "--once", "--config", str(config))
    assert code == 1
    assert "1 to retry" in out
    assert "retry_scheduled" in err and "wait=3600s" in err


def test_json_logs_are_one_object_per_line(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    code, _, err = run("--log-format", "json", "run", "--once", "--config", str(config))
    assert code == 0
    events = [json.loads(line) for line in err.splitlines()]
    assert {"event": "delivery_sent", "target": "archive"}.items() <= next(
        e for e in events if e["event"] == "delivery_sent"
    ).items()


def test_a_bad_target_is_a_config_error(tmp_path: Path) -> None:
    config = site(tmp_path, '[[targets]]\nname = "x"\ntype = "pigeon"\n')
    code, _, err = run("run", "--once", "--config", str(config))
    assert code == 2
    assert 'targets[0].type: unknown target type "pigeon"' in err


def test_a_missing_secret_names_the_variable_not_a_value(tmp_path: Path) -> None:
    target = '[[targets]]\nname = "h"\ntype = "webhook"\nurl = "https://x.example/${NO_SUCH_VAR}"\n'
    code, _, err = run("run", "--once", "--config", str(site(tmp_path, target)))
    assert code == 2
    assert "targets[0].url: environment variable NO_SUCH_VAR is not set" in err


def test_publish_dry_run_prints_and_sends_nothing(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    code, out, _ = run("publish", "posts/2099-01-01-later.md", "--dry-run", "--config", str(config))
    assert code == 0
    shown = json.loads(out)
    assert shown["target"] == "archive" and shown["body"]["post"]["title"] == "Later"
    assert not (tmp_path / "out").exists()


def test_publish_sends_now_and_refuses_twice(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json({"id": "42"})
    config = site(tmp_path, hook_target(httpserver))
    later = str(tmp_path / "posts" / "2099-01-01-later.md")
    code, out, _ = run("publish", later, "--config", str(config))
    assert (code, out.strip()) == (0, "hook: sent (42)")
    code, out, _ = run("publish", later, "--config", str(config))
    assert code == 1 and "hook: refused (already sent at" in out
    code, out, _ = run("publish", later, "--force", "--config", str(config))
    assert code == 0
    ids = [entry[0].headers["webhook-id"] for entry in httpserver.log]
    assert len(ids) == 2 and ids[0] != ids[1]  # a forced repeat is a new message


def test_publish_unknown_post_or_target_is_a_usage_error(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    code, _, err = run("publish", "nope.md", "--config", str(config))
    assert code == 2 and "no post with that path, id or link" in err
    code, _, err = run(
        "publish", "posts/2026-01-02-first.md", "--target", "x", "--config", str(config)
    )
    assert code == 2 and 'no target named "x" (configured: archive)' in err


def test_status_and_retry(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    config = site(tmp_path, hook_target(httpserver))
    run("run", "--once", "--config", str(config))
    code, out, _ = run("status", "--config", str(config))
    assert code == 0
    assert "posts/2026-01-02-first.md" in out
    assert "hook             dead     attempts 1   HTTP 410: gone; the endpoint is gone" in out
    assert "next scheduled post: 2099-01-01T00:00:00+00:00  posts/2099-01-01-later.md" in out
    code, out, _ = run("status", "--json", "--config", str(config))
    data = json.loads(out)
    assert data["counts"] == {"dead": 1}
    assert data["deliveries"][0]["source"] == "posts/2026-01-02-first.md"
    code, out, _ = run("retry", "--target", "hook", "--config", str(config))
    assert (code, out.strip()) == (0, "1 deliveries will be retried on the next tick")
    code, out, _ = run("status", "--json", "--config", str(config))
    assert json.loads(out)["counts"] == {"retry": 1}


def test_the_service_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    env = {**os.environ, "SYNDICATE_LOG_FORMAT": "json"}
    service = subprocess.Popen(
        [str(SCRIPT), "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert service.stderr is not None
        seen = []
        deadline = time.monotonic() + 20
        for line in service.stderr:
            seen.append(json.loads(line)["event"])
            if "tick_done" in seen or time.monotonic() > deadline:
                break
        assert "tick_done" in seen
        service.send_signal(signal.SIGTERM)
        _, rest = service.communicate(timeout=20)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0
    events = seen + [json.loads(line)["event"] for line in rest.splitlines()]
    assert (
        events.index("delivery_sent") < events.index("stopping") < events.index("service_stopped")
    )
    assert len(list((tmp_path / "out").glob("*.json"))) == 1


@pytest.mark.parametrize("command", ["run", "publish", "status", "retry"])
def test_worker_help_teaches(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0 and "Example" in out


def test_the_service_wakes_when_a_scheduled_post_falls_due(tmp_path: Path) -> None:
    # The interval is an hour: only the wake-up at the post's own time can send it.
    soon = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    config = site(
        tmp_path,
        FILE_TARGET,
        {"2026-01-02-soon.md": post("Soon", soon.strftime("%Y-%m-%d %H:%M:%S +0000"))},
    )
    env = {**os.environ, "SYNDICATE_LOG_FORMAT": "json"}
    service = subprocess.Popen(
        [str(SCRIPT), "run", "--config", str(config)], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert service.stderr is not None
        events = []
        for line in service.stderr:
            events.append(json.loads(line))
            if events[-1]["event"] == "delivery_sent" or len(events) > 100:
                break
        sent_at = datetime.now(UTC)
    finally:
        service.send_signal(signal.SIGTERM)
        service.communicate(timeout=20)
    names = [e["event"] for e in events]
    assert names.count("tick_done") >= 1
    assert names[-1] == "delivery_sent"
    assert events[-1]["post"].endswith("/soon")
    assert sent_at >= soon


def test_a_bad_state_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    config = site(tmp_path, FILE_TARGET)
    text = config.read_text("utf-8") + '\n[state]\nurl = "postgres ql://u:hunter2pw@x/db"\n'
    config.write_text(text, "utf-8")
    code, _, err = run("run", "--once", "--config", str(config))
    assert code == 2
    assert "hunter2pw" not in err and len(err.strip().splitlines()) == 1


def test_publish_resolves_a_dead_workers_row_first(tmp_path: Path) -> None:
    config_path = site(tmp_path, FILE_TARGET)
    run("run", "--once", "--config", str(config_path))
    from syndicate.config import load_config
    from syndicate.state import open_store

    config = load_config(config_path)
    store = open_store(config.state.url, config.root)
    try:
        (row,) = store.list_deliveries()
        store.update(row.id, "sent", state="sending", lease_owner="dead")
    finally:
        store.close()
    code, out, _ = run("publish", "posts/2026-01-02-first.md", "--config", str(config_path))
    # The file target is idempotent: the dead worker's row is retried, not refused.
    assert (code, out.strip().split(" ")[:2]) == (0, ["archive:", "sent"])
