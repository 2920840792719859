"""Where the soak's memory goes: `vtn serve` under tracemalloc, snapshots on SIGUSR1, and their diff.

    python -m bench.soak_trace serve --db URL --port N ...   (what `bench/soak.py --trace` starts)
    python -m bench.soak_trace diff A.snap B.snap [--top 25]

SOAK_SQLITE_CACHE_KIB=N sets `PRAGMA cache_size=-N` (KiB) on every SQLite connection the VTN opens
(an experiment: SQLite's default is 2,000 KiB per connection).

SIGUSR2 runs one full garbage collection and logs what it found (a `SOAKGC {...}` line), which tells
uncollected cyclic garbage from live objects; SOAK_TRACEMALLOC=0 serves without tracemalloc.

The served VTN is the ordinary `vtn serve` (vtn.cli.main), with tracemalloc on (12 frames) once
the VTN's modules are imported; each SIGUSR1 writes the next snapshot to
$SOAK_TRACE_DIR/snap-<n>.snap after a full collection (live objects only). tracemalloc makes the
VTN several times slower and bigger: use it to find what grows, not to measure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

FRAMES = 12


def _snapshot_on_signal(directory: Path) -> None:
    taken = 0

    def dump(_sig: int, _frame: FrameType | None) -> None:
        nonlocal taken
        gc.collect()  # only what is still reachable: uncollected cyclic garbage is not a leak
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        tmp = directory / f"snap-{taken}.tmp"
        snap.dump(str(tmp))
        os.replace(tmp, directory / f"snap-{taken}.snap")
        taken += 1

    signal.signal(signal.SIGUSR1, dump)


def _collect_on_signal() -> None:
    """SIGUSR2: one full collection, and how much cyclic garbage it found, on stderr (the VTN's log)."""

    def collect(_sig: int, _frame: FrameType | None) -> None:
        counts, stats = gc.get_count(), gc.get_stats()
        t0 = time.perf_counter()
        found = gc.collect()
        took = time.perf_counter() - t0
        report = {"found": found, "seconds": round(took, 3), "counts": counts, "stats": stats}
        print(f"SOAKGC {json.dumps(report)}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR2, collect)


def serve(args: list[str]) -> None:
    # Tracing starts after the imports: tracing them takes minutes, and a diff does not need them.
    import vtn.app  # noqa: F401
    from vtn.cli import main as vtn_main

    if os.environ.get("SOAK_TRACEMALLOC", "1") != "0":
        tracemalloc.start(FRAMES)
    directory = Path(os.environ.get("SOAK_TRACE_DIR", "."))
    directory.mkdir(parents=True, exist_ok=True)
    _snapshot_on_signal(directory)
    _collect_on_signal()

    cache_kib = os.environ.get("SOAK_SQLITE_CACHE_KIB")
    if cache_kib:  # an experiment: smaller SQLite page caches on every connection the VTN opens
        _cap_sqlite_cache(int(cache_kib))
    sys.argv = ["vtn", "serve", *args]
    vtn_main()


def _cap_sqlite_cache(kib: int) -> None:
    import sqlite3

    plain = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = plain(*args, **kwargs)
        conn.execute(f"PRAGMA cache_size=-{kib}").close()
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]


def diff(first: Path, second: Path, top: int = 25, frames: int = 6) -> str:
    """The `top` allocation sites (grouped by their innermost `frames` frames) that grew most."""
    a = tracemalloc.Snapshot.load(str(first))
    b = tracemalloc.Snapshot.load(str(second))
    total_a = sum(s.size for s in a.statistics("filename"))
    total_b = sum(s.size for s in b.statistics("filename"))
    lines = [f"traced: {total_a / 2**20:.1f} MiB -> {total_b / 2**20:.1f} MiB"]
    for stat in b.compare_to(a, "traceback")[:top]:
        lines.append(
            f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks "
            f"(now {stat.size / 1024:.1f} KiB in {stat.count})"
        )
        # Our innermost frames (where the project called in), and the allocating frame itself.
        frames_all = list(stat.traceback)
        shown = [f for f in frames_all if "/site-packages/" not in f.filename][-frames:]
        if frames_all and frames_all[-1] not in shown:
            shown.append(frames_all[-1])
        for frame in shown:
            lines.append(f"      {frame.filename}:{frame.lineno}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("diff")
    d.add_argument("first", type=Path)
    d.add_argument("second", type=Path)
    d.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    print(diff(args.first, args.second, args.top))


if __name__ == "__main__":
    main()
