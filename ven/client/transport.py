"""The thin HTTP layer under VtnClient: one session, bearer tokens, JSON in and out, error mapping.

Tokens come from OAuth2 client credentials (form body, RFC 6749 section 4.4); over mutual TLS a
client id without a secret asks the VTN to authenticate the client certificate instead (RFC 8705
tls_client_auth). A token is reused
until 80% of its `expires_in` has passed on the injectable clock; a 401 answer drops it, and the
request is sent once more with a fresh one. A fixed `token` without credentials is never refreshed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any

import aiohttp
from yarl import URL

from shared.errors import BadRequest, OadrError, ServerError, Unauthorized
from shared.wire.oadr3_json import parse_json
from ven.client.errors import TlsVerificationFailed, VtnUnavailable, error_from_response

Clock = Callable[[], float]
Params = Sequence[tuple[str, str]]
REFRESH_FRACTION = 0.8
_CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float | None  # on our clock; None: only a 401 replaces it


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes


class Transport:
    """Sends requests relative to `base_url`; see VtnClient for the parameters."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None,
        client_secret: str | None,
        token: str | None,
        scope: str | None,
        session: aiohttp.ClientSession | None,
        ssl: SSLContext | aiohttp.Fingerprint | None,
        token_url: str | None,
        timeout: float | aiohttp.ClientTimeout,
        clock: Clock,
    ) -> None:
        if client_secret is not None and client_id is None:
            raise ValueError("client_secret needs a client_id")
        if token is None and not client_id:
            raise ValueError("give client_id (with client_secret, or a client certificate), or a token")
        if token is None and client_secret is None and not isinstance(ssl, SSLContext):
            raise ValueError("client_id without client_secret needs a TLS client certificate (ssl=...)")
        self.base_url = base_url.rstrip("/")
        self._credentials = (client_id, client_secret or None) if client_id else None
        self._scope = scope
        self._token = _Token(token, None) if token else None
        self._session = session
        self._owns_session = session is None
        self._ssl: SSLContext | aiohttp.Fingerprint | bool = True if ssl is None else ssl
        self._token_url = token_url
        self._timeout = (
            timeout if isinstance(timeout, aiohttp.ClientTimeout) else aiohttp.ClientTimeout(timeout)
        )
        self._clock = clock
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the session if we made it; an injected session stays open."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one API request and return the decoded JSON answer (None for an empty body)."""
        url = self.base_url + path
        for attempt in (1, 2):
            headers = {"Accept": "application/json"}
            token = None
            if auth:
                token = await self._bearer()
                headers["Authorization"] = f"Bearer {token}"
            answer = await self._send(method, url, params=params, json=body, headers=headers)
            if answer.status == 401 and token is not None and attempt == 1 and self._credentials:
                self._drop(token)
                continue
            return _decode(answer, method, url)
        raise AssertionError("unreachable")

    async def token_url(self) -> str:
        """The token endpoint: as given, else /auth/server's tokenURL, else {base}/auth/token."""
        if self._token_url is None:
            try:
                doc = await self.call("GET", "/auth/server", auth=False)
            except OadrError:
                doc = None
            found = doc.get("tokenURL") if isinstance(doc, dict) else None
            if isinstance(found, str) and found:
                self._token_url = str(URL(self.base_url + "/").join(URL(found)))
            else:
                self._token_url = self.base_url + "/auth/token"
        return self._token_url

    async def _bearer(self) -> str:
        current = self._token
        if current is not None and not self._stale(current):
            return current.value
        if self._credentials is None:
            if current is None:
                raise Unauthorized("no access token and no client credentials to get one")
            return current.value
        async with self._lock:
            # Another request may have refreshed while we waited.
            if self._token is None or self._stale(self._token):
                self._token = await self._fetch_token(*self._credentials)
            return self._token.value

    def _stale(self, token: _Token) -> bool:
        return token.refresh_at is not None and self._clock() >= token.refresh_at

    def _drop(self, used: str) -> None:
        if self._token is not None and self._token.value == used:
            self._token = None

    async def _fetch_token(self, client_id: str, client_secret: str | None) -> _Token:
        url = await self.token_url()
        form = {"grant_type": "client_credentials", "client_id": client_id}
        if client_secret is not None:  # without one, the TLS client certificate authenticates us
            form["client_secret"] = client_secret
        if self._scope:
            form["scope"] = self._scope
        started = self._clock()
        answer = await self._send("POST", url, data=form, headers={"Accept": "application/json"})
        doc = _decode(answer, "POST", url)
        value = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value:
            raise ServerError(f"token endpoint {url} answered without an access_token")
        expires_in = doc.get("expires_in")
        refresh_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            refresh_at = started + REFRESH_FRACTION * float(expires_in)
        return _Token(value, refresh_at)

    async def _session_for_request(self) -> aiohttp.ClientSession:
        if self._session is None:  # made lazily, inside the running loop
            self._session = aiohttp.ClientSession()
        return self._session

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: Params | None = None,
        json: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> _Answer:
        session = await self._session_for_request()
        try:
            async with session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=headers,
                ssl=self._ssl,
                timeout=self._timeout,
                raise_for_status=False,  # an injected session may set it; errors are mapped below
            ) as resp:
                return _Answer(resp.status, await resp.read())
        except aiohttp.ClientConnectorCertificateError as exc:
            raise TlsVerificationFailed(f"{method} {url}: {exc.certificate_error}", url=url) from exc
        except _CONNECTION_ERRORS as exc:
            reason = str(exc) or type(exc).__name__
            raise VtnUnavailable(f"{method} {url}: {reason}", url=url) from exc


def _decode(answer: _Answer, method: str, url: str) -> Any:
    if answer.status >= 400:
        raise error_from_response(answer.status, answer.body, url)
    if not answer.body:
        return None
    try:
        # The VTN's own parser (shared/wire): the same limits on depth and text as for requests.
        return parse_json(answer.body)
    except BadRequest as exc:
        raise ServerError(
            f"{method} {url} answered {answer.status} with a body that is not usable JSON: {exc}"
        ) from exc
