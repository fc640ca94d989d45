"""Writer chatter: the patterns in ``data/chatter.toml`` and where they apply.

An automated writer sometimes leaves its own words in a post: tool-use
narration at the end, an echo of the request at the start. The patterns are
data, loaded once; this module finds them in the first and last lines of a
body (the caller says which lines are prose, outside code).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

WINDOW = 3  # non-empty prose lines looked at, at each end of the body
PLACES = ("start", "end", "anywhere")
LOOK = 400  # characters of a sentence the patterns see

# Sentences start at the line's start and after ". ", "! ", "? " (a closing
# quote or bracket may come between).
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_LEADING_MARKUP = re.compile(r"^(?:\s+|#+|[*_]+|<[^<>]*>)+")
_TAG = re.compile(r"<[^<>\n]*>")


@dataclass(frozen=True)
class ChatterPattern:
    name: str
    where: str  # "start", "end" or "anywhere"
    why: str  # the message after the quoted line
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Chatter:
    index: int  # which of the given lines
    line: str  # that line, stripped
    pattern: ChatterPattern


def parse_patterns(text: str, source: str = "chatter.toml") -> tuple[ChatterPattern, ...]:
    """The ``[[pattern]]`` tables of a chatter file; ValueError names the bad one."""
    data = tomllib.loads(text)
    patterns: list[ChatterPattern] = []
    for index, item in enumerate(data.get("pattern", [])):
        where = f"{source}: pattern[{index}]"
        fields = {key: item.get(key) for key in ("name", "where", "why", "regex")}
        missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
        if missing:
            raise ValueError(f"{where}: expected text in {', '.join(missing)}")
        if item["where"] not in PLACES:
            raise ValueError(f"{where}: where must be one of {', '.join(PLACES)}")
        try:
            regex = re.compile(item["regex"], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{where} ({item['name']}): bad regex ({exc})") from None
        patterns.append(ChatterPattern(item["name"], item["where"], item["why"], regex))
    names = [pattern.name for pattern in patterns]
    if len(set(names)) != len(names):
        raise ValueError(f"{source}: pattern names must be unique")
    return tuple(patterns)


@functools.cache
def patterns() -> tuple[ChatterPattern, ...]:
    """The patterns shipped in the package, read once."""
    text = resources.files("syndicate").joinpath("data/chatter.toml").read_text("utf-8")
    return parse_patterns(text)


def _normalized(line: str) -> str:
    line = line.replace("’", "'").replace("‘", "'")
    line = _LEADING_MARKUP.sub("", line)
    return _TAG.sub("", line).strip().rstrip("*_").strip()


def match_line(line: str, places: Sequence[str]) -> ChatterPattern | None:
    """The first pattern for ``places`` that a sentence of ``line`` starts with."""
    text = _normalized(line)
    if not text:
        return None
    starts = [0, *(found.end() for found in _SENTENCE_END.finditer(text))]
    for pattern in patterns():
        if pattern.where not in places:
            continue
        # A sentence is judged by its first few hundred characters: enough
        # for any pattern, and a long one-line paragraph stays cheap.
        if any(pattern.regex.match(text, start, start + LOOK) for start in starts):
            return pattern
    return None


def find_chatter(lines: Sequence[str]) -> list[Chatter]:
    """Chatter among the first and last WINDOW non-empty ``lines`` (prose
    lines, in order; blank ones are passed as "" and skipped)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    head, tail = set(filled[:WINDOW]), set(filled[-WINDOW:])
    found: list[Chatter] = []
    for index in sorted(head | tail):
        places = ["anywhere"]
        places += ["start"] if index in head else []
        places += ["end"] if index in tail else []
        pattern = match_line(lines[index], places)
        if pattern is not None:
            found.append(Chatter(index, lines[index].strip(), pattern))
    return found
