"""Benchmark `syndicate build` on generated sites of N posts.

For each size N this script writes a throw-away site (config/syndicate.toml +
posts/) into a temp folder: N posts shaped like
posts/2026-04-10-ai-scribes-and-the-future-of-precision-medicine.md (a ~3.5 KB
Markdown body of bold-numbered sections, 1-3 categories from a pool of 30,
0-3 tags, an image field), dated over ten years (2016-06 to 2026-06, so all
are due), named YYYY-MM-DD-slug.md. The config is the sample one: 20 posts per
feed, atom + rss + json, categories = true.

It then measures, as separate processes, each --runs times, reporting medians:
  cold build       `syndicate build` with no public/ folder (deleted first)
  no-change build  `syndicate build` again, every feed file already up to date
  peak RSS         max resident set size of the cold build process
  start-up         `syndicate --help` (import + click, no posts read)
"Cold" means a fresh output folder; the posts are still in the OS page cache.

Run from the repository root with the venv's Python:
    python bench/feeds.py [--sizes 1000,10000] [--runs 3]
Standard library only. Exits non-zero if any syndicate command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SYNDICATE = Path(sys.executable).parent / "syndicate"  # the console script

# Each measurement runs in a fresh `python -c` wrapper that starts the command,
# times it, and reports its own RUSAGE_CHILDREN.ru_maxrss. ru_maxrss for
# children is the max over all waited-for descendants, so reading it in this
# benchmark process would return the largest build so far; the wrapper's only
# child is the one command, so its value is exactly that command's peak RSS.
# Wall time is measured inside the wrapper, so the wrapper's own start-up is
# not counted. (ru_maxrss is in KiB on Linux, in bytes on macOS.)
WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": seconds, "maxrss": rss,
                  "stdout": done.stdout, "stderr": done.stderr}))
"""
RSS_TO_MIB = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024

CONFIG = """\
[site]
title = "Benchmark Notes"
description = "Generated posts for the syndicate benchmark."
url = "https://blog.example.com"
baseurl = ""
author = { name = "Ada Example", email = "ada@example.com" }
timezone = "Europe/Berlin"
language = "en"
posts_dir = "posts"
source_dir = "."
permalink = "date"

[feeds]
output_dir = "public"
limit = 20
formats = ["atom", "rss", "json"]
categories = true

[preflight]
# The generated posts name images that are not on disk.
checks = { "image-missing" = "off" }
"""

CATEGORIES = [
    f"{a}-{b}"
    for a in ("clinical", "patient", "data", "ai", "care", "health")
    for b in ("notes", "safety", "research", "software", "policy")
]  # 30
TAG_TEXT = "release-notes product howto interview case-study opinion security privacy research"
TAGS = TAG_TEXT.split()
WORD_TEXT = (
    "patient clinical data medicine precision scribe model record note treatment "
    "genomic evidence risk care workflow physician outcome therapy cohort signal "
    "documentation structured context prevention diagnosis research algorithm "
    "history symptom lifestyle biomarker response variant insight approach"
)
WORDS = WORD_TEXT.split()
BODY_CHARS = 3430  # ends ~3,510 characters, as the example post's body (3,509)


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(12, 24))
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, chars: int) -> str:
    text = sentence(rng)
    while len(text) < chars:
        text += " " + sentence(rng)
    return text


