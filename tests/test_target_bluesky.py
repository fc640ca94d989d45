"""The Bluesky target against a loopback PDS that checks requests like the real one.

``FakePDS`` keeps sessions (rotating refresh tokens, expiring access tokens),
blobs and records, and validates every post record with the contract row's
own lexicon checks (``contract_bluesky.check_record``), never the target's.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contract_bluesky import TID, check_record, graphemes, validate
from contract_bluesky import error as xrpc_error
from helpers import make_site, post
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.atproto import encode_tid, record_key
from syndicate.targets.base import Message, Receipt
from syndicate.targets.bluesky import BlueskyTarget
from syndicate.targets.registry import make_target

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "bluesky.json"
HANDLE = "blog.bsky.social"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
KEY = "syn_0123456789abcdef0123456789abcdef"
URL = "https://blog.example.com/news/2026/04/10/launch.html"
S32 = "234567abcdefghijklmnopqrstuvwxyz"


def json_answer(payload: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(payload), status, headers, content_type="application/json")


class FakePDS:
    """Sessions, blobs and records the way the reference PDS keeps them."""

    def __init__(self, server: HTTPServer) -> None:
        self.calls: list[str] = []
        self.queued: dict[str, list[Response]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.access: set[str] = set()
        self.expired: set[str] = set()
        self.refresh: str | None = None
        self.revoked: set[str] = set()
        self.generation = 0
        server.expect_request(re.compile(r"/xrpc/.*"), method="POST").respond_with_handler(self)

    def answer(self, nsid: str, *responses: Response) -> None:
        self.queued.setdefault(nsid, []).extend(responses)

    def count(self, nsid: str) -> int:
        return sum(call == f"com.atproto.{nsid}" for call in self.calls)

    def expire_access(self) -> None:
        self.expired |= self.access
        self.access = set()

    def __call__(self, request: Request) -> Response:
        nsid = request.path.removeprefix("/xrpc/")
        self.calls.append(nsid)
        if self.queued.get(nsid):
            return self.queued[nsid].pop(0)
        handler = {
            "com.atproto.server.createSession": self.create_session,
            "com.atproto.server.refreshSession": self.refresh_session,
            "com.atproto.repo.uploadBlob": self.upload_blob,
            "com.atproto.repo.putRecord": self.put_record,
        }.get(nsid)
        return handler(request) if handler else xrpc_error(501, "Method Not Implemented")

    def new_session(self) -> Response:
        self.generation += 1
        access, refresh = f"access.{self.generation}.jwt", f"refresh.{self.generation}.jwt"
        if self.refresh:
            self.revoked.add(self.refresh)
        self.access.add(access)
        self.refresh = refresh
        answer = {"did": DID, "handle": HANDLE, "accessJwt": access, "refreshJwt": refresh}
        return json_answer({**answer, "active": True})

    def create_session(self, request: Request) -> Response:
        body = request.get_json()
        if set(body) - {"identifier", "password", "authFactorToken"}:
            return xrpc_error(400, f"unexpected input {sorted(body)}")
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != APP_PASSWORD:
            return xrpc_error(401, "Invalid identifier or password")
        return self.new_session()

    def refresh_session(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if request.get_data():
            return xrpc_error(400, "refreshSession takes no input")
        if token in self.revoked:
            return json_answer({"error": "ExpiredToken", "message": "Token has been revoked"}, 400)
        if token != self.refresh:
            return xrpc_error(401, "Invalid token")
        return self.new_session()

    def authorized(self, request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.expired:
            return json_answer({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        if token not in self.access:
            return xrpc_error(401, "Authentication Required")
        return None

    def upload_blob(self, request: Request) -> Response:
        refused = self.authorized(request)
        if refused:
            return refused
        data, kind = request.get_data(), request.headers.get("Content-Type", "")
        cid = "bafkrei" + hashlib.sha256(data).hexdigest()[:52]
        self.blobs[cid] = (kind, data)
        ref = {"$type": "blob", "ref": {"$link": cid}, "mimeType": kind, "size": len(data)}
        return json_answer({"blob": ref})

    def put_record(self, request: Request) -> Response:
        refused = self.authorized(request)
        if refused:
            return refused
        body = request.get_json()
        if body.get("repo") not in (DID, HANDLE) or body.get("collection") != "app.bsky.feed.post":
            return xrpc_error(400, f"bad repo or collection {body.get('repo')}")
        if not TID.fullmatch(str(body.get("rkey"))):
            return xrpc_error(400, "Invalid record key: must be a TID")
        problems = check_record(body.get("record"))
        thumb = body["record"].get("embed", {}).get("external", {}).get("thumb")
        if thumb is not None:
            kind, data = self.blobs.get(thumb.get("ref", {}).get("$link"), ("", b""))
            if not kind.startswith("image/") or not 0 < len(data) <= 1_000_000:
                problems.append(f"thumb is not an uploaded image of at most 1000000 bytes: {kind}")
        if problems:
            return xrpc_error(400, f"Invalid app.bsky.feed.post record: {problems[0]}")
        self.records[body["rkey"]] = body["record"]  # put: replaces what the key held
        uri = f"at://{DID}/app.bsky.feed.post/{body['rkey']}"
        return json_answer(
            {"uri": uri, "cid": "bafyreie5737gdxlw5i64vz", "validationStatus": "valid"}
        )


class Memory:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self.values[key] = value


def png(size: tuple[int, int] = (40, 30), noise: bool = False) -> bytes:
    if noise:
        picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture = Image.new("RGB", size, (200, 80, 20))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def site(tmp_path: Path) -> Config:
    config = make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch «day» ✓ with @alice.bsky.social",
                "2026-04-10 09:30:00 +0200",
                "We *launched*, thanks @bob.example.com and (@carol)!\n\nMore below.",
                categories="[News]",
                image="/assets/cover.png",
            )
        },
    )
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "cover.png").write_bytes(png())
    return config


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


def variant(entry: Entry, summary: str | None = None, **fields: Any) -> Entry:
    changed = replace(entry, post=replace(entry.post, **fields))
    return changed if summary is None else replace(changed, summary=summary)


MakeSky = Callable[..., BlueskyTarget]


@pytest.fixture
def pds(httpserver: HTTPServer) -> FakePDS:
    return FakePDS(httpserver)


@pytest.fixture
def make_sky(site: Config, httpserver: HTTPServer) -> Iterator[MakeSky]:
    made: list[BlueskyTarget] = []

    def make(state: Memory | None = None, **options: Any) -> BlueskyTarget:
        base = {"service": httpserver.url_for("/"), "handle": HANDLE, "app_password": APP_PASSWORD}
        config = TargetConfig(
            name="sky", type="bluesky", options={**base, **options}, source=site.path
        )
        target = make_target(config, site.site)
        assert isinstance(target, BlueskyTarget)
        target.attach(state if state is not None else Memory())
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def sent(server: HTTPServer, method: str) -> Request:
    """The first request the server saw for an XRPC method."""
    return next(request for request, _ in server.log if request.path.endswith(method))


def text_of(message: Message) -> str:
    text: str = message.body["record"]["text"]
    return text


# --- record keys -------------------------------------------------------------


def tid_value(tid: str) -> int:
    """Decode a TID by the spec: big-endian base32-sortable digits."""
    value = 0
    for char in tid:
        value = value * 32 + S32.index(char)
    return value


def test_tid_encoding_follows_the_spec() -> None:
    assert encode_tid(0) == "2222222222222"
    for value in (1, 31, 32, 1_700_000_000_000_000 << 10 | 513, (1 << 63) - 1):
        assert tid_value(encode_tid(value)) == value and TID.fullmatch(encode_tid(value))
    with pytest.raises(ValueError):
        encode_tid(1 << 63)
    # The spec's example decodes to microseconds in 2023, the 10 low bits aside.
    example = datetime.fromtimestamp((tid_value("3jzfcijpj2z2a") >> 10) / 1e6, UTC)
    assert example.year == 2023


def test_record_keys_are_tids_stable_per_delivery_key() -> None:
    keys = [f"syn_{n:032x}" for n in range(300)] + ["ключ", "", "a|b"]
    tids = [record_key(key) for key in keys]
    assert len(set(tids)) == len(keys)
    assert all(TID.fullmatch(tid) and tid[0] in "234567ab" for tid in tids)
    assert record_key(KEY) == record_key(KEY) != record_key(KEY + "x")


# --- render ------------------------------------------------------------------


def test_render_is_a_put_record_body(make_sky: MakeSky, entry: Entry) -> None:
    message = make_sky().render(entry, KEY)
    body = message.body
    assert (message.key, message.target, message.headers) == (KEY, "sky", {})
    assert (body["collection"], body["rkey"]) == ("app.bsky.feed.post", record_key(KEY))
    assert body["card_image"] == "https://blog.example.com/assets/cover.png"
    record = body["record"]
    assert record["text"] == (
        "Launch «day» ✓ with @\u200balice.bsky.social\n\n"
        "We launched, thanks @\u200bbob.example.com and (@\u200bcarol)!\n\n" + URL
    )
    assert record["createdAt"] == "2026-04-10T07:30:00.000Z"
    assert record["langs"] == ["en"]
    assert record["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": URL,
            "title": "Launch «day» ✓ with @alice.bsky.social",
            "description": "We launched, thanks @bob.example.com and (@carol)!",
        },
    }
    assert validate(message) == []
    assert make_sky().render(entry, KEY) == message  # pure and repeatable


def test_the_link_facet_counts_utf8_bytes(make_sky: MakeSky, entry: Entry) -> None:
    title = "Über 🇩🇪 café — naïve 👩‍👩‍👧‍👦"
    text = text_of(message := make_sky().render(variant(entry, title=title), KEY))
    [facet] = message.body["record"]["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert text.encode()[start:end] == URL.encode()
    assert start != text.index(URL)  # characters would have pointed elsewhere
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": URL}]


def test_a_long_summary_is_cut_at_a_word_to_300_graphemes(make_sky: MakeSky, entry: Entry) -> None:
    words = " ".join(f"word{n}" for n in range(600))
    text = text_of(make_sky().render(variant(entry, summary=words), KEY))
    assert 290 <= graphemes(text) <= 300
    shortened = text.split("\n\n")[1]
    assert shortened.endswith("…") and words.startswith(shortened[:-1] + " ")
    assert text.endswith("\n\n" + URL)


def test_wide_graphemes_are_held_to_3000_bytes(make_sky: MakeSky, entry: Entry) -> None:
    families = " ".join(["👩‍👩‍👧‍👦👩‍👩‍👧‍👦"] * 300)  # one grapheme, 25 bytes each
    zalgo = "".join("a" + "\u0301" * 30 for _ in range(200))  # 61 bytes a grapheme
    for summary in (families, zalgo):
        message = make_sky().render(variant(entry, summary=summary), KEY)
        assert len(text_of(message).encode()) <= 3000 and URL in text_of(message)
        assert validate(message) == []


def test_a_long_title_is_shortened_in_the_text_and_the_card(
    make_sky: MakeSky, entry: Entry
) -> None:
    title = "Title " * 80
    message = make_sky().render(variant(entry, title=title, summary="x " * 700), KEY)
    external = message.body["record"]["embed"]["external"]
    assert graphemes(external["title"]) <= 300 and external["title"].endswith("…")
    assert graphemes(external["description"]) <= 1000
    assert graphemes(text_of(message)) <= 300 and text_of(message).endswith(URL)
    assert validate(message) == []


def test_mentions_stay_when_defusing_is_switched_off(make_sky: MakeSky, entry: Entry) -> None:
    message = make_sky(defuse_mentions=False).render(entry, KEY)
    assert "with @alice.bsky.social" in text_of(message)
    # No mention facet is written either way: only the link is a facet.
    assert [f["features"][0]["$type"] for f in message.body["record"]["facets"]] == [
        "app.bsky.richtext.facet#link"
    ]
    assert "would be read as a mention" in " ".join(validate(message))


def test_no_image_means_no_card_image(make_sky: MakeSky, entry: Entry) -> None:
    body = make_sky().render(variant(entry, image=None), KEY).body
    assert "card_image" not in body and "thumb" not in body["record"]["embed"]["external"]


@pytest.mark.parametrize(("language", "langs"), [("pt_BR", ["pt-BR"]), ("not a tag", None)])
def test_langs_come_from_the_site(tmp_path: Path, language: str, langs: list[str] | None) -> None:
    config = make_site(
        tmp_path, {"2026-04-10-a.md": post("A", "2026-04-10")}, site={"language": language}
    )
    target_config = TargetConfig(
        name="sky",
        type="bluesky",
        options={"handle": HANDLE, "app_password": "x" * 8},
        source=config.path,
    )
    target = make_target(target_config, config.site)
    record = target.render(render_entry(scan(config.site).posts[0], config.site), KEY).body[
        "record"
    ]
    assert record.get("langs") == langs


def test_template_override_and_file(make_sky: MakeSky, entry: Entry, site: Config) -> None:
    message = make_sky(template="New: {{ post.title }} → {{ post.url }}").render(entry, KEY)
    assert text_of(message) == f"New: Launch «day» ✓ with @\u200balice.bsky.social → {URL}"
    (site.root / "bsky.j2").write_text("{{ post.url }}\n{{ post.categories | join(', ') }}")
    assert text_of(make_sky(template_file="bsky.j2").render(entry, KEY)) == f"{URL}\nNews"


def test_a_template_syntax_error_is_a_config_error_with_the_line(make_sky: MakeSky) -> None:
    with pytest.raises(ConfigError) as caught:
        make_sky(template="{{ post.title }}\n{% if post.summary %}\n{{ post.url }")
    assert "targets[0].template: line 3" in str(caught.value)


def test_a_template_that_cannot_fit_fails_the_render(make_sky: MakeSky, entry: Entry) -> None:
    with pytest.raises(PermanentError) as caught:
        make_sky(template="{{ 'x' * 400 }} {{ post.url }}").render(entry, KEY)
    assert "a Bluesky post holds 300" in str(caught.value)


def test_the_validator_catches_what_the_pds_refuses(make_sky: MakeSky, entry: Entry) -> None:
    message = make_sky().render(entry, KEY)
    record = message.body["record"]
    broken_facet = json.loads(json.dumps(record))
    broken_facet["facets"][0]["index"]["byteStart"] += 1
    assert "not the link" in " ".join(check_record(broken_facet))
    assert "graphemes > 300" in " ".join(check_record({**record, "text": "é" * 301}))
    bad_key = replace(message, body={**message.body, "rkey": "launch-day"})
    assert "is not a TID" in " ".join(validate(bad_key))


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    [sample] = [p for p in scan(config.site).posts if "ai-scribes" in p.source]
    options = {"handle": "clinicalnotes.bsky.social", "app_password": "golden-app-password"}
    target_config = TargetConfig(
        name="bluesky", type="bluesky", options=options, source=config.path
    )
    message = make_target(target_config, config.site).render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert validate(message) == [] and "golden-app-password" not in produced


# --- send --------------------------------------------------------------------


def test_send_logs_in_once_and_writes_the_record(
    httpserver: HTTPServer, pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    state = Memory()
    target = make_sky(state)
    first = target.send(target.render(variant(entry, image=None), KEY))
    second = target.send(target.render(variant(entry, image=None, title="Other"), KEY + "2"))
    rkey = record_key(KEY)
    assert first == Receipt(
        remote_id=f"at://{DID}/app.bsky.feed.post/{rkey}",
        remote_url=f"https://bsky.app/profile/{DID}/post/{rkey}",
    )
    assert second.remote_id and second.remote_id.endswith(record_key(KEY + "2"))
    assert pds.calls == ["com.atproto.server.createSession"] + ["com.atproto.repo.putRecord"] * 2
    assert pds.records[rkey]["text"].startswith("Launch «day»")
    put = sent(httpserver, "putRecord")
    assert put.headers["Authorization"] == "Bearer access.1.jwt"
    assert set(put.get_json()) == {"repo", "collection", "rkey", "record"}
    stored = json.loads(state.values["bluesky:sky:session"])
    assert (stored["did"], stored["access"], stored["refresh"]) == (
        DID,
        "access.1.jwt",
        "refresh.1.jwt",
    )
    assert APP_PASSWORD not in state.values["bluesky:sky:session"]


def test_a_stored_session_is_used_without_logging_in(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    state = Memory()
    make_sky(state).send(make_sky().render(variant(entry, image=None), KEY))
    make_sky(state).send(make_sky().render(variant(entry, image=None), KEY + "2"))
    assert pds.count("server.createSession") == 1 and pds.count("repo.putRecord") == 2


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        '{"did": "x"}',
        '{"did": 5, "handle": 5, "access": 5, "refresh": 5, "service": 5, "identifier": 5}',
        json.dumps(
            {
                "did": DID,
                "handle": HANDLE,
                "access": "a",
                "refresh": "r",
                "service": "https://other.example",
                "identifier": HANDLE,
            }
        ),
    ],
    ids=["garbage", "incomplete", "not-text", "other-service"],
)
def test_an_unusable_stored_session_means_a_login(
    pds: FakePDS, make_sky: MakeSky, entry: Entry, stored: str
) -> None:
    state = Memory()
    target = make_sky(state)
    state.values["bluesky:sky:session"] = stored
    target.send(target.render(variant(entry, image=None), KEY))
    assert pds.count("server.createSession") == 1 and len(pds.records) == 1


def test_an_expired_access_token_is_refreshed_not_logged_in_again(
    httpserver: HTTPServer, pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    state = Memory()
    target = make_sky(state)
    target.send(target.render(variant(entry, image=None), KEY))
    pds.expire_access()
    target.send(target.render(variant(entry, image=None), KEY + "2"))
    assert pds.calls[1:] == [
        "com.atproto.repo.putRecord",
        "com.atproto.repo.putRecord",  # 400 ExpiredToken
        "com.atproto.server.refreshSession",
        "com.atproto.repo.putRecord",
    ]
    refresh = sent(httpserver, "refreshSession")
    assert refresh.headers["Authorization"] == "Bearer refresh.1.jwt"
    assert json.loads(state.values["bluesky:sky:session"])["refresh"] == "refresh.2.jwt"
    assert len(pds.records) == 2


def test_a_revoked_refresh_token_falls_back_to_a_login(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    target = make_sky()
    target.send(target.render(variant(entry, image=None), KEY))
    pds.expire_access()
    pds.revoked.add(pds.refresh or "")
    pds.refresh = None
    target.send(target.render(variant(entry, image=None), KEY + "2"))
    assert pds.count("server.refreshSession") == 1 and pds.count("server.createSession") == 2
    assert len(pds.records) == 2


def test_a_token_another_worker_refreshed_is_picked_up(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    shared = Memory()
    one, two = make_sky(shared), make_sky(shared)
    one.send(one.render(variant(entry, image=None), KEY))
    two.send(two.render(variant(entry, image=None), KEY + "2"))  # same stored session
    pds.expire_access()
    one.send(one.render(variant(entry, image=None), KEY + "3"))  # refreshes: refresh.1 revoked
    pds.expire_access()
    two.send(two.render(variant(entry, image=None), KEY + "4"))  # its refresh.1 fails
    assert pds.count("server.createSession") == 1  # no second login spent
    assert pds.count("server.refreshSession") == 3 and len(pds.records) == 4


def test_a_repeated_send_lands_on_the_same_record(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    target = make_sky()
    message = target.render(variant(entry, image=None), KEY)
    assert target.send(message) == target.send(message)  # a retry after an ambiguous outcome
    assert list(pds.records) == [record_key(KEY)]
    assert target.idempotent and target.retries_ambiguous()


def test_the_card_thumbnail_is_uploaded_from_the_site(
    httpserver: HTTPServer, pds: FakePDS, make_sky: MakeSky, entry: Entry, site: Config
) -> None:
    target = make_sky()
    target.send(target.render(entry, KEY))
    upload = sent(httpserver, "uploadBlob")
    assert upload.headers["Content-Type"] == "image/png"
    assert upload.get_data() == (site.root / "assets" / "cover.png").read_bytes()
    thumb = pds.records[record_key(KEY)]["embed"]["external"]["thumb"]
    assert (
        thumb["mimeType"] == "image/png"
        and pds.blobs[thumb["ref"]["$link"]][1] == upload.get_data()
    )


def test_a_big_image_is_shrunk_under_the_blob_limit(
    pds: FakePDS, make_sky: MakeSky, entry: Entry, site: Config
) -> None:
    (site.root / "assets" / "cover.png").write_bytes(big := png((1200, 1200), noise=True))
    assert len(big) > 1_000_000
    target = make_sky()
    target.send(target.render(entry, KEY))
    thumb = pds.records[record_key(KEY)]["embed"]["external"]["thumb"]
    kind, data = pds.blobs[thumb["ref"]["$link"]]
    assert kind == "image/jpeg" and len(data) <= 1_000_000
    assert Image.open(io.BytesIO(data)).format == "JPEG"


@pytest.mark.parametrize("trouble", ["missing", "svg", "upload-400"])
def test_image_trouble_drops_the_thumbnail_not_the_post(
    httpserver: HTTPServer,
    pds: FakePDS,
    make_sky: MakeSky,
    entry: Entry,
    caplog: pytest.LogCaptureFixture,
    trouble: str,
) -> None:
    image = "https://blog.example.com/assets/cover.png"
    if trouble == "missing":
        image = httpserver.url_for("/gone.png")
        httpserver.expect_request("/gone.png").respond_with_data("", status=404)
    elif trouble == "svg":
        httpserver.expect_request("/a.svg").respond_with_data(
            "<svg/>", content_type="image/svg+xml"
        )
        image = httpserver.url_for("/a.svg")
    else:
        pds.answer("com.atproto.repo.uploadBlob", xrpc_error(int(trouble[-3:]), "blob trouble"))
    caplog.set_level(logging.WARNING, logger="syndicate")
    target = make_sky()
    receipt = target.send(target.render(variant(entry, image=image), KEY))
    assert receipt.remote_id and "thumb" not in pds.records[record_key(KEY)]["embed"]["external"]
    assert "card_thumb_skipped" in caplog.text


def test_a_transient_upload_failure_retries_the_whole_post(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    # The record is written with putRecord, so trying again later is safe and
    # keeps the picture; going out without it would lose it for good.
    pds.answer("com.atproto.repo.uploadBlob", xrpc_error(500, "blob trouble"))
    target = make_sky()
    with pytest.raises(TransientError):
        target.send(
            target.render(variant(entry, image="https://blog.example.com/assets/cover.png"), KEY)
        )
    assert record_key(KEY) not in pds.records


def test_a_429_waits_until_the_rate_limit_resets(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    now = int(time.time()) - 3600  # the server's clock, an hour behind ours
    headers = {"RateLimit-Reset": str(now + 42), "Date": email.utils.formatdate(now, usegmt=True)}
    limited = json_answer(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, **headers
    )
    pds.answer("com.atproto.repo.putRecord", limited)
    target = make_sky()
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert caught.value.retry_after == 42.0 and not caught.value.ambiguous


def test_a_rate_limited_login_waits_for_the_daily_window(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    now = int(time.time())
    headers = {
        "RateLimit-Reset": str(now + 86_000),
        "Date": email.utils.formatdate(now, usegmt=True),
    }
    limited = json_answer(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, **headers
    )
    pds.answer("com.atproto.server.createSession", limited)
    with pytest.raises(TransientError) as caught:
        make_sky().send(make_sky().render(entry, KEY))
    assert caught.value.retry_after == 86_000.0
    assert pds.calls == ["com.atproto.server.createSession"]  # nothing uploaded before the login


def test_a_refresh_outage_is_transient_and_spends_no_login(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    target = make_sky()
    target.send(target.render(variant(entry, image=None), KEY))
    pds.expire_access()
    pds.answer("com.atproto.server.refreshSession", xrpc_error(503, "busy"))
    with pytest.raises(TransientError):
        target.send(target.render(variant(entry, image=None), KEY + "2"))
    assert pds.count("server.createSession") == 1


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (xrpc_error(401, "Invalid identifier or password"), "renew the app password"),
        (
            json_answer(
                {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent"}, 401
            ),
            "as an app password",
        ),
    ],
    ids=["wrong-password", "email-code"],
)
def test_a_refused_login_is_dead_and_says_renew(
    pds: FakePDS, make_sky: MakeSky, entry: Entry, answer: Response, says: str
) -> None:
    pds.answer("com.atproto.server.createSession", answer)
    with pytest.raises(PermanentError) as caught:
        make_sky().send(make_sky().render(entry, KEY))
    assert says in str(caught.value) and "renew" in str(caught.value)
    assert APP_PASSWORD not in str(caught.value)


def test_an_invalid_record_is_dead_not_retried(
    pds: FakePDS, make_sky: MakeSky, entry: Entry
) -> None:
    target = make_sky(template="{{ post.url }} {{ post.title }}")
    message = target.render(variant(entry, image=None), KEY)
    message.body["record"]["facets"][0]["index"]["byteEnd"] += 3  # what a buggy facet does
    with pytest.raises(PermanentError) as caught:
        target.send(message)
    assert str(caught.value).startswith("HTTP 400: ") and "not the link" in str(caught.value)


def test_tokens_and_password_never_reach_errors_or_logs(
    pds: FakePDS, make_sky: MakeSky, entry: Entry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicate")
    target = make_sky()
    target.send(target.render(variant(entry, image=None), KEY))
    echo = f"bad request with access.1.jwt refresh.1.jwt {APP_PASSWORD}"
    pds.answer("com.atproto.repo.putRecord", xrpc_error(400, echo))
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(variant(entry, image=None), KEY + "2"))
    for secret in ("access.1.jwt", "refresh.1.jwt", APP_PASSWORD):
        assert secret not in str(caught.value) and secret not in caplog.text
    assert "***" in str(caught.value)


# --- config ------------------------------------------------------------------


def test_defaults_and_fields(make_sky: MakeSky) -> None:
    target = make_sky(service="https://bsky.social/")
    assert (target.service, target.handle, target.timeout) == (
        "https://bsky.social",
        HANDLE,
        (5.0, 30.0),
    )
    assert make_sky(handle="@" + HANDLE).handle == HANDLE
    assert set(BlueskyTarget.fields) == {
        "handle",
        "app_password",
        "service",
        "template",
        "template_file",
        "defuse_mentions",
        "connect_timeout",
        "read_timeout",
    }
    assert BlueskyTarget.limits


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"app_password": "x" * 8}, "targets[0].handle: is required"),
        ({"handle": HANDLE}, "targets[0].app_password: is required"),
        ({"handle": "a b", "app_password": "x" * 8}, "targets[0].handle: expected a handle"),
        ({"handle": HANDLE, "app_password": "${NO_SUCH_BSKY_VAR}"}, "NO_SUCH_BSKY_VAR is not set"),
        (
            {"handle": HANDLE, "app_password": "x" * 8, "service": "bsky.social"},
            "targets[0].service",
        ),
        ({"handle": HANDLE, "app_password": "x" * 8, "pasword": "x"}, "unknown key"),
        (
            {"handle": HANDLE, "app_password": "x" * 8, "template": "a", "template_file": "b"},
            "either template or template_file",
        ),
    ],
    ids=[
        "no-handle",
        "no-password",
        "spaced-handle",
        "missing-env",
        "bad-service",
        "typo",
        "two-templates",
    ],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="sky", type="bluesky", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert str(caught.value).startswith(f"{site.path}: ") and expected in str(caught.value)
