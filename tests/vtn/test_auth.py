"""OAuth2 client credentials at /auth/token, /auth/server, and bearer-token checks on the API."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
from aiohttp import ClientResponse
from support.api_data import PROBLEM, counts, problem, program
from support.harness import BASE, Api, Vtn

from shared.enums import Role
from vtn.auth.tokens import ISSUER, TokenService

TOKEN = BASE + "/auth/token"
BL_SCOPES = (
    "read_all read_bl read_targets read_ven_objects write_events write_programs "
    "write_reports write_subscriptions write_vens"
)
VEN_SCOPES = "read_targets read_ven_objects write_reports write_subscriptions write_vens"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def _token(vtn: Vtn, **form: str) -> ClientResponse:
    return await vtn.client.post(TOKEN, data=form)


async def _oauth_error(resp: ClientResponse, status: int, error: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    doc: dict[str, Any] = await resp.json()
    assert doc["error"] == error
    assert isinstance(doc["error_description"], str) and doc["error_description"]
    assert resp.headers["Cache-Control"] == "no-store"
    return doc


async def _signing_key(vtn: Vtn) -> bytes:
    async with vtn.store.read() as tx:
        return await tx.clients.signing_key()


async def _get_programs(vtn: Vtn, token: str) -> ClientResponse:
    return await vtn.client.get(BASE + "/programs", headers={"Authorization": f"Bearer {token}"})


async def test_token_from_form_body(vtn: Vtn, bl: Api) -> None:
    resp = await _token(vtn, grant_type="client_credentials", client_id=bl.client_id, client_secret=bl.secret)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    doc = await resp.json()
    assert set(doc) == {"access_token", "token_type", "expires_in", "scope"}
    assert doc["token_type"] == "Bearer"
    assert doc["expires_in"] == 3600
    assert doc["scope"] == BL_SCOPES
    assert (await _get_programs(vtn, doc["access_token"])).status == 200


async def test_token_claims_name_the_client_and_role(vtn: Vtn, ven_a: Api) -> None:
    claims = jwt.decode(ven_a.token, await _signing_key(vtn), algorithms=["HS256"], issuer=ISSUER)
    assert claims["sub"] == ven_a.client_id
    assert claims["role"] == "ven"
    assert claims["scope"] == VEN_SCOPES
    assert claims["exp"] - claims["iat"] == 3600


async def test_token_with_http_basic(vtn: Vtn, ven_a: Api) -> None:
    resp = await vtn.client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(ven_a.client_id, ven_a.secret)
    )
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    assert doc["token_type"] == "Bearer" and doc["scope"] == VEN_SCOPES
    assert (await _get_programs(vtn, doc["access_token"])).status == 200


async def test_token_from_json_body(vtn: Vtn, ven_a: Api) -> None:
    form = {"grant_type": "client_credentials", "client_id": ven_a.client_id, "client_secret": ven_a.secret}
    resp = await vtn.client.post(TOKEN, json=form)
    assert resp.status == 200
    assert (await resp.json())["scope"] == VEN_SCOPES


async def test_wrong_secret_is_invalid_client(vtn: Vtn, bl: Api) -> None:
    resp = await _token(vtn, grant_type="client_credentials", client_id=bl.client_id, client_secret="nope")
    await _oauth_error(resp, 401, "invalid_client")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_client_is_invalid_client(vtn: Vtn) -> None:
    resp = await _token(vtn, grant_type="client_credentials", client_id="ven-nobody", client_secret="x")
    await _oauth_error(resp, 401, "invalid_client")


async def test_wrong_basic_secret_challenges_basic(vtn: Vtn, bl: Api) -> None:
    resp = await vtn.client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(bl.client_id, "wrong")
    )
    await _oauth_error(resp, 401, "invalid_client")
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="openadr3"'


async def test_unknown_grant_type(vtn: Vtn, bl: Api) -> None:
    resp = await _token(vtn, grant_type="password", client_id=bl.client_id, client_secret=bl.secret)
    await _oauth_error(resp, 400, "unsupported_grant_type")


async def test_missing_grant_type(vtn: Vtn, bl: Api) -> None:
    resp = await _token(vtn, client_id=bl.client_id, client_secret=bl.secret)
    await _oauth_error(resp, 400, "invalid_request")


async def test_missing_credentials(vtn: Vtn, bl: Api) -> None:
    resp = await _token(vtn, grant_type="client_credentials", client_id=bl.client_id)
    await _oauth_error(resp, 400, "invalid_request")
    resp = await _token(vtn, grant_type="client_credentials")
    await _oauth_error(resp, 400, "invalid_request")


async def test_malformed_json_token_request(vtn: Vtn) -> None:
    resp = await vtn.client.post(TOKEN, data=b"{not json", headers={"Content-Type": "application/json"})
    await _oauth_error(resp, 400, "invalid_request")


async def test_scope_parameter_narrows_the_token(vtn: Vtn, ven_a: Api) -> None:
    resp = await _token(
        vtn,
        grant_type="client_credentials",
        client_id=ven_a.client_id,
        client_secret=ven_a.secret,
        scope="read_targets bogus_scope",
    )
    assert resp.status == 200
    doc = await resp.json()
    assert doc["scope"] == "read_targets"
    narrow = Api(vtn.client, ven_a.client_id, ven_a.secret, doc["access_token"])
    assert (await narrow.get("/programs")).status == 200
    await problem(await narrow.get("/vens"), 403)
    await problem(await narrow.post("/vens", json={"objectType": "VEN_VEN_REQUEST", "venName": "v"}), 403)
    assert await vtn.count("vens") == 0


async def test_scope_parameter_cannot_escalate(vtn: Vtn, ven_a: Api) -> None:
    resp = await _token(
        vtn,
        grant_type="client_credentials",
        client_id=ven_a.client_id,
        client_secret=ven_a.secret,
        scope="write_programs read_all",
    )
    assert resp.status == 200
    doc = await resp.json()
    assert "write_programs" not in doc["scope"].split() and "read_all" not in doc["scope"].split()
    escalated = Api(vtn.client, ven_a.client_id, ven_a.secret, doc["access_token"])
    await problem(await escalated.post("/programs", json=program("p")), 403)
    assert await vtn.count("programs") == 0


async def test_auth_server_names_the_token_url(vtn: Vtn) -> None:
    resp = await vtn.client.get(BASE + "/auth/server")
    assert resp.status == 200
    doc = await resp.json()
    assert doc == {"tokenURL": str(vtn.client.make_url(TOKEN))}


async def test_no_token_is_401_with_challenge(vtn: Vtn) -> None:
    resp = await vtn.client.get(BASE + "/programs")
    doc = await problem(resp, 401)
    assert doc["instance"].startswith("urn:uuid:")
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="openadr3"') and 'error="invalid_token"' in challenge


async def test_non_bearer_scheme_is_401(vtn: Vtn, bl: Api) -> None:
    resp = await vtn.client.get(BASE + "/programs", headers=_basic(bl.client_id, bl.secret))
    await problem(resp, 401)
    assert "WWW-Authenticate" in resp.headers


async def test_malformed_token_is_401(vtn: Vtn) -> None:
    for token in ("abc", "a.b.c", "Bearer", "eyJhbGciOiJIUzI1NiJ9.e30"):
        resp = await _get_programs(vtn, token)
        await problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def _claims(client_id: str, role: str = "bl", scope: str = BL_SCOPES, ttl: int = 600) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": client_id, "role": role, "scope": scope, "iat": now, "exp": now + ttl}


async def test_token_signed_with_another_key_is_401(vtn: Vtn, bl: Api) -> None:
    forged = jwt.encode(_claims(bl.client_id), b"k" * 32, algorithm="HS256")
    await problem(await _get_programs(vtn, forged), 401)
    resp = await vtn.client.post(
        BASE + "/programs", json=program("p"), headers={"Authorization": f"Bearer {forged}"}
    )
    await problem(resp, 401)
    assert await vtn.count("programs") == 0


async def test_unsigned_token_is_401(vtn: Vtn, bl: Api) -> None:
    unsigned = jwt.encode(_claims(bl.client_id), key=None, algorithm="none")
    await problem(await _get_programs(vtn, unsigned), 401)


async def test_token_from_another_issuer_is_401(vtn: Vtn, bl: Api) -> None:
    claims = {**_claims(bl.client_id), "iss": "someone-else"}
    token = jwt.encode(claims, await _signing_key(vtn), algorithm="HS256")
    await problem(await _get_programs(vtn, token), 401)


async def test_own_key_token_is_accepted(vtn: Vtn, bl: Api) -> None:
    # The control for the forged-token tests: the same claims signed with the VTN key work.
    token = jwt.encode(_claims(bl.client_id), await _signing_key(vtn), algorithm="HS256")
    assert (await _get_programs(vtn, token)).status == 200


async def test_expired_token_is_401(vtn: Vtn, bl: Api) -> None:
    expired = TokenService(await _signing_key(vtn), ttl_seconds=-10, clock=vtn.store.clock)
    token = expired.issue(bl.client_id, Role.BL).access_token
    resp = await _get_programs(vtn, token)
    doc = await problem(resp, 401)
    assert "expired" in doc["detail"]
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


async def test_token_without_exp_is_401(vtn: Vtn, bl: Api) -> None:
    claims = _claims(bl.client_id)
    del claims["exp"]
    token = jwt.encode(claims, await _signing_key(vtn), algorithm="HS256")
    await problem(await _get_programs(vtn, token), 401)


async def test_ven_token_on_bl_only_writes_is_403(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    resp = await ven_a.post("/programs", json=program("ven-made"))
    doc = await problem(resp, 403)
    assert "write_programs" in doc["detail"]
    assert resp.content_type == PROBLEM
    assert await vtn.count("programs") == 0

    made = await (await bl.post("/programs", json=program("bl-made"))).json()
    before = await counts(vtn)
    await problem(await ven_a.put(f"/programs/{made['id']}", json=program("renamed")), 403)
    await problem(await ven_a.delete(f"/programs/{made['id']}"), 403)
    event = {"programID": made["id"], "intervals": []}
    await problem(await ven_a.post("/events", json=event), 403)
    assert await counts(vtn) == before
    resp = await bl.get(f"/programs/{made['id']}")
    assert (await resp.json())["programName"] == "bl-made"


async def test_public_routes_need_no_token(vtn: Vtn) -> None:
    assert (await vtn.client.get(BASE + "/auth/server")).status == 200
    assert (await vtn.client.get(BASE + "/openapi.json")).status == 200
    await problem(await vtn.client.get(BASE + "/notifiers"), 401)