def post_text(rng: random.Random, index: int, date: datetime) -> tuple[str, str]:
    """File name and contents of one generated post."""
    title = " ".join(rng.choices(WORDS, k=rng.randint(4, 8))).title()
    slug = "-".join(title.lower().split()) + f"-{index}"
    name = f"{date:%Y-%m-%d}-{slug}"
    cats = rng.sample(CATEGORIES, rng.randint(1, 3))
    head = [
        "---",
        "layout: post",
        f'title: "{title}"',
        f"date: {date:%Y-%m-%d %H:%M:%S}",
        f"categories: [{', '.join(cats)}]",
    ]
    tags = rng.sample(TAGS, rng.randint(0, 3))
    if tags:
        head.append(f"tags: [{', '.join(tags)}]")
    head += [f"image: /assets/images/blog/{name}.png", "---", ""]
    parts = [paragraph(rng, 550)]
    for number in range(1, 6):
        heading = " ".join(rng.choices(WORDS, k=3)).title()
        parts.append(f"**{number}. {heading}:**\n{paragraph(rng, 420)}")
    parts.append(paragraph(rng, max(0, BODY_CHARS - sum(len(p) + 2 for p in parts))))
    return f"{name}.md", "\n".join(head) + "\n" + "\n\n".join(parts) + "\n"


def make_site(root: Path, count: int) -> Path:
    rng = random.Random(count)
    (root / "config").mkdir(parents=True)
    (root / "config" / "syndicate.toml").write_text(CONFIG, encoding="utf-8")
    posts = root / "posts"
    posts.mkdir()
    start, span = datetime(2016, 6, 1), timedelta(days=3652).total_seconds()
    for index in range(count):
        date = start + timedelta(seconds=rng.randrange(int(span)))
        name, text = post_text(rng, index, date)
        (posts / name).write_text(text, encoding="utf-8")
    return root / "config" / "syndicate.toml"


def measure(*args: str) -> dict[str, Any]:
    """Run `syndicate ARGS` in a fresh wrapper process; fail loudly on error."""
    command = [sys.executable, "-c", WRAPPER, str(SYNDICATE), *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] != 0:
        sys.exit(
            f"FAILED (exit {result['rc']}): syndicate {' '.join(args)}\n"
            f"{result['stdout'][-2000:]}{result['stderr'][-2000:]}"
        )
    return result


def summary_line(result: dict[str, Any]) -> str:
    last: str = result["stdout"].strip().splitlines()[-1]
    return last  # "N due of M posts; F feed files, W changed"


def bench_size(count: int, runs: int) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory(prefix=f"syndicate-bench-{count}-") as folder:
        config = make_site(Path(folder), count)
        public = Path(folder) / "public"
        cold, again, rss, files = [], [], [], set()
        for _ in range(runs):
            shutil.rmtree(public, ignore_errors=True)
            first = measure("build", "--config", str(config))
            second = measure("build", "--config", str(config))
            if not summary_line(second).endswith(" 0 changed"):
                sys.exit(f"no-change build rewrote files: {summary_line(second)}")
            if not summary_line(first).startswith(f"{count} due of {count} posts"):
                sys.exit(f"expected all {count} posts due: {summary_line(first)}")
            cold.append(first["seconds"])
            again.append(second["seconds"])
            rss.append(first["maxrss"] * RSS_TO_MIB)
            files.add(sum(1 for p in public.rglob("*") if p.is_file()))
        if len(files) != 1:
            sys.exit(f"feed file count differs between runs: {sorted(files)}")
        med = statistics.median
        return med(cold), med(again), med(rss), files.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated post counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    if not SYNDICATE.exists():
        sys.exit(f"no syndicate console script at {SYNDICATE}; run with the venv's python")

    help_times = [measure("--help")["seconds"] for _ in range(options.runs)]
    rows = [(n, *bench_size(n, options.runs)) for n in sizes]

    print(f"syndicate feed benchmark, {datetime.now():%Y-%m-%d %H:%M}")
    print(
        f"python {platform.python_version()} ({sys.executable}), "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"
    )
    print(
        f"median of {options.runs} runs; `syndicate --help` start-up: "
        f"{statistics.median(help_times):.3f} s"
    )
    print()
    header = ("posts", "cold build s", "no-change build s", "peak RSS MiB", "feed files written")
    widths = [len(h) for h in header]
    print(" | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for n, cold, again, rss, files in rows:
        cells = (str(n), f"{cold:.3f}", f"{again:.3f}", f"{rss:.1f}", str(files))
        print(" | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()
