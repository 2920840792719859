"""The webhook client's pipelined batches (WebhookClient.post_many) against raw servers on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from shared.durations import to_us, utcnow
from vtn.notify.policy import DeliveryPolicy
from vtn.notify.webhooks import WebhookClient
from vtn.notify.worker import DeliveryWorker
from vtn.storage import open_store
from vtn.storage.outbox import Claimed, OutboxItem
from vtn.storage.tables import outbox

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
BUSY = b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"
CLOSING = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def rows(url: str, n: int) -> list[Claimed]:
    body = '{"n":1}'
    return [Claimed(i, f"nid-{i}", f"sub:s{i}", f"s{i}", url, "tok", "sig==", body, 0, 0) for i in range(n)]


class PipeServer:
    """Answers every complete request of a read with the next canned answer, in one write.

    An answer is bytes, None (close without answering this and later requests) or "silent" (answer
    nothing more). `reads` records how many requests each read brought; `refuse_pipelines` closes a
    connection whose read brings several requests, unanswered (a server that cannot pipeline).
    """

    def __init__(self, answers: list[bytes | str | None] | None = None, delay_s: float = 0.0) -> None:
        self.answers = answers
        self.delay_s = delay_s
        self.refuse_pipelines = False
        self.reads: list[int] = []
        self.nids: list[str] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Protocol(self), "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    def next_answer(self) -> bytes | str | None:
        return self.answers.pop(0) if self.answers else OK


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: PipeServer) -> None:
        self.owner = owner
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.silent = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.owner.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        requests: list[bytes] = []
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            length = int(self.buf[:end].lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(self.buf) < end + 4 + length:
                break
            requests.append(self.buf[:end])
            self.buf = self.buf[end + 4 + length :]
        if not requests:
            return
        self.owner.reads.append(len(requests))
        if self.owner.refuse_pipelines and len(requests) > 1:
            assert self.transport is not None
            self.transport.close()
            return
        if self.owner.delay_s:
            asyncio.get_running_loop().call_later(self.owner.delay_s, self.answer, requests)
        else:
            self.answer(requests)

    def answer(self, requests: list[bytes]) -> None:
        assert self.transport is not None
        out: list[bytes] = []
        for head in requests:
            if self.silent:
                break
            answer = self.owner.next_answer()
            if answer is None:
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            if answer == "silent":
                self.silent = True
                break
            assert isinstance(answer, bytes)
            self.owner.nids.append(head.split(b"X-Notification-ID: ")[1].split(b"\r\n")[0].decode())
            out.append(answer)
            if b"Connection: close" in answer:
                self.transport.write(b"".join(out))
                self.transport.close()  # the requests after it go unanswered
                return
        self.transport.write(b"".join(out))


@pytest.fixture
async def client() -> AsyncIterator[WebhookClient]:
    c = WebhookClient(concurrency=8, timeout_s=10.0)  # pipelined unless an answer takes 0.3 s
    yield c
    await c.close()


async def test_a_batch_goes_in_one_write_on_a_proven_connection(client: WebhookClient) -> None:
    server = PipeServer()
    url = await server.start()
    batch = rows(url, 5)
    key = client.pool_key(batch[0])
    assert client.depth(key, 8) == 1  # no connection yet
    assert await client.post(batch[0]) == 200
    assert client.depth(key, 8) == 8
    assert await client.post_many(batch) == [200] * 5
    assert server.reads == [1, 5] and server.connections == 1
    assert server.nids == ["nid-0"] + [f"nid-{i}" for i in range(5)]  # in order
    # Answers that came together, copies of one known answer, and again.
    assert await client.post_many(batch) == [200] * 5


async def test_a_new_connection_sends_one_at_a_time(client: WebhookClient) -> None:
    server = PipeServer()
    url = await server.start()
    assert await client.post_many(rows(url, 3)) == [200] * 3
    assert server.reads == [1, 1, 1] and server.connections == 1


async def test_mixed_answers_keep_their_order(client: WebhookClient) -> None:
    server = PipeServer([OK, OK, BUSY, b"HTTP/1.1 204 No Content\r\n\r\n", OK])
    url = await server.start()
    await client.post(rows(url, 1)[0])
    assert await client.post_many(rows(url, 4)) == [200, 503, 204, 200]
    assert server.reads == [1, 4]


async def test_rows_after_a_keep_alive_close_are_unanswered_not_failed(client: WebhookClient) -> None:
    server = PipeServer([OK, OK, CLOSING])
    url = await server.start()
    batch = rows(url, 4)
    await client.post(batch[0])
    assert await client.post_many(batch) == [200, 200, None, None]
    assert await client.post_many(batch[2:]) == [200, 200]  # a new connection, one at a time
    assert server.connections == 2


async def test_a_server_dropping_pipelined_requests_gets_them_one_by_one(client: WebhookClient) -> None:
    server = PipeServer()
    url = await server.start()
    batch = rows(url, 3)
    key = client.pool_key(batch[0])
    await client.post(batch[0])
    server.refuse_pipelines = True
    assert await client.post_many(batch) == [200] * 3
    assert client.depth(key, 8) == 1  # and from now on
    assert server.reads == [1, 3, 1, 1, 1]


async def test_silence_mid_batch_fails_the_rest_with_a_timeout() -> None:
    client = WebhookClient(concurrency=8, timeout_s=0.4)
    try:
        server = PipeServer([OK, OK, "silent"])
        url = await server.start()
        await client.post(rows(url, 1)[0])
        outcomes = await client.post_many(rows(url, 3))
        assert outcomes[0] == 200
        assert all(isinstance(o, TimeoutError) for o in outcomes[1:])
    finally:
        await client.close()


async def test_a_slow_server_is_not_pipelined() -> None:
    client = WebhookClient(concurrency=8, timeout_s=2.0)
    try:
        server = PipeServer(delay_s=0.1)  # 0.1 s an answer: 8 in a row take 0.8 s, over 2 s / 4
        url = await server.start()
        batch = rows(url, 3)
        await client.post(batch[0])
        assert client.depth(client.pool_key(batch[0]), 8) == 1
    finally:
        await client.close()


async def test_a_header_refusal_fails_only_its_row(client: WebhookClient) -> None:
    server = PipeServer()
    url = await server.start()
    batch = rows(url, 3)
    await client.post(batch[0])
    bad = batch[1]._replace(bearer_token="x\r\nInjected: 1")
    outcomes = await client.post_many([batch[0], bad, batch[2]])
    assert outcomes[0] == 200 and outcomes[2] == 200
    assert isinstance(outcomes[1], ValueError)


async def test_the_worker_pipelines_and_gives_back_rows_a_keep_alive_close_left(db_url: str) -> None:
    """A server that closes every connection after its fourth answer: the rows pipelined past it
    are given back unattempted and delivered later, each attempted once."""

    class Closing(PipeServer):
        def __init__(self) -> None:
            super().__init__()
            self.served = 0

        def next_answer(self) -> bytes | str | None:
            self.served += 1
            return CLOSING if self.served % 4 == 0 else OK

    server = Closing()
    url = await server.start()
    store = open_store(db_url)
    n = 60
    async with store.transaction() as tx:
        items = [OutboxItem(f"n{i}", f"sub:s{i}", f"s{i}", url, "t", None, "{}") for i in range(n)]
        await tx.outbox.enqueue(items, to_us(utcnow()))
    policy = DeliveryPolicy(concurrency=2, poll_interval_s=0.05, settle_linger_s=0.01)
    w = DeliveryWorker(store, policy, clock=utcnow)
    await w.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            async with store.read() as tx:
                if not await tx.outbox.pending_count():
                    break
            assert time.monotonic() < deadline, f"{len(set(server.nids))} of {n} delivered"
            await asyncio.sleep(0.05)
    finally:
        await w.stop()
    async with store.read() as tx:
        got = (await tx.conn.execute(select(outbox.c.status, outbox.c.attempts))).all()
    await store.close()
    assert {tuple(r) for r in got} == {("delivered", 1)}
    assert max(server.reads) > 1  # some went pipelined
    assert sorted(server.nids) == sorted(f"n{i}" for i in range(n))  # each once
