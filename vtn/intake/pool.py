"""The serving process's side of the intake workers: send bodies, await prepared reports.

Why: on one SQLite process a report's CPU was the ingest limit, and about half of it is decoding
and serialising the body, which needs no database. Workers do that on another core; the serving
process stores and answers the text. Nothing depends on a worker being alive: a body a worker
calls invalid, a worker's failure or a dead worker all fall back to the in-process decode (which
also names the exact error), and a dead worker is started again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sys
from collections.abc import Callable
from datetime import datetime

from shared.validation import SchemaRegistry
from vtn.core.ids import key_scope
from vtn.intake.frames import HEADER, MAX_FRAME, IntakeReply, IntakeRequest, decode_reply, encode_request
from vtn.principal import Principal
from vtn.services.reports import prepare_report_body
from vtn.storage.reports import PreparedReport

log = logging.getLogger("vtn.intake")

RESTART_DELAY_S = 1.0
# Past this many bytes waiting for a worker's pipe, senders wait for it to drain.
HIGH_WATER = 1024 * 1024


class WorkerGone(Exception):
    """The worker exited (or its pipe broke) before answering."""


class _Worker:
    """One worker process; it answers in the order it was asked."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._waiting: collections.deque[asyncio.Future[IntakeReply]] = collections.deque()
        self._reader = asyncio.create_task(self._read_replies(), name="intake-replies")
        self.alive = True
        self.replacing = False  # a restart of this worker is under way
        self._outgoing: list[bytes] = []

    def _flush(self) -> None:
        frames, self._outgoing = self._outgoing, []
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            return  # the worker is gone: its reader fails the waiting requests
        with contextlib.suppress(ConnectionError, RuntimeError):  # likewise
            stdin.write(b"".join(frames))

    async def call(self, frame: bytes) -> IntakeReply:
        stdin = self.proc.stdin
        if not self.alive or stdin is None or stdin.is_closing():
            raise WorkerGone
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IntakeReply] = loop.create_future()
        self._waiting.append(future)
        # The frames of one loop iteration go out in one write (one pipe write, and one wake-up of
        # the worker, per burst of requests instead of per request).
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(frame)
        if stdin.transport.get_write_buffer_size() > HIGH_WATER:
            try:
                await stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise WorkerGone from exc
        return await future

    async def _read_replies(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                if size > MAX_FRAME:
                    break
                reply = decode_reply(await stdout.readexactly(size))
                future = self._waiting.popleft()
                if not future.done():  # the request may have been cancelled meanwhile
                    future.set_result(reply)
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            self.alive = False
            while self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(WorkerGone())

    async def stop(self) -> None:
        self.alive = False
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class IntakePool:
    """`size` worker processes taking turns; prepare() never fails because of them."""

    def __init__(
        self,
        size: int,
        registry: SchemaRegistry,
        new_id: Callable[[], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._size = size
        self._registry = registry
        self._new_id = new_id
        self._clock = clock
        self._workers: list[_Worker] = []
        self._turn = 0
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._workers = [await self._spawn() for _ in range(self._size)]

    async def close(self) -> None:
        self._closing = True
        for task in self._restarts:
            task.cancel()
        for worker in self._workers:
            await worker.stop()
        self._workers = []

    @property
    def live_workers(self) -> int:
        return sum(1 for w in self._workers if w.alive)

    async def prepare(self, body: bytes, who: Principal) -> PreparedReport:
        """The validated, stamped and serialised report of `who`'s `POST /reports` body.

        Raises what oadr3_json.decode raises for an invalid body (decided in this process).
        """
        report_id, now = self._new_id(), self._clock()
        client_id, scope = who.client_id, key_scope(who)
        worker = self._next_worker()
        if worker is not None:
            try:
                reply = await worker.call(
                    encode_request(IntakeRequest(report_id, now.isoformat(), client_id, body, scope))
                )
            except WorkerGone:
                self._restart_later(worker)
            else:
                if reply.doc is not None:
                    return PreparedReport(
                        reply.report_id,
                        reply.event_id,
                        reply.client_name,
                        client_id,
                        now,
                        reply.doc,
                        reply.canonical,
                    )
                if reply.failure is not None:
                    log.error("intake worker failed on a report (decoded here instead): %s", reply.failure)
        return prepare_report_body(self._registry, body, report_id, now, client_id, scope)

    def _next_worker(self) -> _Worker | None:
        for _ in range(len(self._workers)):
            self._turn = (self._turn + 1) % len(self._workers)
            worker = self._workers[self._turn]
            if worker.alive:
                return worker
            self._restart_later(worker)
        return None

    async def _spawn(self) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vtn.intake.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return _Worker(proc)

    def _restart_later(self, dead: _Worker) -> None:
        if self._closing or dead.replacing:
            return
        dead.replacing = True
        task = asyncio.create_task(self._restart(dead), name="intake-restart")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, dead: _Worker) -> None:
        log.warning("intake worker %s exited; starting another in %.0f s", dead.proc.pid, RESTART_DELAY_S)
        await dead.stop()
        await asyncio.sleep(RESTART_DELAY_S)
        if self._closing or dead not in self._workers:
            return
        fresh = await self._spawn()
        if self._closing:
            await fresh.stop()
            return
        self._workers[self._workers.index(dead)] = fresh
