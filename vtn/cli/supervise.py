"""`vtn serve --processes N`: N serving processes on one port (SO_REUSEPORT), one command to run.

The parent migrates the database once, then starts N children, each the same `vtn serve` command
with `--processes 1 --reuse-port --no-migrate`; the kernel spreads connections over them. The
parent forwards SIGTERM/SIGINT (graceful stop) and SIGHUP (TLS and CRL reload) to every child. If a
child exits on its own, the parent stops the others and exits non-zero, so that systemd or the
container runtime restarts the whole service: a half-alive VTN is worse than a restarted one.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger("vtn")

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def child_argv(argv: Sequence[str]) -> list[str]:
    """The child's arguments: ours without --processes, plus one process, shared port, no migration."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--processes":
            skip = True
            continue
        if arg.startswith("--processes=") or arg == "--no-migrate":
            continue
        out.append(arg)
    return [*out, "--processes", "1", "--reuse-port", "--no-migrate"]


def supervise(argv: Sequence[str], count: int) -> int:
    """Run `count` children of `vtn serve argv` until a signal or a child's exit."""
    command = [sys.executable, "-m", "vtn", *child_argv(argv)]
    children = [subprocess.Popen(command) for _ in range(count)]
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    log.info("started %d VTN processes: %s", count, " ".join(str(c.pid) for c in children))
    try:
        while True:
            exited = [c for c in children if c.poll() is not None]
            if stopping and len(exited) == len(children):
                return 0
            if exited and not stopping:
                first = exited[0]
                log.error("VTN process %d exited with %s: stopping the others", first.pid, first.returncode)
                forward(signal.SIGTERM, None)
                _wait_all(children, 30.0)
                # Killed by a signal (negative) or exited 0 unasked: still a failure of the service.
                return first.returncode if first.returncode > 0 else 1
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _wait_all(children, 30.0)


def _wait_all(children: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
