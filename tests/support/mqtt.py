"""MQTT test helpers: a VTN with MQTT settings, recording MQTT listeners, private mosquitto brokers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from shared.enums import Role
from support.api_data import bl_resource, bl_ven, create, program
from support.harness import OADR20B_SCHEMA, REGISTRY, Api, Vtn
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store

HOST = "127.0.0.1"
SHARED_PORT = 1883
LAB = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.2,
    "delivery_timeout_seconds": 2.0,
}
WAIT_S = 15.0


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} in CI; .ci/run should provide it")
    pytest.skip(reason)


@asynccontextmanager
async def mqtt_vtn(db_url: str, **overrides: Any) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    config = VtnConfig.load(env={}, overrides={"db_url": db_url, **LAB, **overrides})
    app = await build_app(config, store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
    try:
        async with TestClient(TestServer(app)) as client:
            yield Vtn(client, store)
    finally:
        await store.close()


class Listener:
    """An MQTT client that records (topic, notification) for every message it receives."""

    def __init__(self, port: int, **client_args: Any) -> None:
        self.port = port
        self.client_args = client_args
        self.got: list[tuple[str, dict[str, Any]]] = []
        self._task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> Listener:
        self._client = aiomqtt.Client(HOST, self.port, **self.client_args)
        await self._client.__aenter__()
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # the broker may be gone (outage test)
                await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            payload = message.payload
            assert isinstance(payload, bytes | bytearray)
            self.got.append((str(message.topic), json.loads(payload)))

    async def subscribe(self, *topics: str) -> list[Any]:
        assert self._client is not None
        return [await self._client.subscribe(t, qos=1) for t in topics]

    async def publish(self, topic: str, body: str) -> None:
        assert self._client is not None
        await self._client.publish(topic, body.encode(), qos=1)

    async def wait_for(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        async def enough() -> None:
            while len(self.got) < count:
                await asyncio.sleep(0.02)

        try:
            await asyncio.wait_for(enough(), WAIT_S)
        except TimeoutError:
            raise AssertionError(f"expected {count} messages, got {len(self.got)}: {self.got}") from None
        return list(self.got)


def names(got: list[tuple[str, dict[str, Any]]]) -> str:
    """'CREATE e1, UPDATE e1, ...': operation and eventName (else id) of each notification received."""
    return ", ".join(f"{d['operation']} {d['object'].get('eventName', d['object']['id'])}" for _, d in got)


async def topics_of(api: Api, path: str, status: int = 200) -> dict[str, str]:
    resp = await api.get(f"/notifiers/mqtt/topics{path}")
    assert resp.status == status, f"{path}: {resp.status} {await resp.text()}"
    if status != 200:
        return {}
    doc = await resp.json()
    REGISTRY.validate("notifierTopicsResponse", doc)
    topics: dict[str, str] = doc["topics"]
    return topics


async def parties(vtn: Vtn) -> tuple[Api, Api, Api, str, str, str]:
    """BL, VEN A (ven granted grp-a, resource granted grp-r), VEN B (grp-b), and a program."""
    bl = await vtn.login("bl", Role.BL)
    ven_a = await vtn.login("ven-a", Role.VEN)
    ven_b = await vtn.login("ven-b", Role.VEN)
    a_id = (await create(bl, "/vens", bl_ven("gw-a", ven_a.client_id, ["grp-a"])))["id"]
    b_id = (await create(bl, "/vens", bl_ven("gw-b", ven_b.client_id, ["grp-b"])))["id"]
    await create(bl, "/resources", bl_resource("meter-a", a_id, ven_a.client_id, ["grp-r"]))
    program_id = (await create(bl, "/programs", program("p-mqtt")))["id"]
    return bl, ven_a, ven_b, a_id, b_id, program_id


async def pending_mqtt(vtn: Vtn) -> int:
    async with vtn.store.read() as tx:
        query = text(
            "SELECT count(*) FROM outbox WHERE (sink = 'mqtt' OR sink LIKE 'mqtt:%') AND status = 'pending'"
        )
        return int((await tx.conn.execute(query)).scalar_one())


async def drained(vtn: Vtn) -> None:
    """Wait until every MQTT row went out, so a listener subscribing now hears only what follows."""
    for _ in range(int(WAIT_S / 0.05)):
        if await pending_mqtt(vtn) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("MQTT outbox rows still pending")


class Mosquitto:
    """A mosquitto process of our own on a free loopback port; stop() and start() again at will."""

    def __init__(self, workdir: Path, extra: list[str]) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            unavailable("mosquitto is not installed")
        self.exe = exe
        self.workdir = workdir
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = int(s.getsockname()[1])
        lines = [f"listener {self.port} {HOST}", f"log_dest file {workdir / 'mosquitto.log'}", *extra]
        if os.geteuid() == 0:
            lines.append("user root")  # stay root: the test's temp files are not readable by 'mosquitto'
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdin=subprocess.DEVNULL)
        for _ in range(100):
            if port_open(self.port):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"mosquitto did not start: {(self.workdir / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its persistence file on the way out
            self.proc.wait(10)
        self.proc = None


def passwd(path: Path, users: dict[str, str]) -> None:
    exe = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.path.exists(exe):
        unavailable("mosquitto_passwd is not installed")
    for i, (user, password) in enumerate(users.items()):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run([exe, *flags, str(path), user, password], check=True, capture_output=True)
