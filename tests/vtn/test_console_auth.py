"""The operator console's login, sessions, CSRF, roles and lockout (aiohttp test client, no browser)."""

from __future__ import annotations

from support.console import add_operator, login, session_csrf
from support.harness import Vtn

from shared.enums import OperatorRole


async def test_pages_need_a_session(vtn: Vtn) -> None:
    resp = await vtn.client.get("/console/vens", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/console/login")


async def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(vtn: Vtn) -> None:
    await add_operator(vtn.store, "ada", OperatorRole.VIEWER)
    resp = await login(vtn.client, "ada")
    assert resp.status == 302
    cookie = resp.headers.getall("Set-Cookie")
    session = next(c for c in cookie if c.startswith("vtn_console="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/console/" in session
    assert "Secure" not in session  # plain HTTP here; over TLS request.secure adds it
    csrf = await session_csrf(vtn.client)
    page = await vtn.client.get("/console/")
    assert "Overview" in await page.text()
    out = await vtn.client.post("/console/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 302
    again = await vtn.client.get("/console/", allow_redirects=False)
    assert again.status == 302


async def test_wrong_password_then_lockout_refuses_even_the_right_one(vtn: Vtn) -> None:
    await add_operator(vtn.store, "bob", OperatorRole.OPERATOR)
    for _ in range(4):
        assert (await login(vtn.client, "bob", "wrong password!")).status == 401
    fifth = await login(vtn.client, "bob", "wrong password!")
    assert fifth.status == 429
    assert "locked" in await fifth.text()
    assert (await login(vtn.client, "bob")).status == 429
    # An unknown name gets the same answer as a wrong password.
    assert (await login(vtn.client, "nobody", "whatever it is")).status == 401


async def test_posts_without_the_csrf_token_are_refused(vtn: Vtn) -> None:
    await add_operator(vtn.store, "op", OperatorRole.OPERATOR)
    page = await vtn.client.get("/console/login")
    assert page.status == 200
    refused = await vtn.client.post("/console/login", data={"name": "op", "password": "x" * 12})
    assert refused.status == 403
    assert (await login(vtn.client, "op")).status == 302
    made = await vtn.client.post("/console/events/new", data={"event_name": "x"}, allow_redirects=False)
    assert made.status == 403
    wrong = await vtn.client.post(
        "/console/events/new", data={"csrf": "not-it", "event_name": "x"}, allow_redirects=False
    )
    assert wrong.status == 403


async def test_roles_viewer_reads_operator_writes_events_admin_manages_clients(vtn: Vtn) -> None:
    await add_operator(vtn.store, "vi", OperatorRole.VIEWER)
    await add_operator(vtn.store, "op", OperatorRole.OPERATOR)
    await login(vtn.client, "vi")
    csrf = await session_csrf(vtn.client)
    for path in ("/console/vens", "/console/events", "/console/subscriptions", "/console/clients"):
        assert (await vtn.client.get(path)).status == 200, path
    assert (await vtn.client.get("/console/events/new")).status == 403
    refused = await vtn.client.post("/console/clients", data={"csrf": csrf, "name": "x", "role": "ven"})
    assert refused.status == 403
    vtn.client.session.cookie_jar.clear()
    await login(vtn.client, "op")
    csrf = await session_csrf(vtn.client)
    assert (await vtn.client.get("/console/events/new")).status == 200
    refused = await vtn.client.post("/console/clients", data={"csrf": csrf, "name": "x", "role": "ven"})
    assert refused.status == 403


async def test_admin_manages_operators_and_unlocks_a_locked_one(vtn: Vtn) -> None:
    await add_operator(vtn.store, "root", OperatorRole.ADMIN)
    await add_operator(vtn.store, "bob", OperatorRole.OPERATOR)
    for _ in range(5):
        await login(vtn.client, "bob", "wrong password!")
    assert (await login(vtn.client, "bob")).status == 429
    assert (await login(vtn.client, "root")).status == 302
    csrf = await session_csrf(vtn.client)
    page = await (await vtn.client.get("/console/operators")).text()
    assert "locked until" in page
    short = await vtn.client.post(
        "/console/operators", data={"csrf": csrf, "name": "eve", "role": "viewer", "password": "short"}
    )
    assert short.status == 422
    added = await vtn.client.post(
        "/console/operators",
        data={"csrf": csrf, "name": "eve", "role": "viewer", "password": "a long passphrase"},
    )
    assert added.status == 200 and "operator eve added" in await added.text()
    unlocked = await vtn.client.post(
        "/console/operators/bob/unlock", data={"csrf": csrf}, allow_redirects=False
    )
    assert unlocked.status == 302
    self_removal = await vtn.client.post("/console/operators/root/remove", data={"csrf": csrf})
    assert self_removal.status == 422
    vtn.client.session.cookie_jar.clear()
    assert (await login(vtn.client, "bob")).status == 302  # unlocked
    assert (await vtn.client.get("/console/operators")).status == 403  # an operator is no admin
    vtn.client.session.cookie_jar.clear()
    assert (await login(vtn.client, "eve", "a long passphrase")).status == 302


def test_the_session_cookie_is_secure_over_tls() -> None:
    from aiohttp.test_utils import make_mocked_request

    from vtn.console.auth import cookie_options

    plain = make_mocked_request("GET", "/console/login")
    assert cookie_options(plain)["secure"] is False
    assert cookie_options(plain.clone(scheme="https"))["secure"] is True
    assert cookie_options(plain)["httponly"] is True and cookie_options(plain)["samesite"] == "Strict"
