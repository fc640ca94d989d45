"""A post body as readers see it: which lines are prose and which are code,
whether the quotes and brackets of a paragraph pair up, how many words it has.

Line-based and forgiving, not a Markdown parser: it knows fenced and indented
code, HTML comments, ``<pre>`` and Liquid ``highlight``/``raw`` blocks,
blockquotes and inline code, which is what the preflight checks need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_CODE_HTML = re.compile(r"<(pre|script|style)\b", re.IGNORECASE)
_LIQUID_CODE = re.compile(r"\{%-?\s*(highlight|raw)\b")
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1")
_TAG = re.compile(r"<[^<>\n]*>")


@dataclass
class Body:
    lines: list[str]
    kinds: list[str]  # per line: "text", "quote", "blank" or "code"
    open_fence: tuple[int, str] | None  # (index, fence line) never closed


def classify(text: str, markdown: bool) -> Body:
    lines = text.split("\n")
    kinds: list[str] = []
    fence: tuple[int, str, str] | None = None  # (index, marker, line)
    closer: re.Pattern[str] | None = None  # ends an HTML comment/pre or Liquid block
    in_list = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if fence is not None:
            kinds.append("code")
            marker = fence[1]
            if re.fullmatch(rf"{re.escape(marker[0])}{{{len(marker)},}}", stripped):
                fence = None
            continue
        if closer is not None:
            kinds.append("code")
            if closer.search(line):
                closer = None
            continue
        opened = _FENCE.match(line) if markdown else None
        if opened and not (opened.group(1)[0] == "`" and "`" in opened.group(2)):
            fence = (index, opened.group(1), stripped)
            kinds.append("code")
            continue
        if not stripped:
            kinds.append("blank")
            continue
        previous = kinds[-1] if kinds else "blank"
        indented = line.startswith(("    ", "\t"))
        if markdown and indented and previous in ("blank", "code") and not in_list:
            kinds.append("code")
            continue
        ender = _block_end(stripped)
        if ender is not None:
            kinds.append("code")
            if not ender.search(stripped, 4):
                closer = ender
            continue
        if not indented:
            in_list = bool(_LIST_ITEM.match(line))
        kinds.append("quote" if stripped.startswith(">") else "text")
    open_fence = (fence[0], fence[2]) if fence else None
    return Body(lines, kinds, open_fence)


def _block_end(stripped: str) -> re.Pattern[str] | None:
    """For a line that opens a block readers do not see as prose (an HTML
    comment, ``<pre>``, a Liquid highlight), the pattern that closes it."""
    if stripped.startswith("<!--"):
        return re.compile("-->")
    tag = _CODE_HTML.match(stripped)
    if tag:
        return re.compile(rf"</{tag.group(1)}\s*>", re.IGNORECASE)
    liquid = _LIQUID_CODE.match(stripped)
    if liquid:
        return re.compile(rf"\{{%-?\s*end{liquid.group(1)}\b")
    return None


def without_code(line: str) -> str:
    """A line without its inline code and HTML tags."""
    return _TAG.sub("", INLINE_CODE.sub(" ", line))


# Smileys are no brackets; "1)" and "a)" number a list when nothing is open.
_EMOTICON = re.compile(r"(?<!\w)[:;=][-'^o]?[()\[\]]")
_ENUMERATOR = re.compile(r"(?<!\S)(?:\d{1,2}|[a-zA-Z])\)(?!\S)")
_DIGIT_QUOTE = re.compile(r'(?<=\d)"')
_PAIRS = {")": "(", "]": "[", "）": "（", "」": "「", "』": "『"}


def last_paragraph(parsed: Body, chatter: set[int]) -> list[int]:
    paragraph: list[int] = []
    for index in reversed(range(len(parsed.lines))):
        kind = parsed.kinds[index]
        if index in chatter or kind == "code":
            if paragraph:
                break
            continue
        if kind == "blank":
            if paragraph:
                break
            continue
        paragraph.append(index)
    return paragraph[::-1]


def unbalanced(lines: Sequence[tuple[int, str]]) -> tuple[int, str] | None:
    """(index, what) for the first imbalance found in ``lines``."""
    marks: dict[str, list[int]] = {}
    stacks: dict[str, list[int]] = {opener: [] for opener in _PAIRS.values()}
    for index, line in lines:
        text = _EMOTICON.sub(" ", without_code(line))
        enumerators = {found.end() - 1 for found in _ENUMERATOR.finditer(text)}
        for at, char in enumerate(text):
            if char in '"“”„«»':
                marks.setdefault(char, []).append(index)
            elif char in stacks:
                stacks[char].append(index)
            elif char in _PAIRS:
                if stacks[_PAIRS[char]]:
                    stacks[_PAIRS[char]].pop()
                elif at not in enumerators:
                    return index, f'a "{char}" with no "{_PAIRS[char]}" before it'
    straight = marks.get('"', [])
    if len(straight) % 2:
        digits = sum(len(_DIGIT_QUOTE.findall(line)) for _, line in lines)
        if (len(straight) - digits) % 2:  # 27" is an inch mark, not a quote
            return straight[-1], 'an odd number of " (a stray or missing quote mark)'
    left, right, low = (marks.get(c, []) for c in "“”„")
    if low and len(low) != len(left) + len(right):  # „German“ or „Polish”
        return max(low + left + right), "a „ without its closing quote mark, or the reverse"
    if not low and len(left) != len(right):
        more, char = (left, "“") if len(left) > len(right) else (right, "”")
        return more[-1], f'a "{char}" without its partner'
    opening, closing = marks.get("«", []), marks.get("»", [])
    if len(opening) != len(closing):
        return max(opening + closing), "a « or » without its partner"
    for opener, stack in stacks.items():
        if stack:
            return stack[-1], f'a "{opener}" that is never closed'
    return None


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LINK_TARGET = re.compile(r"\]\([^)\s]*\)|https?://\S+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def count_words(parsed_lines: Iterable[str]) -> int:
    """Words of prose; Chinese and Japanese count one word per two characters."""
    words = cjk = 0
    for line in parsed_lines:
        text = _LINK_TARGET.sub(" ", _TAG.sub(" ", line))
        cjk += len(_CJK.findall(text))
        words += len(_WORD.findall(_CJK.sub(" ", text)))
    return words + cjk // 2
