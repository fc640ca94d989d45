"""Read a post file's front matter without reading its body.

YAML (``---``), TOML (``+++``) and JSON (``{`` … ``}``) front matter, as Jekyll
and Hugo write it. The file is read line by line up to the closing delimiter;
the body is read later, and only for posts that are rendered.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler

from .errors import PostError

MAX_FRONT_MATTER_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"


# libyaml's parser when PyYAML has it: ten times faster on a large folder.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PostYAMLLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Plain scalars are text, except true/false and null.

    PyYAML follows YAML 1.1: yes/no/on/off are booleans, ``10:00`` is a
    base-60 number, ``08`` an octal error and timestamps naive datetimes.
    Front matter fields are text to us (``title: 08``, ``id: 007`` and
    ``version: 1.10`` keep their characters; dates are parsed by syndicate).
    """


_PostYAMLLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^(?:<<)$", "<"),
):
    _PostYAMLLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )


class _TOMLHandler(BaseHandler):
    """Hugo's ``+++`` front matter, parsed with the standard library."""

    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)

    def load(self, fm: str, **kwargs: object) -> Any:
        return tomllib.loads(fm)


_YAML = YAMLHandler()
_JSON = JSONHandler()
_TOML = _TOMLHandler()


@dataclass(frozen=True)
class Head:
    """What the scan learns from the top of a file."""

    metadata: dict[str, Any] | None  # None: the file has no front matter
    body_offset: int  # byte offset where the body starts
    body_line: int  # 1-based line number of the body's first line
    format: str  # "yaml", "toml", "json" or "none"


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line} (save the file as UTF-8)",
            line=line,
        ) from None


_OPENINGS = {b"---": "yaml", b"+++": "toml", b"{": "json"}
_CLOSINGS = {
    "yaml": re.compile(r"^(?:-{3}|\.{3})\s*$"),
    "toml": re.compile(r"^\+{3}\s*$"),
    "json": re.compile(r"^\}\s*$"),
}


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _invalid(kind: str, problem: str, line: int) -> PostError:
    return PostError(f"front matter: not valid {kind} ({problem})", line=line)


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse(kind: str, text: str, first_line: int) -> Any:
    name = kind.upper()
    try:
        data = _load(kind, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = first_line + mark.line if mark else first_line
        problem = _one_line(exc.problem or exc.context or "syntax error")
        raise PostError(
            f"front matter: not valid YAML ({problem}, line {line})", line=line
        ) from None
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        line = first_line + int(found.group(1)) - 1 if found else first_line
        problem = _one_line(_TOML_AT.sub("", str(exc)))
        raise PostError(
            f"front matter: not valid TOML ({problem}, line {line})", line=line
        ) from None
    except json.JSONDecodeError as exc:
        line = first_line + exc.lineno - 1
        raise PostError(
            f"front matter: not valid JSON ({exc.msg}, line {line})", line=line
        ) from None
    except RecursionError:
        raise PostError("front matter: nested too deeply", line=first_line) from None
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # Explicit tags (``!!int abc``), numbers past Python's digit limit and
        # the like: the parser accepted the text but could not build a value.
        raise PostError(
            f"front matter: not valid {name} ({_one_line(exc)})", line=first_line
        ) from None
    if _has_lone_surrogate(data):
        raise _invalid(name, "an escape that is no Unicode character", first_line)
    return data


def _load(kind: str, text: str) -> Any:
    if kind == "yaml":
        return _YAML.load(text, Loader=_PostYAMLLoader)
    if kind == "toml":
        return _TOML.load(text)
    return _JSON.load("{" + text + "}")


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def read_head(path: Path) -> Head:
    """Parse the front matter at the top of ``path``; raises PostError."""
    with path.open("rb") as handle:
        return _read_head(handle)


def _read_head(handle: BinaryIO) -> Head:
    first_raw = handle.readline(MAX_FRONT_MATTER_BYTES)
    if first_raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PostError("UTF-16 text is not supported (save the file as UTF-8)", line=1)
    offset = len(first_raw)
    start = 3 if first_raw.startswith(_BOM) else 0
    # Look at bytes: a file that opens with no delimiter is not read further,
    # whatever its encoding (a Latin-1 README next to the posts is no error).
    kind = _OPENINGS.get(first_raw[start:].rstrip())
    if kind is None:
        return Head(metadata=None, body_offset=start, body_line=1, format="none")
    closing = _CLOSINGS[kind]
    lines: list[str] = []
    number = 1
    while True:
        raw = handle.readline(MAX_FRONT_MATTER_BYTES)
        number += 1
        if not raw:
            delimiter = {"yaml": "---", "toml": "+++", "json": "}"}[kind]
            raise PostError(
                f'front matter: no closing "{delimiter}" line after the opening one on line 1',
                line=1,
            )
        offset += len(raw)
        if offset > MAX_FRONT_MATTER_BYTES:
            raise PostError("front matter: longer than 1 MiB", line=1)
        text = _decode(raw, number).rstrip("\r\n")
        if closing.match(text):
            break
        lines.append(text)
    data = _parse(kind, "\n".join(lines), 2)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        shown = f"the text {data!r:.40}" if isinstance(data, str) else f"a {type(data).__name__}"
        raise PostError(f"front matter: expected a mapping of fields, got {shown}", line=2)
    return Head(metadata=data, body_offset=offset, body_line=number + 1, format=kind)


def read_body(path: Path, offset: int) -> str:
    """The text after the front matter, with CRLF line ends made LF."""
    with path.open("rb") as handle:
        handle.seek(offset)
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PostError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} in the body, {line} lines "
            "after the front matter (save the file as UTF-8)",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
