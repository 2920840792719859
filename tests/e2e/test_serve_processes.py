"""`vtn serve --processes 2`: two serving children on one port, signals forwarded, no half-alive VTN."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from support.processes import VtnProcess, lab_env, vtn_command

from vtn.cli.supervise import child_argv


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as fh:
            found += [int(c) for c in fh.read().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_child_arguments() -> None:
    argv = ["--debug", "serve", "--processes", "4", "--port", "8080", "--no-migrate"]
    assert child_argv(argv) == [
        "--debug",
        "serve",
        "--port",
        "8080",
        "--processes",
        "1",
        "--reuse-port",
        "--no-migrate",
    ]
    assert child_argv(["serve", "--processes=3"]) == [
        "serve",
        "--processes",
        "1",
        "--reuse-port",
        "--no-migrate",
    ]


class Supervised(VtnProcess):
    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [*vtn_command(), "serve", "--db", self.db, "--port", str(self.port), "--processes", "2"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )


def _wait(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.1)


async def test_two_processes_serve_and_stop_together(tmp_path: Path) -> None:
    vtn = Supervised(f"sqlite:///{tmp_path / 'vtn.db'}", tmp_path / "vtn.log", lab_env())
    vtn.start()
    try:
        await vtn.ready()
        assert vtn.proc is not None
        _wait(lambda: len(_children(vtn.proc.pid)) == 2)  # type: ignore[union-attr]
        first, second = _children(vtn.proc.pid)
        # One child dies: the parent stops the other and exits non-zero (the service manager restarts).
        os.kill(first, signal.SIGKILL)
        assert vtn.proc.wait(30) != 0
        _wait(lambda: not _alive(second))
    finally:
        vtn.kill()


async def test_sigterm_stops_every_process(tmp_path: Path) -> None:
    vtn = Supervised(f"sqlite:///{tmp_path / 'vtn.db'}", tmp_path / "vtn.log", lab_env())
    vtn.start()
    try:
        await vtn.ready()
        assert vtn.proc is not None
        _wait(lambda: len(_children(vtn.proc.pid)) == 2)  # type: ignore[union-attr]
        kids = _children(vtn.proc.pid)
        # The route the images' HEALTHCHECK asks.
        with urllib.request.urlopen(f"http://127.0.0.1:{vtn.port}/health", timeout=10) as resp:
            assert resp.status == 200 and json.load(resp) == {"status": "ok"}
        vtn.proc.terminate()
        assert vtn.proc.wait(30) == 0
        assert not any(_alive(k) for k in kids)
    finally:
        vtn.kill()
