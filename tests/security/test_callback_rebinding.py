"""Callback hosts are checked against private ranges again when delivering (DNS rebinding)."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from vtn.config import VtnConfig, delivery_policy
from vtn.notify.callbacks import is_private_address
from vtn.notify.webhooks import PrivateAddress, WebhookClient
from vtn.storage.outbox import Claimed


def _item(url: str) -> Claimed:
    return Claimed(1, "nid-1", "sub:s1", "s1", url, None, None, "{}", 0, 0)


@pytest.mark.parametrize("library", [False, True], ids=["raw-client", "aiohttp-client"])
async def test_delivery_refuses_a_host_that_now_resolves_to_loopback(library: bool) -> None:
    async def hook(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1") as server:
        # "localhost" stands for a public name re-pointed at the VTN's own network after the
        # subscription was accepted: only the delivery-time check can catch it.
        url = f"http://localhost:{server.port}/hook"
        guarded = WebhookClient(4, 5.0, library=library, allow_private=False)
        # aiohttp wraps the resolver's refusal in its DNS error.
        with pytest.raises((PrivateAddress, aiohttp.ClientConnectorDNSError)):
            await guarded.post(_item(url))
        await guarded.close()
        lab = WebhookClient(4, 5.0, library=library, allow_private=True)
        assert await lab.post(_item(url)) == 200
        await lab.close()


def test_the_configured_policy_reaches_delivery() -> None:
    assert delivery_policy(VtnConfig()).allow_private is False
    assert delivery_policy(VtnConfig(webhook_allow_private=True)).allow_private is True


@pytest.mark.parametrize(
    ("ip", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_private_ranges(ip: str, private: bool) -> None:
    assert is_private_address(ip) is private
