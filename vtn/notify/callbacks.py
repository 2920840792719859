"""Checks on a subscription's callback URLs: scheme, address (SSRF) and the 3.1 echo challenge.

Definition, Webhooks: the VTN MUST check that a callbackUrl is HTTPS, and before accepting a
subscription it sends `GET {callbackUrl}?echo=<random>`; the subscriber must answer 200 with that
value. Labs on plain HTTP or loopback can relax each check through configuration.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from shared.errors import BadRequest


@dataclass(frozen=True, kw_only=True)
class CallbackPolicy:
    require_https: bool = True
    allow_private: bool = False
    echo_challenge: bool = True
    timeout_s: float = 10.0


def _is_private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise BadRequest(f"callbackUrl host {host!r} does not resolve", pointer="/objectOperations") from exc
    return any(is_private_address(str(info[4][0])) for info in infos)


def is_private_address(ip: str) -> bool:
    """Whether a callback may not reach `ip`: private, loopback, link-local, reserved or multicast."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return bool(
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
    )


async def check_callbacks(urls: Iterable[str], policy: CallbackPolicy) -> None:
    """Raise BadRequest naming the first callback URL that fails a check."""
    for url in sorted(set(urls)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest(f"callbackUrl {url!r} is not an http(s) URL", pointer="/objectOperations")
        if policy.require_https and parts.scheme != "https":
            raise BadRequest(f"callbackUrl {url!r} must use https", pointer="/objectOperations")
        if not policy.allow_private and await asyncio.to_thread(_is_private, parts.hostname):
            raise BadRequest(
                f"callbackUrl {url!r} points at a private or loopback address", pointer="/objectOperations"
            )
        if policy.echo_challenge:
            await _echo(url, policy.timeout_s)


async def _echo(url: str, timeout_s: float) -> None:
    value = secrets.token_urlsafe(16)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url, params={"echo": value}, allow_redirects=False) as resp,
        ):
            text = (await resp.text()).strip()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise BadRequest(f"echo challenge to {url!r} failed: {exc}", pointer="/objectOperations") from exc
    if status != 200 or value not in (text, _json_string(text)):
        raise BadRequest(
            f"callbackUrl {url!r} did not answer the echo challenge (HTTP {status})",
            pointer="/objectOperations",
        )


def _json_string(text: str) -> str | None:
    # Some receivers answer with a JSON string or {"echo": value}; accept both.
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("echo"), str):
        return str(doc["echo"])
    return None
