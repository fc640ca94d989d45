"""Secrets registered from config never leave in clear; ordinary text does."""

from __future__ import annotations

from syndicate.redact import redact, register


def test_url_tokens_in_path_query_and_password_are_hidden() -> None:
    register("https://hooks.example.com/services/T000/B000/abcdefghijklmnopqrstuvwx")
    register("https://x.example/in?token=tok-123456&api-version=2016-06-01&sp=/triggers/run")
    register("postgresql://user:pw-9f8e7d6c@db.example/blog")
    line = (
        "POST /services/T000/B000/abcdefghijklmnopqrstuvwx failed; token tok-123456; "
        "db pw-9f8e7d6c; dated 2016-06-01 at /triggers/run"
    )
    shown = redact(line)
    for secret in ("abcdefghijklmnopqrstuvwx", "tok-123456", "pw-9f8e7d6c"):
        assert secret not in shown
    assert "dated 2016-06-01 at /triggers/run" in shown


def test_unregistered_query_tokens_are_still_masked() -> None:
    assert redact("GET /x?access_token=zzz&page=2") == "GET /x?access_token=***&page=2"
