"""Atomic, change-aware writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syndicate.atomic import write_if_changed


def test_writes_new_and_changed_files_only(tmp_path: Path) -> None:
    target = tmp_path / "out" / "feed.xml"
    assert write_if_changed(target, b"one") is True
    assert target.read_bytes() == b"one"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    stamp = target.stat().st_mtime_ns
    assert write_if_changed(target, b"one") is False
    assert target.stat().st_mtime_ns == stamp
    assert write_if_changed(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["feed.xml"]


def test_keeps_an_existing_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_if_changed(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_if_changed(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]
