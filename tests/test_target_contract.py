"""The shared battery every registered target type passes.

For each type (``contracts.py``): hostile posts render within the platform's
limits with the link whole; answers are classified the same way everywhere
(2xx sent, 429 retry with the hint, 5xx retry, 401 dead and "renew", 404 and
422 dead); and a credential never shows up in an error or a log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contracts import SECRET, Contract, contracts
from helpers import make_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from syndicate.config import Config, TargetConfig
from syndicate.errors import PermanentError, TransientError
from syndicate.feeds import Entry
from syndicate.posts import Post
from syndicate.targets.base import Target
from syndicate.targets.registry import TYPES, make_target

CONTRACTS = contracts()
HTTP_CONTRACTS = [c for c in CONTRACTS if c.main_path]
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def test_every_registered_type_has_a_contract() -> None:
    assert sorted(c.type for c in CONTRACTS) == sorted(TYPES)


def build_target(contract: Contract, config: Config, server: HTTPServer | None) -> Target:
    options = contract.options(server) if server else contract.options(_NoServer())
    target_config = TargetConfig(
        name="t", type=contract.type, options=options, index=0, source=config.path
    )
    target = make_target(target_config, config.site)
    target.attach(_Memory())
    return target


class _NoServer:
    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:9{path}"


class _Memory:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture(scope="module")
def site_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_site(tmp_path_factory.mktemp("site"), {})


HOSTILE = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<!channel>",
        "<!here>",
        "<b>bold</b>",
        "&amp; & < > \" '",
        "**not bold** _x_ `code` [l](http://x.example)",
        "@alice@mastodon.example @bob.bsky.social",
        "#hashtag",
        "👩‍👩‍👧‍👦 🇩🇪 e\u0301",
        "漢字かな交じり文",
        "http://evil.example/?a=<b>&c=d",
        "\u202e right-to-left",
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=40)), max_size=30).map(" ".join)


def entry_for(title: str, summary: str, categories: list[str], image: str | None) -> Entry:
    from syndicate.config import Author

    url = "https://blog.example.com/2026/11/20/a-post-with-a-long-slug-to-keep-whole.html"
    post = Post(
        path=Path("/nowhere.md"),
        source="posts/nowhere.md",
        id=url,
        url=url,
        title=" ".join(title.split()) or "Untitled",
        date=NOW,
        updated=NOW,
        slug="a-post",
        categories=tuple(categories),
        tags=("t",),
        hidden=None,
        image=image,
        author=Author(name="Ada"),
        summary_field=summary,
        excerpt_separator="\n\n",
        is_markdown=True,
        body_offset=0,
        body_line=1,
        metadata={},
    )
    return Entry(
        post=post,
        html="<p>x</p>",
        summary=" ".join(summary.split()),
        image_type=None,
        image_length=0,
    )


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c.type for c in CONTRACTS])
@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    title=TEXT,
    summary=st.one_of(TEXT, st.text(min_size=2000, max_size=6000)),
    categories=st.lists(st.sampled_from(["news", "Web Dev", "@everyone", "c++"]), max_size=3),
    image=st.sampled_from([None, "https://blog.example.com/assets/cover.png"]),
)
def test_renders_fit_and_keep_the_link(
    contract: Contract,
    site_config: Config,
    title: str,
    summary: str,
    categories: list[str],
    image: str | None,
) -> None:
    target = build_target(contract, site_config, None)
    entry = entry_for(title, summary, categories, image)
    message = target.render(entry, "syn_0123456789abcdef0123456789abcdef")
    assert contract.validate(message) == []
    texts = contract.texts(message)
    assert texts and all(entry.post.url in text for text in texts)


def _send(contract: Contract, config: Config, server: HTTPServer) -> Any:
    target = build_target(contract, config, server)
    message = target.render(entry_for("Title", "Summary", [], None), "syn_" + "a" * 32)
    try:
        return target.send(message)
    finally:
        target.close()


@pytest.mark.parametrize("contract", HTTP_CONTRACTS, ids=[c.type for c in HTTP_CONTRACTS])
def test_success_is_a_receipt(
    contract: Contract, site_config: Config, httpserver: HTTPServer
) -> None:
    contract.setup(httpserver)
    httpserver.expect_request(contract.main_path or "").respond_with_response(contract.ok())
    receipt = _send(contract, site_config, httpserver)
    assert receipt is not None
    assert any(entry[0].path == contract.main_path for entry in httpserver.log)


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (429, TransientError, ""),
        (500, TransientError, ""),
        (503, TransientError, ""),
        (401, PermanentError, "renew"),
        (404, PermanentError, ""),
        (422, PermanentError, ""),
    ],
)
@pytest.mark.parametrize("contract", HTTP_CONTRACTS, ids=[c.type for c in HTTP_CONTRACTS])
def test_answers_are_classified(
    contract: Contract,
    site_config: Config,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    kind: type[Exception],
    words: str,
) -> None:
    contract.setup(httpserver)
    httpserver.expect_request(contract.main_path or "").respond_with_response(
        contract.error(status, SECRET)
    )
    caplog.set_level(logging.DEBUG, logger="syndicate")
    with pytest.raises(kind) as caught:
        _send(contract, site_config, httpserver)
    text = str(caught.value)
    assert words in text
    assert SECRET not in text
    # The loopback server's own access log (werkzeug) is the test's, not ours.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    assert not any(SECRET in line for line in ours)
    if status == 429:
        assert isinstance(caught.value, TransientError)
        assert caught.value.retry_after == contract.retry_after
