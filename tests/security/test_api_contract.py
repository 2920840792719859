"""Answers keep to our OpenAPI document: problem instances are URIs, bodies must be JSON, bounds hold."""

from __future__ import annotations

from support.api_data import problem
from support.configured import configured
from support.harness import BASE, Api, Vtn

from shared.enums import Role


async def test_problem_instance_is_an_absolute_uri(vtn: Vtn, bl: Api) -> None:
    doc = await problem(await bl.get("/programs/no-such"), 404)
    # format: uri, "an absolute URI that identifies the specific occurrence": scheme ":" ...
    assert doc["instance"].startswith("urn:uuid:") and len(doc["instance"]) == 45
    again = await problem(await bl.get("/programs/no-such"), 404)
    assert again["instance"] != doc["instance"]  # one per occurrence


async def test_json_sent_as_text_plain_is_415(vtn: Vtn, bl: Api) -> None:
    text = {"Content-Type": "text/plain"}
    await problem(await bl.post("/programs", data='{"programName": "p"}', headers=text), 415)
    resp = await vtn.client.post(
        "/openadr3/3.0.1/programs",
        data='{"programName": "p"}',
        headers={**text, "Authorization": f"Bearer {bl.token}"},
    )
    await problem(resp, 415)
    assert (await bl.post("/programs", json={"programName": "p"})).status == 201


async def test_skip_above_int32_is_400(vtn: Vtn, bl: Api) -> None:
    await problem(await bl.get("/programs", params={"skip": str(2**31)}), 400)
    assert (await bl.get("/programs", params={"skip": str(2**31 - 1)})).status == 200


async def test_no_version_banner(vtn: Vtn, bl: Api) -> None:
    for resp in (
        await bl.get("/programs"),
        await vtn.client.get(BASE + "/programs"),
        await vtn.client.get("/x"),
    ):
        server = resp.headers.get("Server", "")
        assert "aiohttp" not in server and "Python" not in server, server


async def test_per_client_rate_limit_is_429_with_retry_after(db_url: str) -> None:
    async with configured(db_url, rate_per_client=0.01, burst_per_client=2, rate_per_address=0) as vtn:
        ven = await vtn.login("ven", Role.VEN)
        other = await vtn.login("other", Role.VEN)
        assert [(await ven.get("/programs")).status for _ in range(2)] == [200, 200]
        resp = await ven.get("/programs")
        await problem(resp, 429)
        assert int(resp.headers["Retry-After"]) >= 1
        assert (await other.get("/programs")).status == 200


async def test_per_address_rate_limit_is_429(db_url: str) -> None:
    async with configured(
        db_url, rate_per_address=0.01, burst_per_address=3, token_rate_per_address=0
    ) as vtn:
        statuses = [(await vtn.client.get(BASE + "/programs")).status for _ in range(4)]
        assert statuses == [401, 401, 401, 429]


async def test_query_parameters_keep_their_documented_pattern_and_length(vtn: Vtn, bl: Api) -> None:
    doc = await problem(await bl.get("/events", params={"programID": "has space"}), 400)
    assert "programID" in doc["detail"]
    await problem(await bl.get("/reports", params={"clientName": "c" * 129}), 400)
    await problem(await bl.get("/programs", params=[("targets", "t" * 129)]), 400)
    await problem(await bl.get("/subscriptions", params={"objects": "NOPE"}), 400)
    await problem(await bl.get("/vens", params={"limit": "51"}), 400)
    assert (await bl.get("/events", params={"programID": "ok_id-1"})).status == 200
    assert (await bl.get("/reports", params={"clientName": "c" * 128})).status == 200
