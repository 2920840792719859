"""The webhook client's library path: the same requests through aiohttp's ClientSession
(`WebhookClient(..., library=True)`, DeliveryPolicy.raw_http_client = False), kept as the switch back
and as the reference the raw client is compared with; and what both paths share.
"""

from __future__ import annotations

import socket
import ssl

import aiohttp
import aiohttp.abc
from yarl import URL

from vtn.notify.callbacks import is_private_address
from vtn.storage.outbox import Claimed

USER_AGENT = "energy-coordination-vtn"


def check_header_value(value: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("header value contains a line break or NUL")


class PrivateAddress(OSError):
    """The callback host resolves only to addresses callbacks may not reach."""


class _PublicResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, keeping only addresses callbacks may reach (the library path's check)."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        found = [
            r for r in await self._inner.resolve(host, port, family) if not is_private_address(r["host"])
        ]
        if not found:
            raise PrivateAddress(f"callback host {host!r} resolves to a private or loopback address")
        return found

    async def close(self) -> None:
        await self._inner.close()


class LibraryClient:
    """aiohttp's ClientSession, made on first use."""

    def __init__(
        self, concurrency: int, timeout_s: float, tls: ssl.SSLContext | None, *, allow_private: bool
    ) -> None:
        self._max_idle = concurrency
        self._timeout_s = timeout_s
        self._tls = tls
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    async def post(self, item: Claimed) -> int:
        """The same request through aiohttp's ClientSession (the library path)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_idle,
                ssl=self._tls if self._tls else True,
                resolver=None if self._allow_private else _PublicResolver(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                headers={"User-Agent": USER_AGENT},
                auto_decompress=False,
            )
        headers = {"Content-Type": "application/json", "X-Notification-ID": item.notification_id}
        if item.bearer_token:
            headers["Authorization"] = f"Bearer {item.bearer_token}"
        if item.signature:
            headers["X-Payload-Signature"] = item.signature
        if item.subscription_id:
            headers["X-Subscription-ID"] = item.subscription_id
        for value in headers.values():
            check_header_value(value)  # the same refusal of line breaks and NULs as the raw client
        url = URL(item.target)
        if item.bearer_token and url.raw_user is not None:
            url = url.with_user(None)  # the token wins over credentials in the URL, as in post()
        async with self._session.post(
            url, data=item.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
