"""Preflight: the content checks that hold a broken post back.

The sample's example post is held for exactly its two faults; a corpus of
ordinary posts in ``fixtures/ordinary`` gives no error; every check has a case
that fires and one that does not; severities can be changed and checks skipped.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicate import chatter
from syndicate.config import PREFLIGHT_CHECKS, Config, PreflightConfig, load_config
from syndicate.errors import PostError
from syndicate.posts import Post, body, read_post, scan
from syndicate.preflight import (
    DEFAULT_SEVERITY,
    Finding,
    blocking,
    check_all,
    check_post,
)
from syndicate.prose import count_words
from tests.helpers import make_site

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "posts" / "2026-04-10-ai-scribes-and-the-future-of-precision-medicine.md"
CORPUS = Path(__file__).resolve().parent / "fixtures" / "ordinary"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHATTER_LINE = "I will now use the `write_file` tool to create the sixty-ninth blog post."

FILLER = (
    "The harbour was quiet in the morning, and the boats came in one by one with\n"
    "their catch. We watched from the wall, drank coffee from a flask and talked\n"
    "about nothing much until the sun was high enough to warm our hands."
)


# --- helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> Config:
    return load_config(ROOT / "config" / "syndicate.toml")


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(tmp_path)


@dataclass
class Checked:
    findings: list[Finding]
    text: str  # the whole file

    def line(self, needle: str) -> int:
        """The 1-based file line that contains ``needle`` (the last one)."""
        numbers = [i for i, line in enumerate(self.text.split("\n"), 1) if needle in line]
        assert numbers, needle
        return numbers[-1]

    def of(self, check: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check == check]

    def pairs(self) -> list[tuple[str, int | None]]:
        return [(finding.check, finding.line) for finding in self.findings]


def source(body_text: str, *, title: str | None = "A quiet morning", **fields: Any) -> str:
    lines = ["---"]
    if title is not None:
        lines.append(f'title: "{title}"')
    lines += [f"{key}: {value}" for key, value in fields.items()]
    lines += ["---", "", body_text, ""]
    return "\n".join(lines)


def write_post(config: Config, name: str, text: str) -> Post:
    path = config.site.posts_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    post = read_post(path, config.site)
    assert post is not None
    return post


def run(
    config: Config,
    body_text: str,
    *,
    name: str = "2025-03-01-a-quiet-morning.md",
    settings: PreflightConfig | None = None,
    title: str | None = "A quiet morning",
    **fields: Any,
) -> Checked:
    text = source(body_text, title=title, **fields)
    post = write_post(config, name, text)
    findings = check_post(post, body(post), config.site, settings or config.preflight, now=NOW)
    return Checked(findings, text)


def with_settings(config: Config, **changes: Any) -> PreflightConfig:
    return replace(config.preflight, **changes)


# --- the example post ----------------------------------------------------------------


def test_example_post_is_held_back_for_its_chatter_and_its_stray_quote(sample: Config) -> None:
    post = read_post(EXAMPLE, sample.site)
    assert post is not None
    findings = check_post(post, body(post), sample.site, sample.preflight, now=NOW)
    lines = EXAMPLE.read_text(encoding="utf-8").split("\n")
    assert lines[27] == CHATTER_LINE
    assert lines[25].endswith('a reality."')
    assert [(f.check, f.severity, f.line) for f in findings] == [
        ("unbalanced-ending", "error", 26),
        ("writer-chatter", "error", 28),
    ]
    assert blocking(findings) == findings
    assert str(findings[1]).startswith(
        "posts/2026-04-10-ai-scribes-and-the-future-of-precision-medicine.md:28: "
        'error: writer-chatter: "I will now use the `write_file` tool'
    )
    assert "writing tool" in findings[1].message
    assert 'odd number of "' in findings[0].message


def test_example_post_with_both_lines_fixed_passes(sample: Config, tmp_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").split("\n")
    assert lines[26:28] == ["", CHATTER_LINE]
    fixed = [*lines[:25], lines[25].removesuffix('"'), *lines[28:]]
    folder = tmp_path / "posts"
    folder.mkdir()
    path = folder / EXAMPLE.name
    path.write_text("\n".join(fixed), encoding="utf-8")
    site = replace(sample.site, posts_dir=folder)  # images still come from the sample
    post = read_post(path, site)
    assert post is not None and post.image is not None
    assert check_post(post, body(post), site, sample.preflight, now=NOW) == []


def test_example_post_without_its_image_file_is_also_held(sample: Config, tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    site = replace(sample.site, posts_dir=folder, source_dir=tmp_path)
    post = read_post(folder / EXAMPLE.name, site)
    assert post is not None
    findings = check_post(post, body(post), site, sample.preflight, now=NOW)
    assert ("image-missing", 6) in [(f.check, f.line) for f in findings]


def test_the_sample_images_are_real_pngs() -> None:
    for name in (
        "2026-04-10-ai-scribes-and-the-future-of-precision-medicine.png",
        "release-notes-march.png",
    ):
        data = (ROOT / "assets" / "images" / "blog" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name


# --- writer chatter ----------------------------------------------------------------------

# (pattern name, line, where it is put: the start or the end of the body)
CHATTER = [
    ("tool-use", CHATTER_LINE, "end"),
    ("tool-use", "Next, I'll call the create_post function with the final text.", "start"),
    ("tool-use", "Let me use the file_writer tool to save this.", "end"),
    ("write-now", "Now I'll write the file.", "end"),
    ("write-now", "I'll now write the next blog post about sleep.", "end"),
    ("write-now", "Okay, now let me save the post.", "start"),
    ("let-me-create", "Let me create the blog post.", "start"),
    ("let-me-create", "Let me create a new file for the seventieth post.", "end"),
    ("save-markdown", "I'll save this as `2024-05-01-garden.md`.", "end"),
    ("save-markdown", "I'll store the article in a markdown file.", "end"),
    ("as-an-ai", "As an AI language model, I don't have personal experiences.", "start"),
    ("as-an-ai", "As a large language model, I cannot browse the internet.", "end"),
    ("as-an-ai", "I'm sorry, but as an AI I cannot taste food.", "end"),
    ("i-am-an-ai", "I'm an AI assistant, so I can't visit the harbour myself.", "end"),
    ("i-am-an-ai", "I am a language model, so check these facts yourself.", "end"),
    ("knowledge-cutoff", "Prices may have changed since my knowledge cutoff in 2023.", "end"),
    ("sure-here", "Sure! Here's a blog post about lentil soup:", "start"),
    ("sure-here", "Certainly! Below is the article you requested.", "start"),
    ("sure-here", "Of course, I've written a short post on harbours.", "start"),
    ("here-is-the-post", "Here is the blog post you asked for:", "start"),
    ("here-is-the-post", "Here's a 600-word blog post about composting:", "start"),
    ("here-is-the-post", "Below is a draft post based on your outline.", "start"),
    ("okay-i-will-write", "Okay, I'll write a blog post about the Danube cycle path.", "start"),
    ("offer-changes", "Let me know if you'd like any changes!", "end"),
    ("offer-changes", "Would you like me to make it shorter?", "end"),
    ("offer-changes", "Feel free to ask for any adjustments to the tone.", "end"),
    ("offer-changes", "If you'd like, I can expand the section on tides.", "end"),
    ("hope-this-helps", "I hope this helps!", "end"),
    ("hope-this-helps", "I hope this post meets your needs.", "end"),
    ("hope-this-helps", "I hope this helps. Let me know if you need anything else.", "end"),
]


@pytest.mark.parametrize(("name", "line", "where"), CHATTER)
def test_each_chatter_pattern_is_found(site: Config, name: str, line: str, where: str) -> None:
    pattern = chatter.match_line(line, [where, "anywhere"])
    assert pattern is not None and pattern.name == name
    body_text = f"{line}\n\n{FILLER}" if where == "start" else f"{FILLER}\n\n{line}"
    checked = run(site, body_text)
    assert checked.pairs() == [("writer-chatter", checked.line(line))]
    assert checked.findings[0].severity == "error"
    assert pattern.why in checked.findings[0].message


def test_every_chatter_pattern_has_a_test() -> None:
    names = {pattern.name for pattern in chatter.patterns()}
    assert names == {name for name, _, _ in CHATTER}


ORDINARY = [
    "I will now explain how the cache works.",
    "Let me be clear: this is not a post about one database being bad.",
    "Let me tell you about my garden.",
    "As an AI researcher, I go to two or three conferences a year.",
    "As a language model researcher, I read a lot of transcripts.",
    "I'm an AI enthusiast and a hobby gardener.",
    "I am an AI engineer at a small startup.",
    "I'll write another post about the garlic next summer.",
    "In the next post, I will write about tomatoes.",
    "Now I'll write about the second day in Kyoto.",
    "Let me write this down before I forget.",
    "Now let me show you the finished table.",
    "We will now use the `grep` tool to find the file.",
    "Using the right tool for the job matters.",
    "I will now do this once a month.",
    "Let me know in the comments what you think.",
    "Let me know if you make any changes to the recipe.",
    "I hope this helps someone else who hits the same error.",
    "Hope you enjoy the photos.",
    "Here is a map of the route we took:",
    "Here is a post I wrote last year about the same trip.",
    "Okay, let's talk about the essays.",
    "Sure, the weather was bad, but we still went out.",
    "Certainly not everyone agrees with me.",
    "Of course, here in Lisbon nothing is flat.",
    "Would you like to try it? The recipe is below.",
    "Feel free to ask questions in the comments.",
    "My knowledge of Portuguese is limited to ordering coffee.",
    "I save the file and reload the page.",
    '"As an AI language model, I cannot help with that," the chatbot said.',
    "This is my hundredth blog post, and I'm still enjoying it.",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_prose_is_not_chatter(site: Config, line: str) -> None:
    assert chatter.match_line(line, ["start", "end", "anywhere"]) is None
    checked = run(site, f"{line}\n\n{FILLER}\n\n{line}")
    assert checked.of("writer-chatter") == []


def test_chatter_in_the_middle_is_not_looked_for(site: Config) -> None:
    middle = "\n\n".join([FILLER, CHATTER_LINE, FILLER, FILLER])
    assert run(site, middle).of("writer-chatter") == []


def test_chatter_in_code_or_a_blockquote_is_quoted_not_said(site: Config) -> None:
    quoted = f"{FILLER}\n\n> {CHATTER_LINE}"
    assert run(site, quoted).of("writer-chatter") == []
    fenced = f"{FILLER}\n\n```text\n{CHATTER_LINE}\n```"
    assert run(site, fenced).of("writer-chatter") == []


def test_start_patterns_are_only_looked_for_at_the_start(site: Config) -> None:
    line = "Sure! Here's a blog post about lentil soup:"
    assert run(site, f"{FILLER}\n\n{FILLER}\n\n{line}").of("writer-chatter") == []
    assert len(run(site, f"{line}\n\n{FILLER}").of("writer-chatter")) == 1


def test_chatter_after_a_sentence_on_the_same_line_is_found(site: Config) -> None:
    checked = run(site, f"{FILLER} {CHATTER_LINE}")
    assert checked.pairs() == [("writer-chatter", checked.line(CHATTER_LINE))]


def test_bad_chatter_data_is_rejected() -> None:
    good = 'name = "x"\nwhere = "end"\nwhy = "is chatter"\n'
    assert chatter.parse_patterns(f"[[pattern]]\n{good}regex = 'a+'\n")[0].name == "x"
    with pytest.raises(ValueError, match="where must be one of"):
        chatter.parse_patterns(f"[[pattern]]\n{good.replace('end', 'middle')}regex = 'a'\n")
    with pytest.raises(ValueError, match="bad regex"):
        chatter.parse_patterns(f"[[pattern]]\n{good}regex = '(a'\n")
    with pytest.raises(ValueError, match="regex"):
        chatter.parse_patterns(f"[[pattern]]\n{good}")
    twice = f"[[pattern]]\n{good}regex = 'a'\n" * 2
    with pytest.raises(ValueError, match="unique"):
        chatter.parse_patterns(twice)


# --- leftovers: fences, placeholders, the ending ----------------------------------------


def test_an_unclosed_fence_is_reported_where_it_opens(site: Config) -> None:
    checked = run(site, f"{FILLER}\n\n```python\nprint('hi')\n\nMore text.")
    assert checked.pairs() == [("unclosed-fence", checked.line("```python"))]
    assert "never closed" in checked.findings[0].message


@pytest.mark.parametrize(
    "code",
    [
        "```python\nprint('hi')\n```",
        "~~~\n```\nnot a closing fence for tildes\n~~~",
        "````markdown\n```js\nx\n```\n````",
        "- a list item\n\n    ```sh\n    make\n    ```",
    ],
)
def test_closed_fences_are_fine(site: Config, code: str) -> None:
    assert run(site, f"{FILLER}\n\n{code}\n\n{FILLER}").findings == []


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Lorem ipsum dolor sit amet, consectetur adipiscing.", "Lorem ipsum"),
        ("TODO: add a photo of the harbour here.", "TODO"),
        ("The opening date is TBD.", "TBD"),
        ("FIXME this paragraph is wrong.", "FIXME"),
        ("The price is XXX euros.", "XXX"),
        ("As the mayor said, [insert quote here], and we agreed.", "[insert quote here]"),
        ("Signed, [Your Name]", "[Your Name]"),
        ("Read more on {{ site.url }}/about.", "{{ site.url }}"),
        ("{% include signup.html %}", "{% include signup.html %}"),
    ],
)
def test_placeholders_are_found(site: Config, line: str, shown: str) -> None:
    checked = run(site, f"{FILLER}\n\n{line}\n\n{FILLER}")
    assert checked.pairs() == [("placeholder", checked.line(line))]
    assert f'"{shown}' in checked.findings[0].message


@pytest.mark.parametrize(
    "text",
    [
        "Write `{{ name }}` in the template and `{% if user %}` for a condition.",
        "```jinja\n{{ page.title }}\n{% for x in y %}TODO{% endfor %}\n```",
        "Indented code follows:\n\n    {{ value }}  # TODO",
        "I keep a TODO list in a text file, and todo items are lowercase here.",
        '{{< figure src="https://images.example.org/a.png" >}}',
        "[Add a comment](https://example.com/comments) or [your settings][1].\n\n"
        "[1]: https://example.com/settings",
        "<!-- TODO: a note to myself that readers never see -->",
        "Super Bowl XXXV was in Tampa.",
    ],
)
def test_ordinary_text_is_no_placeholder(site: Config, text: str) -> None:
    assert run(site, f"{FILLER}\n\n{text}\n\n{FILLER}").of("placeholder") == []


def test_liquid_is_fine_where_the_site_or_the_post_renders_it(site: Config) -> None:
    text = f"{FILLER}\n\nRead more on {{{{ site.url }}}}/about."
    assert len(run(site, text).of("placeholder")) == 1
    assert run(site, text, settings=with_settings(site, liquid=True)).of("placeholder") == []
    assert run(site, text, render_with_liquid="true").of("placeholder") == []
    assert len(run(site, text, render_with_liquid="false").of("placeholder")) == 1


@pytest.mark.parametrize(
    ("ending", "culprit"),
    [
        ('That is how it ended."', 'ended."'),
        ("She called it “the best day of the year.", "“the best"),
        ("The last stop was Sintra (which we loved.", "(which"),
        ("We left early] and never looked back.", "early]"),
        ("See the [full list of places.", "[full list"),
        ("Er sagte: „Bis morgen.", "„Bis"),
        ("Il a dit : « À demain.", "« À"),
        ("彼は「また明日と言った。", "「また"),
        ('He said "goodbye" and then "see you.', 'then "see'),
    ],
)
def test_an_unbalanced_ending_is_found(site: Config, ending: str, culprit: str) -> None:
    checked = run(site, f"{FILLER}\n\n{FILLER}\n{ending}")
    assert checked.pairs() == [("unbalanced-ending", checked.line(culprit))]


@pytest.mark.parametrize(
    "ending",
    [
        'As she said, "life is too short for bad books."',
        "It rained all week (as it always does in March).",
        "The full notes are on [the project page](https://example.com/a_(b)).",
        "Until next week :) and thanks for reading ;-)",
        'I bought a 27" monitor and never looked back.',
        "Er sagte: „Bis morgen.“ Und ging.",
        "Il a dit : « À demain. » Puis il est parti.",
        "彼は「また明日」と言った（たぶん）。",
        "Options: 1) stay, 2) go, or a) neither.",
        "The answer is in the appendix (see page 8) and in step 2 (option b).",
        "The second method (see figure a) is faster.",
        "“Quoted,” she said, “twice.”",
        '`print("unbalanced` is code, not prose.',
    ],
)
def test_balanced_endings_pass(site: Config, ending: str) -> None:
    assert run(site, f"{FILLER}\n\n{ending}").findings == []


def test_only_the_last_paragraph_counts(site: Config) -> None:
    earlier = f'{FILLER}\n\nAn "open quote in an earlier paragraph.\n\n{FILLER}'
    assert run(site, earlier).of("unbalanced-ending") == []
    code_last = f"{FILLER}\n\n```python\nprint('a \"')\n```"
    assert run(site, code_last).of("unbalanced-ending") == []
    quoted_last = f'{FILLER}\n\n> He said "stop.\n> And went.'
    checked = run(site, quoted_last)
    assert checked.pairs() == [("unbalanced-ending", checked.line('"stop.'))]


# --- front matter ----------------------------------------------------------------------


@pytest.mark.parametrize("title", [None, '""', "'   '"])
def test_a_missing_or_empty_title_is_an_error(site: Config, title: str | None) -> None:
    fields = "" if title is None else f"title: {title}\n"
    text = f"---\n{fields}date: 2025-03-01\n---\n{FILLER}\n"
    post = write_post(site, "2025-03-01-untitled-thoughts.md", text)
    findings = check_post(post, body(post), site.site, site.preflight, now=NOW)
    assert [(f.check, f.severity) for f in findings] == [("title-missing", "error")]
    assert '"Untitled Thoughts"' in findings[0].message


def test_a_long_title_is_a_warning(site: Config) -> None:
    settings = with_settings(site, title_max_length=20)
    checked = run(site, FILLER, title="A" * 21, settings=settings)
    assert [(f.check, f.severity, f.line) for f in checked.findings] == [
        ("title-too-long", "warning", 2)
    ]
    assert run(site, FILLER, title="A" * 20, settings=settings).findings == []


def test_a_date_far_in_the_future_is_an_error(site: Config) -> None:
    late = (NOW + timedelta(days=400)).date().isoformat()
    checked = run(site, FILLER, date=late)
    assert [(f.check, f.severity, f.line) for f in checked.findings] == [
        ("date-far-future", "error", checked.line("date:"))
    ]
    soon = (NOW + timedelta(days=300)).date().isoformat()
    assert run(site, FILLER, date=soon).findings == []
    short = with_settings(site, future_limit=timedelta(days=30))
    assert len(run(site, FILLER, date=soon, settings=short).of("date-far-future")) == 1


def test_a_date_before_1990_is_an_error(site: Config) -> None:
    checked = run(site, FILLER, date="1989-12-31")
    assert checked.pairs() == [("date-too-old", checked.line("date:"))]
    assert "1989-12-31" in checked.findings[0].message
    assert run(site, FILLER, date="1990-01-01").findings == []


def _posts(site: Config, files: dict[str, str]) -> list[Post]:
    return [write_post(site, name, text) for name, text in files.items()]


def test_duplicate_titles_are_a_warning_on_both_posts(site: Config) -> None:
    posts = _posts(
        site,
        {
            "2025-01-01-one.md": source(FILLER, title="Harbour  Mornings"),
            "2025-02-01-two.md": source(FILLER, title="harbour mornings"),
            "2025-03-01-three.md": source(FILLER, title="Harbour Evenings"),
            "2025-04-01-four.md": source(FILLER, title="Harbour Mornings", draft="true"),
        },
    )
    results = check_all(posts, site.site, site.preflight, now=NOW)
    one, two, three, four = (results[post.id] for post in posts)
    assert [(f.check, f.severity) for f in one] == [("duplicate-title", "warning")]
    assert "posts/2025-02-01-two.md" in one[0].message
    assert [f.check for f in two] == ["duplicate-title"]
    assert three == [] and four == []


def test_duplicate_permalinks_are_an_error_on_both_posts(site: Config) -> None:
    posts = _posts(
        site,
        {
            "2025-01-01-one.md": source(FILLER, permalink="/harbour/", id="one"),
            "2025-02-01-two.md": source(FILLER, title="Other", permalink="/harbour/", id="two"),
            "2025-03-01-three.md": source(FILLER, title="Third", permalink="/third/"),
        },
    )
    results = check_all(posts, site.site, site.preflight, now=NOW)
    one, two, three = (results[post.id] for post in posts)
    assert [(f.check, f.severity, f.line) for f in one] == [("duplicate-permalink", "error", 3)]
    assert "https://blog.example.com/harbour/" in one[0].message
    assert "posts/2025-02-01-two.md" in one[0].message
    assert [f.check for f in two] == ["duplicate-permalink"]
    assert three == []


# --- images ------------------------------------------------------------------------------


def test_a_missing_site_image_is_an_error(site: Config, tmp_path: Path) -> None:
    checked = run(site, FILLER, image="/assets/missing.png")
    assert checked.pairs() == [("image-missing", checked.line("image:"))]
    assert "/assets/missing.png" in checked.findings[0].message
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "there.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "assets" / "with space.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert run(site, FILLER, image="/assets/there.png").findings == []
    assert run(site, FILLER, image='"/assets/with space.png"').findings == []
    assert run(site, FILLER, image="https://blog.example.com/assets/there.png").findings == []


def test_images_on_other_hosts_are_not_looked_for(site: Config) -> None:
    assert run(site, FILLER, image="https://cdn.example.net/x.png").findings == []


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.net/a.svg",
        "https://cdn.example.net/a.webp",
        "https://cdn.example.net/a.AVIF",
        "https://cdn.example.net/a.heic",
        "https://cdn.example.net/photo?w=800",
    ],
)
def test_image_types_some_targets_cannot_show_are_a_warning(site: Config, url: str) -> None:
    checked = run(site, FILLER, image=url)
    assert [(f.check, f.severity) for f in checked.findings] == [("image-type", "warning")]


@pytest.mark.parametrize("suffix", ["png", "jpg", "jpeg", "GIF"])
def test_common_image_types_are_fine(site: Config, suffix: str) -> None:
    assert run(site, FILLER, image=f"https://cdn.example.net/a.{suffix}?v=2").findings == []


# --- body length -------------------------------------------------------------------------


def test_a_short_body_is_a_warning(site: Config) -> None:
    checked = run(site, "Closed today. Back tomorrow!")
    assert [(f.check, f.severity, f.line) for f in checked.findings] == [
        ("body-too-short", "warning", None)
    ]
    assert "4 words" in checked.findings[0].message
    assert run(site, FILLER).findings == []
    fewer = with_settings(site, min_words=4)
    assert run(site, "Closed today. Back tomorrow!", settings=fewer).findings == []


def test_words_are_counted_as_readers_see_them() -> None:
    assert count_words(["Hello [world](https://example.com/a/b/c) <b>again</b>"]) == 3
    assert count_words(["京都の秋はきれいでした"]) == 5
    assert count_words(["it's a well-known fact"]) == 4


# --- severities and skips ---------------------------------------------------------------


def test_default_severities_cover_every_check() -> None:
    assert tuple(DEFAULT_SEVERITY) == PREFLIGHT_CHECKS
    assert set(DEFAULT_SEVERITY.values()) == {"error", "warning"}


def test_a_check_can_become_a_warning_or_be_turned_off(site: Config) -> None:
    text = f"{FILLER}\n\n{CHATTER_LINE}"
    warned = run(site, text, settings=with_settings(site, severities={"writer-chatter": "warning"}))
    assert [(f.check, f.severity) for f in warned.findings] == [("writer-chatter", "warning")]
    assert blocking(warned.findings) == []
    off = run(site, text, settings=with_settings(site, severities={"writer-chatter": "off"}))
    assert off.findings == []


def test_a_warning_can_become_an_error(site: Config) -> None:
    settings = with_settings(site, severities={"body-too-short": "error"})
    checked = run(site, "Too short.", settings=settings)
    assert blocking(checked.findings) == checked.findings
    assert [f.check for f in checked.findings] == ["body-too-short"]


@pytest.mark.parametrize(
    "skip",
    [
        "{skip: [writer-chatter, placeholder]}",
        '{skip: "writer-chatter"}',
        "{skip: [writer-chatter, no-such-check]}",
    ],
)
def test_a_post_can_skip_checks(site: Config, skip: str) -> None:
    text = f"{FILLER}\n\n{CHATTER_LINE}"
    assert len(run(site, text).of("writer-chatter")) == 1
    assert run(site, text, preflight=skip).of("writer-chatter") == []
    short = run(site, "Too short.", preflight=skip)
    assert [f.check for f in short.findings] == ["body-too-short"]  # other checks still run


# --- findings and check_all -------------------------------------------------------------


def test_findings_are_one_line_each(site: Config) -> None:
    lines = f"```\n{FILLER}"
    checked = run(site, f"{CHATTER_LINE}\n\n{lines}", title="x" * 200, date="1970-01-01")
    assert {f.check for f in checked.findings} >= {"title-too-long", "date-too-old"}
    for finding in checked.findings:
        text = str(finding)
        assert "\n" not in text
        where = f":{finding.line}" if finding.line else ""
        assert text.startswith(f"posts/2025-03-01-a-quiet-morning.md{where}: ")
        assert f": {finding.severity}: {finding.check}: " in text
    finding = Finding("placeholder", "error", "posts/a.md", None, "two\nlines")
    assert str(finding) == "posts/a.md: error: placeholder: two lines"


def test_check_all_keeps_checking_front_matter_when_a_body_cannot_be_read(
    site: Config,
) -> None:
    posts = _posts(
        site,
        {
            "2025-01-01-one.md": source(f"{FILLER}\n\n{CHATTER_LINE}", title=None),
            "2025-02-01-two.md": source(FILLER, title="Fine"),
        },
    )

    def unreadable(post: Post) -> str:
        raise PostError("cannot read the file (Permission denied)")

    results = check_all(posts, site.site, site.preflight, now=NOW, bodies=unreadable)
    assert [f.check for f in results[posts[0].id]] == ["title-missing"]
    assert results[posts[1].id] == []
    read = check_all(posts, site.site, site.preflight, now=NOW)
    assert [f.check for f in read[posts[0].id]] == ["title-missing", "writer-chatter"]


# --- the corpus of ordinary posts -------------------------------------------------------


def test_ordinary_posts_give_no_error(sample: Config) -> None:
    site = replace(sample.site, posts_dir=CORPUS)
    result = scan(site)
    assert result.errors == ()
    assert len(result.posts) >= 30
    findings = check_all(result.posts, site, sample.preflight, now=NOW)
    errors = [str(f) for found in findings.values() for f in blocking(found)]
    assert errors == []
    warnings = sorted(str(f) for found in findings.values() for f in found)
    assert warnings == [
        "ordinary/2025-12-20-closed-until-january.md: warning: body-too-short: the body has "
        "19 words, fewer than preflight.min_words (30): too short to summarise",
        "ordinary/2025-12-20-closed-until-january.md:5: warning: image-type: .webp images: "
        "some targets and mail clients cannot show it (PNG, JPEG and GIF work everywhere)",
    ]
