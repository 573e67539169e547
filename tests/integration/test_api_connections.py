"""Connections and scopes over real HTTP against the running app, with a test plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from core.api.app import create_app
from core.context import AppContext
from tests.support.fake_plugin import GOOD_TOKEN
from tests.support.live import serve_app


@pytest.fixture
def api(ctx: AppContext) -> Iterator[httpx.Client]:
    with serve_app(create_app(ctx, background=False)) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def _create(api: httpx.Client, name: str = "prod", token: str = GOOD_TOKEN) -> dict:
    r = api.post("/plugins/fake/connections", json={"name": name, "token": token})
    assert r.status_code == 201, r.text
    return r.json()


def test_round_trip_create_read_masked_patch_test_delete(api: httpx.Client) -> None:
    created = _create(api)
    assert created["id"] == 1
    assert created["token"] == "fa********ef"
    assert created["rateLimitPerHour"] == 3600
    assert GOOD_TOKEN not in api.get("/plugins/fake/connections").text
    got = api.get("/plugins/fake/connections/1").json()
    assert got["token"] == "fa********ef" and got["name"] == "prod"

    # sending back the masked value, or omitting the secret, keeps the stored one
    r = api.patch("/plugins/fake/connections/1", json={"name": "prod-eu", "token": got["token"]})
    assert r.status_code == 200, r.text
    assert api.post("/plugins/fake/connections/1/test").json() == {"success": True, "message": "connected"}
    api.patch("/plugins/fake/connections/1", json={"rateLimitPerHour": 100})
    assert api.post("/plugins/fake/connections/1/test").status_code == 200
    assert api.get("/plugins/fake/connections/1").json()["rateLimitPerHour"] == 100

    # a new secret replaces it
    api.patch("/plugins/fake/connections/1", json={"token": "another-token-value-xyz"})
    failed = api.post("/plugins/fake/connections/1/test")
    assert failed.status_code == 400 and "rejected" in failed.json()["message"]

    deleted = api.delete("/plugins/fake/connections/1")
    assert deleted.status_code == 200 and deleted.json()["name"] == "prod-eu"
    assert api.get("/plugins/fake/connections/1").status_code == 404


def test_test_unsaved_connection(api: httpx.Client) -> None:
    assert api.post("/plugins/fake/test", json={"token": GOOD_TOKEN}).json()["success"] is True
    bad = api.post("/plugins/fake/test", json={"token": "nope-nope-nope"})
    assert bad.status_code == 400 and bad.json()["success"] is False


def test_bad_input_is_4xx_naming_the_field(api: httpx.Client) -> None:
    r = api.post("/plugins/fake/connections", json={"token": GOOD_TOKEN})
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "name"
    r = api.post("/plugins/fake/connections", json={"name": "x", "token": GOOD_TOKEN, "rateLimitPerHour": -5})
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "rateLimitPerHour"
    r = api.post("/plugins/fake/connections", json={"name": "x", "token": GOOD_TOKEN, "endpoint": "ftp://x"})
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "endpoint"
    r = api.post("/plugins/fake/connections", json={"name": "x", "token": GOOD_TOKEN, "bogus": 1})
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "bogus"
    r = api.post(
        "/plugins/fake/connections", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    r = api.post("/plugins/fake/connections", json=["a list"])
    assert r.status_code == 400
    assert api.get("/plugins/fake/connections/abc").status_code == 400
    assert api.get("/plugins/nosuch/connections").status_code == 404
    assert api.get("/plugins/fake/connections/99").status_code == 404


def test_duplicate_name_conflicts(api: httpx.Client) -> None:
    _create(api, "same")
    r = api.post("/plugins/fake/connections", json={"name": "same", "token": GOOD_TOKEN})
    assert r.status_code == 409
    other = _create(api, "other")
    assert other["id"] == 2
    assert api.patch("/plugins/fake/connections/2", json={"name": "same"}).status_code == 409


def test_scopes_and_remote_scopes(api: httpx.Client) -> None:
    _create(api)
    remote = api.get("/plugins/fake/connections/1/remote-scopes").json()
    assert [c["id"] for c in remote["children"]] == ["S0", "S1", "S2"]
    r = api.put(
        "/plugins/fake/connections/1/scopes",
        json={"data": [{"id": "S1", "name": "service 1", "url": "https://x/S1"}, {"id": "S2", "name": "b"}]},
    )
    assert r.status_code == 200 and [s["id"] for s in r.json()] == ["S1", "S2"]
    listed = api.get("/plugins/fake/connections/1/scopes").json()
    assert listed["count"] == 2
    assert api.get("/plugins/fake/connections/1/scopes/S1").json()["url"] == "https://x/S1"
    assert api.patch("/plugins/fake/connections/1/scopes/S1", json={"name": "renamed"}).json()["name"] == "renamed"
    assert api.delete("/plugins/fake/connections/1/scopes/S2").status_code == 200
    assert api.get("/plugins/fake/connections/1/scopes/S2").status_code == 404
    bad = api.put("/plugins/fake/connections/1/scopes", json={"data": [{"name": "no id"}]})
    assert bad.status_code == 400 and bad.json()["causes"][0]["field"] == "data.0.id"
    assert api.put("/plugins/fake/connections/1/scopes", json={"nodata": 1}).status_code == 400
    assert api.put("/plugins/fake/connections/9/scopes", json={"data": []}).status_code == 404


def test_no_token_in_clear_anywhere_in_the_database(api: httpx.Client, ctx: AppContext, db_url: str) -> None:
    _create(api, "a")
    _create(api, "b", token="second-secret-token-value")
    dump: list[str] = []
    with ctx.db.engine.connect() as conn:
        for table in ("connections", "scopes"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    joined = "\n".join(dump)
    assert "fake-token" not in joined and "second-secret" not in joined
    if db_url.startswith("sqlite:///"):
        raw = Path(db_url.removeprefix("sqlite:///")).read_bytes()
        wal = Path(db_url.removeprefix("sqlite:///") + "-wal")
        raw += wal.read_bytes() if wal.exists() else b""
        assert GOOD_TOKEN.encode() not in raw and b"second-secret-token-value" not in raw


def test_meta_routes(api: httpx.Client) -> None:
    assert api.get("/ping").json() == {"status": "ok"}
    assert "version" in api.get("/version").json()
    assert api.get("/openapi.json").status_code == 200
    assert "fake" in [p["plugin"] for p in api.get("/plugins").json()]


def test_api_key_protects_everything_but_ping(ctx: AppContext) -> None:
    from pydantic import SecretStr

    ctx.settings = ctx.settings.model_copy(update={"api_key": SecretStr("the-api-key-1234567890")})
    with serve_app(create_app(ctx, background=False)) as url, httpx.Client(base_url=url) as client:
        assert client.get("/ping").status_code == 200
        assert client.get("/plugins/fake/connections").status_code == 401
        assert client.get("/docs").status_code == 401
        wrong = {"Authorization": "Bearer wrong"}
        assert client.get("/plugins/fake/connections", headers=wrong).status_code == 401
        ok = {"Authorization": "Bearer the-api-key-1234567890"}
        assert client.get("/plugins/fake/connections", headers=ok).status_code == 200
