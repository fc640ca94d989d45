"""Every target type, end to end: `syndicate run --once` against one loopback
server speaking each platform's API, then `publish --dry-run` showing every
rendered message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from contracts import contracts
from helpers import post, write_posts
from pytest_httpserver import HTTPServer

from syndicate.cli import cli

# SMTP speaks SMTP, not HTTP: tests/test_target_smtp.py runs it through
# run_once against a real SMTP server on 127.0.0.1.
CONTRACTS = [contract for contract in contracts() if contract.type != "smtp"]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    # Threaded: a target's request may wait on another endpoint's answer.
    instance = HTTPServer(host="127.0.0.1", threaded=True)
    instance.start()
    yield instance
    instance.clear()
    instance.stop()


def write_config(root: Path, server: HTTPServer) -> Path:
    lines = [
        '[site]\ntitle = "E2E"\nurl = "https://blog.example.com"\n'
        'author = { name = "Ada", email = "ada@example.com" }\n',
        "[feeds]\ncategories = false\n",
    ]
    for contract in CONTRACTS:
        options = {"name": contract.type, "type": contract.type, "backfill": "3650d"}
        options.update(contract.options(server))
        lines.append("[[targets]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
        lines.append("")
    config = root / "config" / "syndicate.toml"
    config.parent.mkdir(parents=True)
    config.write_text("\n".join(lines), "utf-8")
    return config


def test_every_type_delivers_through_run_once(tmp_path: Path, server: HTTPServer) -> None:
    for contract in CONTRACTS:
        contract.setup(server)
        if contract.main_path:
            server.expect_request(contract.main_path).respond_with_response(contract.ok())
    write_posts(
        tmp_path / "posts",
        {"2026-11-20-hello.md": post("Hello <everyone> & @here", "2026-11-20", "A *short* post.")},
    )
    config = write_config(tmp_path, server)
    result = CliRunner().invoke(cli, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    assert f"{len(CONTRACTS)} sent, 0 to retry, 0 dead, 0 held" in result.stdout
    hit = {entry[0].path for entry in server.log}
    for contract in CONTRACTS:
        if contract.main_path:
            assert contract.main_path in hit, contract.type
    status = CliRunner().invoke(cli, ["status", "--json", "--config", str(config)])
    rows = json.loads(status.stdout)["deliveries"]
    assert {row["target"]: row["state"] for row in rows} == {c.type: "sent" for c in CONTRACTS}


def test_dry_run_shows_every_rendered_message(tmp_path: Path, server: HTTPServer) -> None:
    write_posts(tmp_path / "posts", {"2026-11-20-hello.md": post("Hello", "2026-11-20")})
    config = write_config(tmp_path, server)
    result = CliRunner().invoke(
        cli, ["publish", "posts/2026-11-20-hello.md", "--dry-run", "--config", str(config)]
    )
    assert result.exit_code == 0, result.stderr
    decoder = json.JSONDecoder()
    text, shown = result.stdout, []
    while text.strip():
        message, end = decoder.raw_decode(text.lstrip())
        shown.append(message)
        text = text.lstrip()[end:]
    assert sorted(m["target"] for m in shown) == sorted(c.type for c in CONTRACTS)
    assert server.log == []  # nothing sent
    assert all("s3cr3t" not in json.dumps(m) for m in shown)
