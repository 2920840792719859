"""3.x checks of authentication, token lifetime, scopes and problem documents."""

from __future__ import annotations

from ven.check.ctx3 import Ctx3
from ven.check.http3 import expect, expect_object, expect_problem
from ven.check.model import Fail, Skip
from ven.check.runner import Check

MAX_TOKEN_SECONDS = 24 * 3600  # "short-lived"; a day is generous


async def discovery(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip("3.0.1 defines no /auth/server (tokens come from /auth/token)")
    answer = await ctx.ven.request("GET", "/auth/server", auth=False)
    doc = expect_object(answer, 200)
    url = doc.get("tokenURL")
    if not isinstance(url, str) or not url:
        raise Fail(f"{answer.what}: no tokenURL in {answer.excerpt()}")
    return f"tokenURL {url}"


async def token(ctx: Ctx3) -> str:
    got = await ctx.ven.token()
    kind = got.doc.get("token_type") if isinstance(got.doc, dict) else None
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise Fail(f"token_type is {kind!r}, expected 'Bearer' (RFC 6749 section 5.1)")
    expect(await ctx.ven.get("/programs", [("limit", "1")]), 200)
    return (
        f"client credentials grant -> Bearer token, accepted on GET /programs ({await ctx.ven.token_url()})"
    )


async def token_lifetime(ctx: Ctx3) -> str:
    got = await ctx.ven.token()
    if got.expires_in is None:
        raise Fail("the token answer has no expires_in: a VEN cannot know when to renew")
    if not 0 < got.expires_in <= MAX_TOKEN_SECONDS:
        raise Fail(
            f"expires_in is {got.expires_in:g} s: a token must be short-lived (0 < expires_in <= 1 day)"
        )
    return f"expires_in {got.expires_in:g} s"


async def bad_secret(ctx: Ctx3) -> str:
    answer = await ctx.ven.fetch_token(ctx.options.client_id, "ven-check-wrong-secret")
    if answer.status not in (400, 401):
        raise Fail(
            f"a wrong client secret was answered {answer.status}, expected 400 or 401: {answer.excerpt()}"
        )
    doc = answer.doc
    error = doc.get("error") if isinstance(doc, dict) else None
    if error is None and not (isinstance(doc, dict) and (doc.get("title") or doc.get("detail"))):
        raise Fail(f"the refusal carries no error (RFC 6749 section 5.2) or problem: {answer.excerpt()}")
    return f"refused with {answer.status} ({error or doc.get('title')})"


async def no_token(ctx: Ctx3) -> str:
    title = expect_problem(await ctx.ven.request("GET", "/programs", auth=False), 401)
    expect_problem(await ctx.ven.request("GET", "/programs", token="not-a-token"), 401)
    return f"no token and a forged token: 401 problem ({title})"


async def ven_cannot_write_programs(ctx: Ctx3) -> str:
    answer = await ctx.ven.post("/programs", ctx.dialect.program(ctx.name("forbidden")))
    if answer.status in (200, 201) and isinstance(answer.doc, dict) and answer.doc.get("id"):
        pid = answer.doc["id"]
        ctx.on_cleanup(lambda: (ctx.bl_client or ctx.ven).delete(f"/programs/{pid}"))
    title = expect_problem(answer, 403)
    return f"POST /programs with a VEN token: 403 problem ({title})"


async def not_found(ctx: Ctx3) -> str:
    missing = ctx.name("missing")
    title = expect_problem(await ctx.ven.get(f"/programs/{missing}"), 404)
    expect_problem(await ctx.ven.get(f"/events/{missing}"), 404)
    return f"GET /programs/{{unknown}} and /events/{{unknown}}: 404 problem ({title})"


async def missing_required(ctx: Ctx3) -> str:
    answer = await ctx.ven.post("/reports", {"reportName": ctx.name("incomplete")})
    if answer.status == 201 and isinstance(answer.doc, dict) and answer.doc.get("id"):
        rid = answer.doc["id"]
        ctx.on_cleanup(lambda: ctx.ven.delete(f"/reports/{rid}"))
    title = expect_problem(answer, 400)
    return f"a report without eventID, clientName, resources: 400 problem ({title})"


async def bad_paging(ctx: Ctx3) -> str:
    title = expect_problem(await ctx.ven.get("/programs", [("limit", "-1")]), 400)
    return f"limit=-1: 400 problem ({title})"


CHECKS: tuple[Check[Ctx3], ...] = (
    Check(
        "auth.discovery",
        "token endpoint discovery",
        "Definition, Token endpoint discovery; getAuthServerInfo",
        discovery,
    ),
    Check(
        "auth.token",
        "client credential flow",
        "Definition, OAuth 2.0 client credential flow; fetchToken",
        token,
    ),
    Check(
        "auth.token-lifetime",
        "short-lived tokens",
        "Definition, OAuth 2.0 client credential flow (short-lived token)",
        token_lifetime,
    ),
    Check(
        "auth.bad-secret",
        "wrong secret refused",
        "Definition, OAuth 2.0 client credential flow; RFC 6749 section 5.2",
        bad_secret,
    ),
    Check(
        "auth.no-token",
        "requests without a valid token",
        "Definition, OAuth 2.0 client credential flow (Unauthorized if invalid)",
        no_token,
    ),
    Check(
        "auth.scopes",
        "VEN may not write programs",
        "Definition, OpenAPI Specification (scopes); createProgram write_programs",
        ven_cannot_write_programs,
    ),
    Check("problem.not-found", "unknown ids", "Definition, Response Codes and Errors; Problem", not_found),
    Check(
        "problem.missing-field",
        "required properties",
        "Definition, Required and optional properties; createReport",
        missing_required,
    ),
    Check(
        "problem.bad-query",
        "invalid paging parameters",
        "Definition, Response Codes and Errors; searchAllPrograms limit minimum 0",
        bad_paging,
    ),
)
