"""`ven check` against VTNs that break the rules: the run fails, naming the check and the reason.

Each broken VTN is ours behind a proxy that rewrites answers in one way (wrong status, missing
member, plain-text errors, leaked objects, no token lifetime), or ours configured without the echo
challenge, or a tiny fake 2.0b VTN; the CLI test checks exit status, JSON and JUnit output.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree as ET

import aiohttp
import pytest
from aiohttp import web
from support.check import LiveVtn, Mutate, broken_proxy, start_live_vtn

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from shared.oadr20b import messages as m
from shared.oadr20b.parts import EiResponse
from ven.check import CheckOptions, Outcome, Protocol, RunResult, run
from ven.check.reporters import text
from ven.cli import main

BASE = "/openadr3/3.1.0"


def options(vtn: LiveVtn, root: str) -> CheckOptions:
    return CheckOptions(
        vtn=root + BASE,
        client_id=vtn.ven.client_id,
        client_secret=vtn.ven.secret,
        bl_client_id=vtn.bl.client_id,
        bl_client_secret=vtn.bl.secret,
        ven2_client_id=vtn.ven2.client_id,
        ven2_client_secret=vtn.ven2.secret,
        wait_seconds=3,
    )


def failed(result: RunResult, check_id: str, *words: str) -> None:
    """`check_id` failed and its reason says each of `words`; the run as a whole failed."""
    assert not result.ok, text(result)
    found = {r.check_id: r for r in result.results}[check_id]
    assert found.outcome is Outcome.FAIL, text(result)
    for word in words:
        assert word in found.reason, found.reason


def _objects(doc: object) -> list[dict[str, object]]:
    if isinstance(doc, dict):
        return [doc]
    return [d for d in doc if isinstance(d, dict)] if isinstance(doc, list) else []


async def proxied(vtn: LiveVtn, mutate: Mutate) -> RunResult:
    """Run the kit (all credentials) against `vtn` behind a proxy rewriting answers with `mutate`."""
    async with broken_proxy(vtn.root, mutate) as root:
        return await run(options(vtn, root))


async def test_201_answered_as_200_fails_object_creation(sqlite_vtn: LiveVtn) -> None:
    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        return (200 if status == 201 else status), ctype, body

    result = await proxied(sqlite_vtn, mutate)
    failed(result, "objects.metadata", "POST /programs answered 200, expected 201")
    failed(result, "paging.skip-limit", "POST /programs answered 200, expected 201")
    failed(result, "objects.update", "setup step 'program'", "answered 200, expected 201")
    roundtrip = {r.check_id: r for r in result.results}["reports.roundtrip"]
    assert roundtrip.outcome is Outcome.SKIP and "setup step 'program' failed" in roundtrip.reason


async def test_missing_created_date_time_fails_the_shape_checks(sqlite_vtn: LiveVtn) -> None:
    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if status >= 300 or "json" not in ctype or "/auth/" in request.path:
            return status, ctype, body
        doc = json.loads(body)
        for obj in _objects(doc):
            obj.pop("createdDateTime", None)
        return status, ctype, json.dumps(doc).encode()

    result = await proxied(sqlite_vtn, mutate)
    failed(result, "objects.metadata", "lacks required member(s) createdDateTime")
    failed(result, "objects.update", "setup step 'program'", "lacks required member(s) createdDateTime")


async def test_plain_text_errors_fail_the_problem_checks(sqlite_vtn: LiveVtn) -> None:
    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if status >= 400 and "/auth/token" not in request.path:
            return status, "text/plain", b"something went wrong"
        return status, ctype, body

    result = await proxied(sqlite_vtn, mutate)
    failed(result, "problem.not-found", "404", "without a problem object", "something went wrong")
    failed(result, "auth.no-token", "401", "without a problem object")
    failed(result, "auth.scopes", "403", "without a problem object")


async def test_a_vtn_that_shows_a_ven_every_ven_fails_privacy(sqlite_vtn: LiveVtn) -> None:
    """GET /vens by a VEN is answered as if BL asked: other clients' vens leak."""

    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if request.method != "GET" or not request.path.startswith(BASE + "/vens") or status != 200:
            return status, ctype, body
        async with aiohttp.ClientSession() as http:
            form = {
                "grant_type": "client_credentials",
                "client_id": sqlite_vtn.bl.client_id,
                "client_secret": sqlite_vtn.bl.secret,
            }
            async with http.post(sqlite_vtn.root + BASE + "/auth/token", data=form) as resp:
                token = (await resp.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(sqlite_vtn.root + request.path_qs, headers=headers) as resp:
                return resp.status, resp.content_type, await resp.read()

    result = await proxied(sqlite_vtn, mutate)
    failed(result, "privacy.other-client", "GET /vens as the VEN lists ven")
    failed(result, "privacy.second-ven", "as the second VEN lists ven")


async def test_a_token_without_lifetime_fails(sqlite_vtn: LiveVtn) -> None:
    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if request.path.endswith("/auth/token") and status == 200:
            doc = json.loads(body)
            doc.pop("expires_in", None)
            return status, ctype, json.dumps(doc).encode()
        return status, ctype, body

    result = await proxied(sqlite_vtn, mutate)
    failed(result, "auth.token-lifetime", "no expires_in")
    assert {r.check_id for r in result.results if r.outcome is Outcome.FAIL} == {"auth.token-lifetime"}


@pytest.fixture
async def lax_vtn(sqlite_url: str) -> AsyncIterator[LiveVtn]:
    async for made in start_live_vtn(sqlite_url, webhook_echo_challenge=False):
        yield made


async def test_subscriptions_without_the_echo_challenge_fail(lax_vtn: LiveVtn) -> None:
    result = await run(options(lax_vtn, lax_vtn.root))
    failed(result, "subscriptions.echo", "created without the echo challenge")
    failed(result, "subscriptions.echo-refused", "answered the echo challenge wrongly")


async def test_cli_exit_status_json_and_junit(
    sqlite_vtn: LiveVtn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def mutate(request: web.Request, status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        return (500, "text/plain", b"oops") if status == 404 else (status, ctype, body)

    junit = tmp_path / "check.xml"
    async with broken_proxy(sqlite_vtn.root, mutate) as root:
        argv = ["check", "--vtn", root + BASE, "--client-id", sqlite_vtn.ven.client_id]
        argv += ["--client-secret", sqlite_vtn.ven.secret, "--json", "--junit", str(junit), "--wait", "3"]
        code = await asyncio.to_thread(main, argv)
        assert code == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is False and printed["counts"]["FAIL"] >= 1
    not_found = next(c for c in printed["checks"] if c["id"] == "problem.not-found")
    assert not_found["outcome"] == "FAIL" and "answered 500, expected 404" in not_found["reason"]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    bad = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "problem.not-found" in {c.get("name") for c in bad}
    skipped = {c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None}
    assert "objects.metadata" in skipped  # no BL credentials given: skipped, with the reason
    # The secret from the environment (kept out of the process list); our VTN passes.
    monkeypatch.setenv("VEN_CHECK_CLIENT_SECRET", sqlite_vtn.ven.secret)
    argv = ["check", "--vtn", sqlite_vtn.base("3.1.0"), "--client-id", sqlite_vtn.ven.client_id, "--json"]
    assert await asyncio.to_thread(main, argv) == 0


# ------------------------------------------------------------------------------------------- 2.0b


@pytest.fixture
async def fake_20b() -> AsyncIterator[str]:
    """A 2.0b VTN that answers registration with code 200 but gives no venID or registrationID."""
    codec = Oadr20bCodec(Oadr20bSchema())

    async def handle(request: web.Request) -> web.Response:
        msg = codec.parse(await request.read())
        if isinstance(msg, m.QueryRegistration | m.CreatePartyRegistration):
            answer: m.Message = m.CreatedPartyRegistration(
                response=EiResponse(request_id=msg.request_id), vtn_id="FakeVTN"
            )
        else:
            answer = m.Response(response=EiResponse(code=463, description="not registered"))
        return web.Response(body=codec.build(answer), content_type="application/xml")

    app = web.Application()
    app.router.add_post("/OpenADR2/Simple/2.0b/{service}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/OpenADR2/Simple/2.0b"
    await runner.cleanup()


async def test_20b_registration_without_ids_fails(fake_20b: str) -> None:
    result = await run(CheckOptions(vtn=fake_20b, protocol=Protocol.V20B, client_id="ven-x"))
    failed(result, "2.0b.registration", "without venID and registrationID")
    later = {r.check_id: r for r in result.results}["2.0b.poll"]
    assert later.outcome is Outcome.SKIP and "not registered" in later.reason


def test_cli_user_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["check", "--client-id", "x"]
    assert main([*base, "--vtn", "http://127.0.0.1:1/openadr3/3.1.0", "--client-secret", "y"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ven check: nothing answers at http://127.0.0.1:1/") and "\n" not in err
    assert main([*base, "--vtn", "http://127.0.0.1:1/openadr3/3.1.0"]) == 2
    assert capsys.readouterr().err.strip() == "ven check: --client-secret is required for OpenADR 3.x"
    assert main([*base, "--vtn", "http://x/OpenADR2/Simple/2.0b", "--protocol", "2.0b", "--sign"]) == 2
    assert capsys.readouterr().err.strip() == "ven check: --sign needs --cert and --key"
