"""Which clients exist, as every request's token check sees it: removing a client revokes its tokens.

The set of client ids is loaded once and reloaded whenever the `clients` change stamp moves
(vtn/storage/versions.py; `vtn clients add|remove|rotate` move it from their own process). The app's
stamp poller reads the stamps every `cache_poll_seconds`, so a removed client's tokens stop working
within that delay plus one reload, instead of at their expiry. A client added since the last load is
looked up in the store once (verify_token), so a new client's first token works at once. Tokens of
external issuers name clients this VTN does not manage and are not checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from aiohttp import web

from vtn.auth.tokens import TokenService, UnknownClient
from vtn.principal import Principal
from vtn.storage import Tx, versions


class ClientDirectory:
    def __init__(self) -> None:
        # A set, not a frozenset: a client added since the last load is one insertion, where a
        # frozenset meant copying every id (1,000,000 of them, ~100 MB, per new client).
        self._ids: set[str] | None = None
        self._stamp: bytes | None = None

    @property
    def loaded(self) -> bool:
        return self._ids is not None

    def exists(self, client_id: str) -> bool:
        """Whether `client_id` names a client; True until the first load (nothing known yet)."""
        return self._ids is None or client_id in self._ids

    def add(self, client_id: str) -> None:
        if self._ids is not None:
            self._ids.add(client_id)

    async def load(self, tx: Tx, stamp: bytes | None = None) -> None:
        self._ids = await tx.clients.live_ids()
        self._stamp = stamp

    def moved(self, stamps: dict[str, bytes]) -> bool:
        """Whether `stamps` (read anywhere) say the ids must be reloaded."""
        return self._ids is None or stamps.get(versions.CLIENTS) != self._stamp

    async def stamps_seen(self, tx: Tx, stamps: dict[str, bytes]) -> None:
        """Reload the ids if the clients stamp moved since the last load (read in the same `tx`)."""
        if self.moved(stamps):
            await self.load(tx, stamps.get(versions.CLIENTS))


async def verify_token(
    tokens: TokenService,
    directory: ClientDirectory | None,
    read: Callable[[], AbstractAsyncContextManager[Tx]],
    token: str,
) -> Principal:
    """`tokens.verify`, and for a client added since the last load (not yet in the directory), one
    look-up in the store: a token issued a moment after `vtn clients add` works at once too."""
    try:
        return tokens.verify(token)
    except UnknownClient as exc:
        if directory is None:
            raise
        async with read() as tx:
            found = await tx.clients.get(exc.client_id)
        if found is None:
            raise
        directory.add(found.client_id)
        return tokens.verify(token)


CLIENTS = web.AppKey("vtn_client_directory", ClientDirectory)
