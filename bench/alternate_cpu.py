"""Two VTN checkouts served side by side, loaded in short alternating wrk runs: CPU µs per request.

For before/after comparisons on a busy shared machine, where bench/side_by_side.py's few long
rounds drift with the load: many short runs (`--seconds`), the servers' order flipped every round,
and per server the minimum and the median of CPU µs per request (the minimum is the run least
disturbed by other processes). Environment variables reach both servers (e.g. the sweep's cache-off
setting: VTN_READ_CACHE_SECONDS=0 VTN_GRANT_CACHE_SECONDS=0).

    python bench/alternate_cpu.py --before /work/main --after . --sqlite DB --rounds 10 REQFILE...

With `--migrate` each VTN migrates its own copy of the database (a branch with a migration).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, stop_servers  # noqa: E402
from bench.side_by_side import load, start  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--sqlite", required=True, help="seeded SQLite file each server serves a copy of")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--seconds", type=int, default=2)
    p.add_argument(
        "--migrate",
        action="store_true",
        help="each VTN migrates its copy of the database to its own schema first (a branch with a migration)",
    )
    p.add_argument("reqfiles", nargs="+")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alternate-cpu-"))
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, root in (("before", args.before), ("after", args.after)):
            copy = work / f"{name}.db"
            shutil.copy(args.sqlite, copy)
            port = free_port()
            vtn = str(Path(root).resolve() / ".venv/bin/vtn")
            argv = [vtn, "serve", "--db", f"sqlite:///{copy}", "--port", str(port)]
            if not args.migrate:
                argv.append("--no-migrate")
            servers[name] = (start(argv, root, port, work / f"{name}.log"), port)
        for reqfile in args.reqfiles:
            for proc, port in servers.values():
                load(proc, port, reqfile, 1)  # warm
            got: dict[str, list[float]] = {name: [] for name in servers}
            for r in range(args.rounds):
                order = list(servers.items())
                for name, (proc, port) in order if r % 2 == 0 else reversed(order):
                    got[name].append(load(proc, port, reqfile, args.seconds)[1])
            cells = [Path(reqfile).stem]
            cells += [
                f"{n}: min {min(v):.0f} median {statistics.median(v):.0f} µs/req" for n, v in got.items()
            ]
            b, a = got["before"], got["after"]
            median = statistics.median(a) / statistics.median(b)
            cells.append(f"after/before min {min(a) / min(b):.2f} median {median:.2f}")
            cells.append(f"load {os.getloadavg()[0]:.2f}")
            print(" | ".join(cells), flush=True)
    finally:
        stop_servers(servers)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
