"""The state of one 3.x run: the clients, the receiver, fixtures shared by checks, and clean-up.

Fixtures are made on first use and kept. A failed one fails the check that first needed it and is
kept as the Skip every later user gets, so one broken setup step does not fail a dozen checks for
the same reason. Everything the kit
creates is named `<prefix>-<run id>-...` and deleted (or restored) at the end, newest first.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from shared.validation import SchemaRegistry
from ven.check.dialect import Dialect
from ven.check.http3 import Http3, expect_list, expect_object
from ven.check.model import Fail, Skip
from ven.check.options import CheckOptions
from ven.check.receiver import Receiver

T = TypeVar("T")
NEEDS_BL = "needs BL credentials (--bl-client-id, --bl-client-secret)"


class Ctx3:
    def __init__(self, options: CheckOptions, session: aiohttp.ClientSession) -> None:
        self.options = options
        self.dialect = Dialect(options.protocol)
        self.run_id = secrets.token_hex(3)
        discover = self.dialect.is_310

        def client(client_id: str | None, secret: str | None, identity: bool) -> Http3 | None:
            if not client_id or not secret:
                return None
            return Http3(
                options.vtn,
                session,
                client_id=client_id,
                client_secret=secret,
                discover=discover,
                ssl_context=options.ssl_context(identity=identity),
            )

        ven = client(options.client_id, options.client_secret, True)
        if ven is None:
            raise ValueError("3.x checks need --client-id and --client-secret")
        self.ven = ven
        self.bl_client = client(options.bl_client_id, options.bl_client_secret, False)
        self.ven2_client = client(options.ven2_client_id, options.ven2_client_secret, False)
        self.receiver = Receiver(options.listen_host, options.listen_port, options.callback_url)
        self.registry: SchemaRegistry | None = None
        if self.dialect.is_310:
            self.registry = SchemaRegistry()
        self._fixtures: dict[str, Any] = {}
        self._undo: list[Callable[[], Awaitable[object]]] = []

    # -- names and clients -----------------------------------------------------------------------

    def name(self, what: str) -> str:
        return f"{self.options.prefix}-{self.run_id}-{what}"

    @property
    def bl(self) -> Http3:
        if self.bl_client is None:
            raise Skip(NEEDS_BL)
        return self.bl_client

    def shape(self, kind: str, doc: Any, where: str) -> None:
        self.dialect.check_shape(kind, doc, where, registry=self.registry)

    # -- fixtures and clean-up -------------------------------------------------------------------

    async def fixture(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        if key not in self._fixtures:
            try:
                self._fixtures[key] = await make()
            except Skip as exc:
                self._fixtures[key] = exc
            except Exception as exc:  # the first user fails with the reason; later users skip
                self._fixtures[key] = Skip(f"setup step '{key}' failed: {exc}")
                raise Fail(f"setup step '{key}': {exc}") from exc
        value = self._fixtures[key]
        if isinstance(value, Skip):
            raise value
        return value  # type: ignore[no-any-return]

    def made(self, key: str) -> Any:
        """A fixture made earlier in the run, or None (never makes one)."""
        value = self._fixtures.get(key)
        return None if isinstance(value, Skip) else value

    def remember(self, key: str, value: Any) -> None:
        self._fixtures[key] = value

    def on_cleanup(self, undo: Callable[[], Awaitable[object]]) -> None:
        self._undo.append(undo)

    async def create(self, who: Http3, path: str, body: dict[str, Any], kind: str) -> dict[str, Any]:
        """POST `body`; expect 201 and a well-formed `kind`; delete it at the end."""
        answer = await who.post(path, body)
        made = answer.doc.get("id") if isinstance(answer.doc, dict) else None
        if isinstance(made, str) and answer.status < 300:  # even when the status is wrong
            self.on_cleanup(lambda: who.delete(f"{path}/{made}"))
        doc = expect_object(answer, 201)
        self.shape(kind, doc, answer.what)
        return doc

    async def cleanup(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            with contextlib.suppress(Exception):
                await undo()

    # -- shared objects --------------------------------------------------------------------------

    async def program(self) -> dict[str, Any]:
        """An untargeted program the BL made for this run."""

        async def make() -> dict[str, Any]:
            return await self.create(
                self.bl, "/programs", self.dialect.program(self.name("program")), "program"
            )

        return await self.fixture("program", make)

    async def event(self) -> dict[str, Any]:
        """An untargeted event of the run's program, visible to every VEN."""

        async def make() -> dict[str, Any]:
            program = await self.program()
            body = self.dialect.event(program["id"], self.name("event"))
            return await self.create(self.bl, "/events", body, "event")

        return await self.fixture("event", make)

    async def own_ven(self) -> dict[str, Any]:
        """A ven object of the VEN client: one it creates now (deleted at the end), else its own one."""

        async def make() -> dict[str, Any]:
            answer = await self.ven.post("/vens", self.dialect.ven_by_ven(self.name("ven")))
            if answer.status == 201:
                doc = expect_object(answer, 201)
                self.shape("ven", doc, answer.what)
                vid = doc["id"]
                # Deleted by BL when possible (a VEN may not be allowed to delete what BL targeted).
                self.on_cleanup(lambda: (self.bl_client or self.ven).delete(f"/vens/{vid}"))
                return doc
            # A VTN may hold one ven per client: use the one this VEN already has.
            mine = [
                v
                for v in expect_list(await self.ven.get("/vens"))
                if v.get("clientID") in (None, self.options.client_id)
            ]
            if len(mine) != 1:
                raise Fail(
                    f"the VEN could not create a ven object ({answer.what} -> {answer.status}) "
                    f"and has {len(mine)} of its own to use"
                )
            self.remember("own_ven_existed", True)
            return mine[0]

        return await self.fixture("own_ven", make)

    async def grant(self) -> list[str]:
        """Targets the BL granted to the VEN's ven object (Definition, Object Privacy: targeting)."""

        async def make() -> list[str]:
            bl = self.bl
            ven = expect_object(await bl.get(f"/vens/{(await self.own_ven())['id']}"), 200)
            granted = [self.name("granted"), self.name("also-granted")]
            client_id = ven.get("clientID") or self.options.client_id
            body = self.dialect.ven_by_bl(ven["venName"], client_id, granted)
            if ven.get("attributes"):
                body["attributes"] = ven["attributes"]
            original = list(ven.get("targets") or [])
            path = f"/vens/{ven['id']}"
            answer = await bl.put(path, {**body, "targets": original + body["targets"]})
            if self.made("own_ven_existed"):  # give the VEN's own ven its targets back
                self.on_cleanup(lambda: bl.put(path, {**body, "targets": original}))
            doc = expect_object(answer, 200)
            if not set(granted) <= self.dialect.target_values(doc):
                raise Fail(f"{answer.what}: the targets BL wrote were not kept: {doc.get('targets')!r}")
            return granted

        return await self.fixture("grant", make)


async def visible_event(ctx: Ctx3) -> dict[str, Any]:
    """The run's event when BL is given, else any untargeted event the VEN can already see."""
    if ctx.bl_client is not None:
        return await ctx.event()
    for event in expect_list(await ctx.ven.get("/events", [("limit", "50")])):
        if not event.get("targets"):
            return event
    raise Skip("no untargeted event visible to the VEN (give BL credentials to let the kit make one)")
