"""Held back: a broken due post reaches no feed and no target until it is fixed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import post, write_posts

from syndicate.cli import cli

BROKEN = post(
    "Broken",
    "2026-01-02 10:00",
    "A perfectly ordinary opening paragraph about gardening in the rain, long enough to "
    "summarise and to read well in a feed reader or an email.\n\n"
    "I will now use the `write_file` tool to create the next blog post.",
)
FIXED = BROKEN.replace("\n\nI will now use the `write_file` tool to create the next blog post.", "")
GOOD = post(
    "Good",
    "2026-01-01 10:00",
    "Another ordinary paragraph with enough words in it to be summarised properly, about "
    "the weather, the garden and the old cat who sleeps on the warm stones all afternoon "
    "while the rain keeps falling.",
)


def site(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config" / "syndicate.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[site]\ntitle = "Blog"\nurl = "https://blog.example.com"\n\n'
        "[feeds]\ncategories = false\n\n"
        '[[targets]]\nname = "archive"\ntype = "file"\nfolder = "out"\nbackfill = "36500d"\n'
        + extra,
        "utf-8",
    )
    write_posts(tmp_path / "posts", {"2026-01-02-broken.md": BROKEN, "2026-01-01-good.md": GOOD})
    return config


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def sent_titles(tmp_path: Path, folder: str = "out") -> list[str]:
    return sorted(
        json.loads(path.read_text("utf-8"))["post"]["title"]
        for path in (tmp_path / folder).glob("*.json")
    )


def test_a_broken_post_is_held_back_then_released_once(tmp_path: Path) -> None:
    config = site(tmp_path)
    code, out, err = run("run", "--once", "--config", str(config))
    assert code == 0, err  # holding a post back is the tick doing its job
    assert "held back: posts/2026-01-02-broken.md" in out
    assert "writer-chatter" in out and "post_held_back" in err
    assert sent_titles(tmp_path) == ["Good"]
    feed = (tmp_path / "public" / "feed.xml").read_text("utf-8")
    assert "Broken" not in feed and "Good" in feed
    code, out, _ = run("status", "--json", "--config", str(config))
    status = json.loads(out)
    assert [item["source"] for item in status["held_back"]] == ["posts/2026-01-02-broken.md"]
    assert {row["post"].rsplit("/", 1)[-1] for row in status["deliveries"]} == {"good"}

    (tmp_path / "posts" / "2026-01-02-broken.md").write_text(FIXED, "utf-8")
    code, out, _ = run("run", "--once", "--config", str(config))
    assert code == 0 and "held back" not in out
    assert sent_titles(tmp_path) == ["Broken", "Good"]
    run("run", "--once", "--config", str(config))
    assert sent_titles(tmp_path) == ["Broken", "Good"]  # once
    assert "Broken" in (tmp_path / "public" / "feed.xml").read_text("utf-8")


def test_an_alert_goes_out_once_per_version(tmp_path: Path) -> None:
    alerts = (
        '\n[[targets]]\nname = "owner"\ntype = "file"\nfolder = "alerts"\n\n'
        '[preflight]\nalerts = "owner"\n'
    )
    config = site(tmp_path, alerts)
    run("run", "--once", "--config", str(config))
    run("run", "--once", "--config", str(config))
    assert sent_titles(tmp_path, "alerts") == ["Held back: Broken"]
    assert sent_titles(tmp_path) == ["Good"]  # the alerts target gets no announcements
    alert = json.loads(next((tmp_path / "alerts").glob("*.json")).read_text("utf-8"))
    assert "is the writing tool talking" in alert["post"]["summary"]
    broken = tmp_path / "posts" / "2026-01-02-broken.md"
    broken.write_text(BROKEN.replace("gardening", "gardening (still broken)"), "utf-8")
    run("run", "--once", "--config", str(config))
    assert sent_titles(tmp_path, "alerts") == ["Held back: Broken", "Held back: Broken"]


def test_severity_override_and_per_post_skip_release_it(tmp_path: Path) -> None:
    config = site(tmp_path, '\n[preflight.checks]\nwriter-chatter = "warning"\n')
    _, out, _ = run("run", "--once", "--config", str(config))
    assert "held back" not in out and sent_titles(tmp_path) == ["Broken", "Good"]

    other = tmp_path / "other"
    config = site(other)
    skipping = BROKEN.replace(
        "date: 2026-01-02 10:00", "date: 2026-01-02 10:00\npreflight: {skip: [writer-chatter]}"
    )
    (other / "posts" / "2026-01-02-broken.md").write_text(skipping, "utf-8")
    _, out, _ = run("run", "--once", "--config", str(config))
    assert "held back" not in out and sent_titles(other) == ["Broken", "Good"]


def test_check_fails_on_errors_in_every_format(tmp_path: Path) -> None:
    config = site(tmp_path)
    code, out, _ = run("check", "--config", str(config))
    assert code == 1
    assert "posts/2026-01-02-broken.md:" in out and ": error: writer-chatter:" in out
    code, out, _ = run("check", "--format", "github", "--config", str(config))
    assert code == 1
    assert out.startswith("::error file=posts/2026-01-02-broken.md,line=")
    code, out, _ = run("check", "--format", "json", "--config", str(config))
    assert code == 1 and json.loads(out)["errors"] >= 1
    good = str(tmp_path / "posts" / "2026-01-01-good.md")
    code, out, _ = run("check", good, "--config", str(config))
    assert code == 0 and out.strip() == "0 errors, 0 warnings"


def test_an_unknown_alerts_target_is_a_config_error(tmp_path: Path) -> None:
    config = site(tmp_path, '\n[preflight]\nalerts = "nobody"\n')
    code, _, err = run("run", "--once", "--config", str(config))
    assert code == 2 and 'preflight.alerts: no enabled target named "nobody"' in err
