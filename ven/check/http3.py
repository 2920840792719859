"""Raw HTTP to a 3.x VTN for the checks: exact statuses, headers and bodies (no error mapping).

The typed client (ven/client) turns answers into models and errors into exceptions, which is right
for an agent but hides what a conformance check must see: the status code, the content type, the
shape of a problem document. `Http3` fetches tokens by the client credential flow and returns
every answer as it came; `expect` and `expect_problem` turn a wrong answer into a `Fail`.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from ven.check.model import Fail

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes
    doc: Any  # the decoded JSON, or None when the body is empty or not JSON

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"

    def excerpt(self) -> str:
        return self.body[:120].decode("utf-8", "replace").strip() or "(empty body)"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_in: float | None
    doc: Any


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


class Http3:
    """One client of one 3.x VTN (`base` = API base URL) with its credentials."""

    def __init__(
        self,
        base: str,
        session: aiohttp.ClientSession,
        *,
        client_id: str,
        client_secret: str,
        discover: bool,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self.session = session
        self.client_id = client_id
        self._secret = client_secret
        self._discover = discover  # 3.1: GET /auth/server names the token endpoint
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._token: Token | None = None
        self._token_url: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Params | None = None,
        token: str | None = None,
        auth: bool = True,
    ) -> Answer:
        """Send one request; `token` overrides ours, `auth=False` sends none."""
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {token or (await self.token()).value}"
        return await self._send(method, self.base + path, path, headers, json_body=json_body, params=params)

    async def get(self, path: str, params: Params | None = None) -> Answer:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any) -> Answer:
        return await self.request("POST", path, json_body=body)

    async def put(self, path: str, body: Any) -> Answer:
        return await self.request("PUT", path, json_body=body)

    async def delete(self, path: str) -> Answer:
        return await self.request("DELETE", path)

    async def token(self) -> Token:
        if self._token is None:
            answer = await self.fetch_token(self.client_id, self._secret)
            expect(answer, 200)
            self._token = parse_token(answer)
        return self._token

    async def token_url(self) -> str:
        if self._token_url is None:
            url = self.base + "/auth/token"
            if self._discover:
                found = await self.request("GET", "/auth/server", auth=False)
                named = found.doc.get("tokenURL") if isinstance(found.doc, dict) else None
                if found.status == 200 and isinstance(named, str) and named:
                    url = str(URL(self.base + "/").join(URL(named)))
            self._token_url = url
        return self._token_url

    async def fetch_token(self, client_id: str, client_secret: str) -> Answer:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        url = await self.token_url()
        headers = {"Accept": "application/json"}
        return await self._send("POST", url, "/auth/token", headers, form=form)

    async def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        *,
        json_body: Any = None,
        params: Params | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        try:
            async with self.session.request(
                method, url, json=json_body, params=params, data=form, headers=headers, ssl=self._ssl
            ) as resp:
                body = await resp.read()
                return Answer(method, path, resp.status, resp.content_type, body, _decode(body))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Fail(
                f"{method} {path}: the VTN could not be reached ({exc or type(exc).__name__})"
            ) from exc


def parse_token(answer: Answer) -> Token:
    doc = answer.doc
    value = doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(value, str) or not value:
        raise Fail(f"{answer.what} answered {answer.status} without an access_token: {answer.excerpt()}")
    expires = doc.get("expires_in")
    ok_number = isinstance(expires, int | float) and not isinstance(expires, bool)
    return Token(value, float(expires) if ok_number else None, doc)


def expect(answer: Answer, *statuses: int) -> Any:
    """The decoded body when the status is one of `statuses`, else Fail naming what came instead."""
    if answer.status not in statuses:
        wanted = " or ".join(str(s) for s in statuses)
        raise Fail(f"{answer.what} answered {answer.status}, expected {wanted}: {answer.excerpt()}")
    return answer.doc


def expect_list(answer: Answer) -> list[dict[str, Any]]:
    doc = expect(answer, 200)
    if not isinstance(doc, list) or not all(isinstance(d, dict) for d in doc):
        raise Fail(f"{answer.what} answered 200 without a JSON array of objects: {answer.excerpt()}")
    return doc


def expect_object(answer: Answer, *statuses: int) -> dict[str, Any]:
    doc = expect(answer, *statuses)
    if not isinstance(doc, dict):
        raise Fail(f"{answer.what} answered {answer.status} without a JSON object: {answer.excerpt()}")
    return doc


def expect_problem(answer: Answer, *statuses: int) -> str:
    """Definition, Problem: a 4xx/5xx answer carries a problem object (title, status, detail)."""
    expect(answer, *statuses)
    doc = answer.doc
    if not answer.content_type.endswith("json") or not isinstance(doc, dict):
        raise Fail(
            f"{answer.what} answered {answer.status} ({answer.content_type or 'no content type'}) "
            f"without a problem object: {answer.excerpt()}"
        )
    texts = [doc.get(k) for k in ("title", "detail")]
    if not any(isinstance(t, str) and t for t in texts):
        raise Fail(f"{answer.what}: the problem object has neither title nor detail: {answer.excerpt()}")
    status = doc.get("status")
    if status is not None and status != answer.status:
        raise Fail(f"{answer.what}: the problem's status {status!r} differs from HTTP {answer.status}")
    return str(doc.get("title") or doc.get("detail"))
