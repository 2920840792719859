"""What every interop driver shares (standard library only: drivers run in the library's virtualenv).

A driver performs the steps of tests/interop/harness.py STEPS with the library under test and prints
one JSON line per step: {"step", "ok", "detail"}; ok is null when the library cannot do the step.
Steps the library cannot do but later steps need (a BL-created event, a ven) are done with plain HTTP
here (`Raw`), so each step is judged on its own.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

BEARER = "interop-callback-token"
LONG_NAME = [{"type": "PROGRAM_LONG_NAME", "values": ["Interop test program"]}]


def load_config() -> dict[str, Any]:
    with open(sys.argv[1]) as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def emit(step: str, ok: bool | None, detail: str = "") -> None:
    print(json.dumps({"step": step, "ok": ok, "detail": detail[:2000]}), flush=True)


class Step:
    def __init__(self) -> None:
        self.detail = ""


@contextmanager
def step(name: str, expect: str = "") -> Iterator[Step]:
    """Report `name` as passed when the block completes, failed (with the exception) when it raises."""
    s = Step()
    try:
        yield s
    except Exception as exc:  # noqa: BLE001 - every failure is a reported result
        where = traceback.extract_tb(exc.__traceback__)[-1]
        detail = f"{type(exc).__name__}: {exc} (at {where.filename.split('/')[-1]}:{where.lineno})"
        emit(name, False, (expect + ": " if expect else "") + detail)
    else:
        emit(name, True, s.detail)


def not_applicable(name: str, why: str) -> None:
    emit(name, None, why)


def soon(minutes: int = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class Raw:
    """Plain HTTP to the VTN (harness side of a step, never the library under test)."""

    def __init__(self, base_url: str, token_url: str, creds: dict[str, str]) -> None:
        self.base = base_url.rstrip("/")
        self.token = self._token(token_url, creds)

    @staticmethod
    def _token(url: str, creds: dict[str, str]) -> str:
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            }
        ).encode()
        req = urllib.request.Request(url, data=form, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return str(json.load(resp)["access_token"])

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise HttpError(exc.code, exc.read().decode("utf-8", "replace")) from exc
        return json.loads(raw) if raw else None


def received(receiver_url: str) -> list[dict[str, Any]]:
    base = receiver_url.rsplit("/", 1)[0]
    with urllib.request.urlopen(base + "/received", timeout=5) as resp:
        return json.load(resp)  # type: ignore[no-any-return]


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)


def notification_for(receiver_url: str, object_id: str) -> Callable[[], dict[str, Any] | None]:
    """A check for `wait_for`: the notification about `object_id` that reached our own receiver."""

    def check() -> dict[str, Any] | None:
        for hit in received(receiver_url):
            try:
                body = json.loads(hit["body"])
            except ValueError:
                continue
            if isinstance(body, dict) and (body.get("object") or {}).get("id") == object_id:
                return {**body, "_authorization": hit["authorization"]}
        return None

    return check


def describe_notification(note: dict[str, Any]) -> str:
    auth_ok = note.get("_authorization") == f"Bearer {BEARER}"
    return (
        f"{note.get('objectType')} {note.get('operation')} for {note['object'].get('id')}; "
        f"bearer token {'passed' if auth_ok else 'MISSING'}"
    )


class Fixture:
    """BL objects made with plain HTTP when the library cannot (or failed to) make them."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.bl = Raw(config["base_url_31"], config["base_url_31"] + "/auth/token", config["bl"])
        self.ven = Raw(config["base_url_31"], config["base_url_31"] + "/auth/token", config["ven"])
        self.tag = config["tag"]

    def program(self, name: str) -> dict[str, Any]:
        found = [p for p in self.bl.call("GET", "/programs") if p["programName"] == name]
        return found[0] if found else self.bl.call("POST", "/programs", {"programName": name})  # type: ignore[no-any-return]

    def event(self, program_id: str, name: str) -> dict[str, Any]:
        return self.bl.call("POST", "/events", event_body(program_id, name))  # type: ignore[no-any-return]

    def ven_object(self, name: str) -> dict[str, Any]:
        found = self.ven.call("GET", "/vens", query={"venName": name})
        if found:
            return found[0]  # type: ignore[no-any-return]
        return self.ven.call("POST", "/vens", {"objectType": "VEN_VEN_REQUEST", "venName": name})  # type: ignore[no-any-return]


def event_body(program_id: str, name: str) -> dict[str, Any]:
    """A small spec-valid event (3.1 and 3.0.1 alike: no targets)."""
    return {
        "programID": program_id,
        "eventName": name,
        "intervalPeriod": {"start": soon(), "duration": "PT1H"},
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "PRICE",
                "units": "KWH",
                "currency": "USD",
            }
        ],
        "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.25]}]}],
    }


def report_body(event_id: str, client_name: str, resource: str) -> dict[str, Any]:
    return {
        "eventID": event_id,
        "clientName": client_name,
        "reportName": "interop",
        "resources": [
            {
                "resourceName": resource,
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}],
            }
        ],
    }
