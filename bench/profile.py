"""Where the time goes: record a server under load with py-spy and summarise the collapsed stacks.

`python bench/run.py --scenario polling --profile` (or ingest) runs `py-spy record --format raw`
against the VTN process during a load run; `summarise()` then prints, per thread, the functions
with the largest inclusive ("total") and exclusive ("self") share of samples, and a table of our
own code (vtn/, shared/) by inclusive share. Standalone: `python bench/profile.py FILE.raw`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def record(
    pid: int, out: Path, seconds: float, rate: int = 250, gil_only: bool = True
) -> subprocess.Popen[bytes] | None:
    """Start py-spy on `pid` for `seconds` (returns the process to wait for), None without py-spy.

    With `gil_only` only the thread holding the GIL is sampled, so shares are shares of the
    Python CPU time (SQLite's own C work runs without the GIL and is not in the profile).
    """
    exe = py_spy()
    if exe is None:
        return None
    argv = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate)]
    argv += ["--format", "raw", "--threads", "--nonblocking", "-o", str(out)]
    if gil_only:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _short(frame: str) -> str:
    """`func (/abs/path/pkg/mod.py:123)` -> `pkg/mod.py:func`."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{m.group('func')}"


def load(raw: Path) -> dict[str, list[tuple[list[str], int]]]:
    """Collapsed stacks grouped by thread: {thread: [(frames root-first, samples)]}."""
    threads: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "main"
        body = frames[1:] if thread != "main" else frames
        if body and body[0].startswith("process"):
            body = body[1:]
        threads[thread].append(([_short(f) for f in body], int(count)))
    return threads


def summarise(raw: Path, top: int = 25) -> str:
    """A text report: per thread, top inclusive and self functions with their share of samples."""
    out: list[str] = []
    threads = load(raw)
    grand = sum(c for stacks in threads.values() for _, c in stacks)
    for thread, stacks in sorted(threads.items(), key=lambda kv: -sum(c for _, c in kv[1])):
        total = sum(c for _, c in stacks)
        if total < grand * 0.02:
            continue
        incl: Counter[str] = Counter()
        self_: Counter[str] = Counter()
        for frames, count in stacks:
            for f in set(frames):
                incl[f] += count
            if frames:
                self_[frames[-1]] += count
        out.append(f"== {thread}: {total} samples ({100 * total / grand:.0f}% of all) ==")
        out.append("-- inclusive (own code: vtn/ shared/) --")
        ours = [(f, c) for f, c in incl.most_common() if f.startswith(("vtn/", "shared/"))]
        out += [f"{100 * c / total:6.1f}%  {f}" for f, c in ours[:top]]
        out.append("-- inclusive (all) --")
        out += [f"{100 * c / total:6.1f}%  {f}" for f, c in incl.most_common(top)]
        out.append("-- self --")
        out += [f"{100 * c / total:6.1f}%  {f}" for f, c in self_.most_common(top)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("raw", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    print(summarise(args.raw, args.top))


if __name__ == "__main__":
    main()
