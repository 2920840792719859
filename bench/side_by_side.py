"""Two VTN checkouts and a bare aiohttp process served side by side, loaded in turn with wrk.

For before/after comparisons on a shared machine: both VTNs serve copies of the same seeded SQLite
database (or one PostgreSQL database, `--db`), each request file is loaded on every server in turn
for `--rounds` rounds, and each line gives req/s, the ratio to the baseline's req/s in the same
rounds, and the server's CPU µs per request (median of rounds), with the load average.

    python bench/side_by_side.py --before /work/main --after . --seconds 3 --rounds 2 REQFILE...

Each checkout must have its own `.venv` with `vtn` installed; rate limits are off, as in bench/run.py.
With `--migrate` each VTN migrates its own copy of the SQLite database (a branch with a migration).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parent))

from bench.common import free_port, start_server, stop_servers  # noqa: E402


def process_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def start(argv: list[str], cwd: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A server of the comparison, rate limits off, once it answers GET /health. It imports the
    code of `cwd` (PYTHONPATH): checkouts sharing one venv would otherwise all run the checkout the
    venv's editable install points at, or all the one a PYTHONPATH set for this script names."""
    env = dict(
        os.environ,
        VTN_LOG_LEVEL="WARNING",
        VTN_RATE_PER_CLIENT="0",
        VTN_RATE_PER_ADDRESS="0",
        PYTHONPATH=str(Path(cwd).resolve()),
    )
    return start_server(argv, cwd, env, port, log)


def load(proc: subprocess.Popen[bytes], port: int, reqfile: str, seconds: int) -> tuple[float, float, float]:
    """req/s, CPU µs per request, and the system (kernel) part of it."""
    c0 = process_cpu(proc.pid)
    argv = ["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(HERE / "rotate.lua")]
    out = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}", "--", reqfile, "1"], capture_output=True, text=True
    )
    c1 = process_cpu(proc.pid)
    n = next((int(line.split()[0]) for line in out.stdout.splitlines() if "requests in" in line), 0)
    bad = next((line for line in out.stdout.splitlines() if line.startswith("BENCHJSON")), "")
    if not n or "Non-2xx" in out.stdout or '"bad":0' not in bad:  # bad: BENCH_EXPECT not in the body
        raise RuntimeError(f"{reqfile} on port {port}: {out.stdout}{out.stderr}")
    user, system = c1[0] - c0[0], c1[1] - c0[1]
    return n / seconds, (user + system) / n * 1e6, system / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--sqlite", help="seeded SQLite file to copy (default: bench/.data's 1,000-VEN one)")
    p.add_argument("--db", help="a database URL both serve instead (e.g. PostgreSQL)")
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--baseline-bytes",
        type=int,
        default=0,
        help="the bare aiohttp baseline answers a prebuilt body of this size (default: its small JSON)",
    )
    p.add_argument(
        "--no-baseline", action="store_true", help="no bare aiohttp server (it answers GETs only: writes)"
    )
    p.add_argument(
        "--migrate",
        action="store_true",
        help="each VTN migrates its copy of the database to its own schema first (for a branch that "
        "adds a migration; with --db both share one database, so not with --db)",
    )
    p.add_argument("reqfiles", nargs="+")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, root in (("before", args.before), ("after", args.after)):
            url = args.db
            if url is None:
                source = args.sqlite or str(next((HERE / ".data").glob("vens-1000-*.db")))
                copy = work / f"{name}.db"
                shutil.copy(source, copy)
                url = f"sqlite:///{copy}"
            port = free_port()  # fixed ports would meet another run's servers on a shared machine
            vtn = str(Path(root).resolve() / ".venv/bin/vtn")
            argv = [vtn, "serve", "--db", url, "--port", str(port)]
            if not args.migrate:
                argv.append("--no-migrate")
            servers[name] = (start(argv, root, port, work / f"{name}.log"), port)
        argv = [
            str(Path(args.after).resolve() / ".venv/bin/python"),
            "-m",
            "bench.baseline",
            "--port",
            str(base_port := free_port()),
            "--body-bytes",
            str(args.baseline_bytes),
        ]
        if not args.no_baseline:
            servers["baseline"] = (start(argv, args.after, base_port, work / "baseline.log"), base_port)
        for reqfile in args.reqfiles:
            for proc, port in servers.values():
                load(proc, port, reqfile, 1)  # warm
            done: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (proc, port) in servers.items():
                    done[name].append(load(proc, port, reqfile, args.seconds))
            base = sum(r for r, _, _ in done["baseline"]) if "baseline" in done else 0.0
            cells = [Path(reqfile).stem]
            for name, results in done.items():
                rps = sum(r for r, _, _ in results)
                cpu, system = sorted((c, s) for _, c, s in results)[len(results) // 2]
                cells.append(
                    f"{name}: {rps / len(results):,.0f} req/s"
                    + (f" ratio {rps / base:.2f}" if base else "")
                    + f" cpu {cpu:.0f}us (sys {system:.0f})"
                )
            cells.append(f"load {os.getloadavg()[0]:.2f}")
            print(" | ".join(cells), flush=True)
    finally:
        stop_servers(servers)


if __name__ == "__main__":
    main()
