"""A TOML table read key by key: typed getters, ``${ENV}`` secrets, and
errors that name the file, the dotted key and what was expected.

The config and every target type read their keys through ``Table``, so every
config error reads the same way, and ``finish`` makes unknown keys errors.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from .dates import parse_duration
from .errors import ConfigError
from .redact import register


def show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Table:
    """Reads one TOML table, remembering which keys were used.

    Target types use it too, so every config error reads the same way.
    """

    def __init__(self, data: dict[str, Any], prefix: str, source: Path) -> None:
        self.data = data
        self.prefix = prefix
        self.source = source
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {message}")

    def _get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None, *, nonempty: bool = False) -> str:
        value = self._get(key)
        if value is None:
            if default is None:
                raise self.error(key, "is required (expected a string)")
            return default
        if not isinstance(value, str) or (nonempty and not value.strip()):
            kind = "a non-empty string" if nonempty else "a string"
            raise self.error(key, f"expected {kind}, got {show(value)}")
        return value

    def positive_int(self, key: str, default: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(key, f"expected a positive integer, got {show(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {show(value)}")
        return value

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {show(value)}")
        return tuple(value)

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in options:
            expected = ", ".join(f'"{o}"' for o in options)
            raise self.error(key, f"expected one of {expected}, got {show(value)}")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(key, f"expected a number of at least {minimum:g}, got {show(value)}")
        return float(value)

    def duration(self, key: str, default: str) -> timedelta:
        value = self._get(key)
        try:
            return parse_duration(default if value is None else value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def secret(self, key: str, *, required: bool = True, default: str | None = None) -> str:
        """A string whose ``${NAME}`` parts come from the environment.

        The resolved value is registered for redaction, so it never shows up
        in a log line, an error or the state database.
        """
        raw = self.text(key, default if default is not None else (None if required else ""))
        missing = [name for name in _ENV_REF.findall(raw) if name not in os.environ]
        if missing:
            raise self.error(key, f"environment variable {missing[0]} is not set")
        value = _ENV_REF.sub(lambda m: os.environ[m.group(1)], raw)
        if value:
            register(value)
        if required and not value:
            raise self.error(key, "is empty (expected a value or ${ENV_VAR})")
        return value

    def table(self, key: str) -> Table:
        value = self._get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {show(value)}")
        return Table(value, f"{self.prefix}{key}.", self.source)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.used), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise self.error(key, f"unknown key{hint}")
