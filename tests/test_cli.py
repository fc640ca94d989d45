"""The command line: output, exit codes, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import post, write_posts

from syndicate.cli import cli

CONFIG = """\
[site]
title = "CLI Blog"
url = "https://blog.example.com"
timezone = "Europe/Berlin"

[feeds]
categories = false
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "syndicate.toml"
    config.write_text(CONFIG, "utf-8")
    write_posts(
        tmp_path / "posts",
        {
            "2026-01-02-due.md": post(
                "Due post", "2026-01-02 10:00", "First *paragraph*.\n\nMore."
            ),
            "2026-01-03-draft.md": post("Draft post", "2026-01-03", draft="true"),
            "2099-05-01-later.md": post("Later post", "2099-05-01 08:00"),
        },
    )
    return config


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_build_writes_feeds_then_nothing(site: Path) -> None:
    code, out, err = run("build", "--config", str(site))
    assert code == 0, err
    assert "wrote public/feed.xml" in out
    assert "1 due of 3 posts; 3 feed files, 3 changed" in out
    assert (site.parent.parent / "public" / "rss.xml").is_file()
    code, out, _ = run("build", "--config", str(site))
    assert code == 0
    assert "wrote" not in out and "3 feed files, 0 changed" in out


def test_build_with_a_bad_post_exits_1_and_names_it(site: Path) -> None:
    bad = site.parent.parent / "posts" / "2026-01-04-bad.md"
    bad.write_text("---\ntitle: [unclosed\n---\nbody\n", "utf-8")
    code, out, err = run("build", "--config", str(site))
    assert code == 1
    assert "wrote public/feed.xml" in out
    (line,) = err.strip().splitlines()
    assert line.startswith("error: posts/2026-01-04-bad.md:")
    assert "not valid YAML" in line


def test_config_error_exits_2_with_one_line(site: Path) -> None:
    site.write_text(CONFIG.replace("categories = false", 'limit = "ten"'), "utf-8")
    code, _, err = run("build", "--config", str(site))
    assert code == 2
    assert err == f'error: {site}: feeds.limit: expected a positive integer, got "ten"\n'


def test_missing_config_exits_2(tmp_path: Path) -> None:
    code, _, err = run("posts", "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "no such config file" in err and "Traceback" not in err


def test_posts_json_lists_status_and_reasons(site: Path) -> None:
    code, out, _ = run("posts", "--config", str(site), "--json", "--now", "2026-06-01T00:00Z")
    assert code == 0
    data = json.loads(out)
    by_title = {p["title"]: p for p in data["posts"]}
    assert by_title["Due post"]["status"] == "due"
    assert by_title["Due post"]["summary"] == "First paragraph."
    assert by_title["Due post"]["date"] == "2026-01-02T10:00:00+01:00"
    assert by_title["Due post"]["url"] == "https://blog.example.com/2026/01/02/due.html"
    assert by_title["Draft post"]["status"] == "draft"
    assert by_title["Draft post"]["why"] == "draft: true"
    assert by_title["Later post"]["status"] == "scheduled"
    assert by_title["Later post"]["why"] == "due at 2099-05-01T08:00:00+02:00"
    assert data["errors"] == []


def test_posts_now_makes_a_scheduled_post_due(site: Path) -> None:
    code, out, _ = run("posts", "--config", str(site), "--json", "--now", "2099-05-01T06:00Z")
    assert code == 0
    later = next(p for p in json.loads(out)["posts"] if p["title"] == "Later post")
    assert later["status"] == "due"


def test_posts_text_lists_unreadable_files(site: Path) -> None:
    (site.parent.parent / "posts" / "2026-01-05-list.md").write_text("---\n- a\n---\n", "utf-8")
    code, out, _ = run("posts", "--config", str(site))
    assert code == 0
    assert "1 files could not be read:" in out
    assert "posts/2026-01-05-list.md:2: front matter: expected a mapping of fields" in out
    assert "3 posts: 1 due, 0 held back, 1 scheduled, 1 draft or unpublished" in out


def test_bad_now_is_a_usage_error(site: Path) -> None:
    code, _, err = run("posts", "--config", str(site), "--now", "soon")
    assert code == 2
    assert err.startswith("error: --now: expected a date like")


@pytest.mark.parametrize("command", ["build", "posts"])
def test_help_teaches_with_examples(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Example" in out and "--config" in out


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "syndicate"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("syndicate, version ")
