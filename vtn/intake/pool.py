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
import fcntl
import logging
import sys
from collections.abc import Callable
from datetime import datetime

from shared.validation import SchemaRegistry
from vtn.core.ids import key_scope
from vtn.intake.frames import HEADER, MAX_FRAME, IntakeReply, decode_reply, request_parts
from vtn.principal import Principal
from vtn.services.reports import prepare_report_body
from vtn.storage.reports import PreparedReport

log = logging.getLogger("vtn.intake")

RESTART_DELAY_S = 1.0
# Past this many bytes waiting for a worker's pipe, senders wait for it to drain.
HIGH_WATER = 1024 * 1024
PIPE_BYTES = 1024 * 1024  # Linux's default fs.pipe-max-size


class WorkerGone(Exception):
    """The worker exited (or its pipe broke) before answering."""


class _Worker(asyncio.SubprocessProtocol):
    """One worker process; it answers in the order it was asked.

    Replies are parsed where the pipe delivers them (pipe_data_received): no reader task and no
    await per reply, which on a StreamReader cost two coroutine steps and two copies per report.
    """

    def __init__(self) -> None:
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._waiting: collections.deque[asyncio.Future[IntakeReply]] = collections.deque()
        self._buffer = bytearray()  # the start of a reply not yet whole
        self._outgoing: list[bytes] = []
        self._drained: asyncio.Future[None] | None = None  # set while the pipe is over HIGH_WATER
        self._exited = asyncio.get_running_loop().create_future()
        self.alive = True
        self.replacing = False  # a restart of this worker is under way

    @property
    def pid(self) -> int | None:
        return None if self._transport is None else self._transport.get_pid()

    # -- asyncio.SubprocessProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.set_write_buffer_limits(high=HIGH_WATER)
        self._stdin = stdin
        for fd in (0, 1):
            _widen(transport.get_pipe_transport(fd))

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        if buffer:
            buffer += data
            view: bytes | bytearray = buffer
        else:
            view = data  # the common case: whole replies, parsed without a copy of the chunk
        at, end = 0, len(view)
        while end - at >= HEADER.size:
            (size,) = HEADER.unpack_from(view, at)
            start = at + HEADER.size
            if size > MAX_FRAME:
                self._gone()
                if self._transport is not None:
                    self._transport.kill()
                return
            if end - start < size:
                break
            reply = decode_reply(view[start : start + size])
            at = start + size
            if not self._waiting:  # more replies than requests: not our worker's protocol
                self._gone()
                return
            future = self._waiting.popleft()
            if not future.done():  # the request may have been cancelled meanwhile
                future.set_result(reply)
        self._buffer = bytearray(view[at:]) if at < end else bytearray()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._gone()

    def process_exited(self) -> None:
        self._gone()
        if not self._exited.done():
            self._exited.set_result(None)

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- the serving process's side

    def _gone(self) -> None:
        """Fail every waiting request (each is decoded in-process instead); the worker is done."""
        self.alive = False
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(WorkerGone())
        self.resume_writing()

    def _flush(self) -> None:
        frames, self._outgoing = self._outgoing, []
        stdin = self._stdin
        if stdin is None or stdin.is_closing() or not self.alive:
            return  # the worker is gone: its waiting requests have failed or are about to
        with contextlib.suppress(ConnectionError, RuntimeError):  # likewise
            stdin.write(b"".join(frames))

    async def call(self, parts: tuple[bytes, ...]) -> IntakeReply:
        stdin = self._stdin
        if not self.alive or stdin is None or stdin.is_closing():
            raise WorkerGone
        if self._drained is not None:
            await self._drained
            if not self.alive:
                raise WorkerGone
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IntakeReply] = loop.create_future()
        self._waiting.append(future)
        # The frames of one loop iteration go out in one write (one pipe write, and one wake-up of
        # the worker, per burst of requests instead of per request).
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.extend(parts)
        return await future

    async def wait(self) -> None:
        """Until the worker process has exited."""
        await self._exited

    async def stop(self) -> None:
        self.alive = False
        transport = self._transport
        if transport is None:
            return
        if self._stdin is not None:
            self._stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            await self._exited
        transport.close()
        self._gone()


def _widen(pipe: asyncio.BaseTransport | None) -> None:
    """A pipe of PIPE_BYTES instead of 64 KiB (Linux): a burst of requests or of replies goes in
    one write, instead of a partial write, a wait for the reader and the rest later."""
    if pipe is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    handle = pipe.get_extra_info("pipe")
    with contextlib.suppress(OSError, ValueError, AttributeError):  # capped by fs.pipe-max-size
        fcntl.fcntl(handle.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


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
                reply = await worker.call(request_parts(report_id, now.isoformat(), client_id, scope, body))
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
        _, worker = await asyncio.get_running_loop().subprocess_exec(
            _Worker,
            sys.executable,
            "-m",
            "vtn.intake.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
        return worker

    def _restart_later(self, dead: _Worker) -> None:
        if self._closing or dead.replacing:
            return
        dead.replacing = True
        task = asyncio.create_task(self._restart(dead), name="intake-restart")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, dead: _Worker) -> None:
        log.warning("intake worker %s exited; starting another in %.0f s", dead.pid, RESTART_DELAY_S)
        await dead.stop()
        await asyncio.sleep(RESTART_DELAY_S)
        if self._closing or dead not in self._workers:
            return
        fresh = await self._spawn()
        if self._closing:
            await fresh.stop()
            return
        self._workers[self._workers.index(dead)] = fresh
