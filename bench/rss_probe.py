"""Peak RSS of one VTN through the polling + scale sequence at one VEN count, per phase.

Why: the scale check "VTN peak RSS after polling + lists" is one number at the end of a long run;
this replays the same requests on one process (polling warm-up until every VEN polled once, the
measured polling run, then each list/lookup file at 4 connections) and prints VmRSS / VmHWM after
each phase, for one or more checkouts or settings in turn, so a change can be judged by its own
peak. The seeded database is copied first (the run records contacts in it) and its contacts are
emptied, as the scale scenario does.

    PYTHONPATH=$PWD python bench/rss_probe.py --vens 100000 --variant before=/work/main \
        --variant after=. [--variant arena2=.:MALLOC_ARENA_MAX=2] [--dump]

`--dump`: a throw-away `sitecustomize` on the server's path answers SIGUSR1 with malloc's counters
(mallinfo2) and the sizes of the VTN's per-client memos, written to <work>/<variant>.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

from bench.common import DATA, VTN_BIN, free_port, spawn, status_kb, wait_http
from bench.load import run_load

POLL_RATE = 4000.0  # polls/s assumed for the warm-up (bench/scenarios_read.py)
SCALE_FILES = (
    "bl-get--vens--id",
    "bl-get--resources--id",
    "bl-get--vens--first-50",
    "bl-get--resources-venid",
    "ven-get--resources--own-10",
)

_SITE = """
import os, signal, sys
_OUT = os.environ.get("RSS_PROBE_OUT")
def _mallinfo():
    import ctypes
    names = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
             "uordblks", "fordblks", "keepcost")
    class MI2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in names]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MI2
    m = libc.mallinfo2()
    return {k: getattr(m, k) for k in names}
def _deep(obj, seen, depth):
    if id(obj) in seen or depth < 0:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        for k, v in obj.items():
            size += _deep(k, seen, depth - 1) + _deep(v, seen, depth - 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            size += _deep(v, seen, depth - 1)
    elif hasattr(type(obj), "__slots__"):
        for name in type(obj).__slots__:
            v = getattr(obj, name, None)
            if v is not None:
                size += _deep(v, seen, depth - 1)
    return size
def _dump(signum, frame):
    import gc, json, time, collections
    gc.unfreeze()
    out = {"t": time.time(), "mallinfo2": _mallinfo()}
    sizes, counts = [], collections.Counter()
    for o in gc.get_objects():
        name = type(o).__name__
        counts[name] += 1
        try:
            attrs = list(object.__getattribute__(o, "__dict__").items())
        except Exception:
            continue
        for a, v in attrs:
            if isinstance(v, (dict, set, list)) and len(v) > 1000:
                sizes.append([f"{type(o).__module__}.{name}.{a}", len(v), _deep(v, set(), 4)])
    out["structures"] = sorted(sizes, key=lambda s: -s[2])[:30]
    out["gc_counts"] = counts.most_common(25)
    gc.freeze()
    with open(_OUT, "a") as fh:
        fh.write(json.dumps(out) + "\\n")
if _OUT:
    signal.signal(signal.SIGUSR1, _dump)
"""


def mb(pid: int, key: str) -> float:
    return round((status_kb(pid, key) or 0) / 1024, 1)


def forget_contacts(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM client_contacts")


def run_variant(
    label: str, code: str, env: dict[str, str], db: Path, vens: int, work: Path, dump: bool, data: Path
) -> None:
    forget_contacts(db)
    path = [str(Path(code).resolve())]
    out = work / f"{label}.jsonl"
    extra = {"VTN_LOG_LEVEL": "WARNING", **env}
    if dump:
        site = work / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(_SITE)
        path.insert(0, str(site))
        extra["RSS_PROBE_OUT"] = str(out)
        out.unlink(missing_ok=True)
    extra["PYTHONPATH"] = os.pathsep.join(path)
    port = free_port()
    argv = [VTN_BIN, "serve", "--db", f"sqlite:///{db}", "--port", str(port), "--no-migrate"]
    proc = spawn(f"rss-probe-{label}", argv, port, extra)
    pid = proc.pid_main
    try:
        wait_http(proc, "/health")
        phases: list[tuple[str, float, float]] = [("started", mb(pid, "VmRSS"), mb(pid, "VmHWM"))]
        poll = data / f"poll-sqlite-{vens}.req"
        run_load(port, poll, duration=max(2.0, vens / POLL_RATE), connections=32)
        phases.append(("poll warm-up", mb(pid, "VmRSS"), mb(pid, "VmHWM")))
        r = run_load(port, poll, duration=10, connections=32)
        phases.append((f"poll 10 s ({r.rps:,.0f}/s, {r.errors} err)", mb(pid, "VmRSS"), mb(pid, "VmHWM")))
        if dump:
            os.kill(pid, signal.SIGUSR1)
            time.sleep(3)
        for slug in SCALE_FILES:
            f = data / f"scale-sqlite-{vens}-{slug}.req"
            run_load(port, f, duration=1, connections=4)
            r = run_load(port, f, duration=5, connections=4)
            phases.append((f"{slug} ({r.rps:,.0f}/s, {r.errors} err)", mb(pid, "VmRSS"), mb(pid, "VmHWM")))
        if dump:
            os.kill(pid, signal.SIGUSR1)
            time.sleep(3)
    finally:
        proc.stop()
    print(f"== {label} ({code} {env or ''})")
    for name, rss, hwm in phases:
        print(f"  {name:55s} RSS {rss:7.1f} MB  peak {hwm:7.1f} MB")
    if dump and out.exists():
        print(f"  dumps: {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vens", type=int, default=100_000)
    p.add_argument("--db", help="seeded database (default: bench/.data/vens-<n>-*.db)")
    p.add_argument("--work", default="/tmp/rss_probe", help="where the copy and dumps go")
    p.add_argument("--variant", action="append", required=True, help="label=checkout[:KEY=VALUE,...]")
    p.add_argument("--dump", action="store_true")
    p.add_argument("--data", default=str(DATA), help="where the seeded database and request files are")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    src = Path(args.db) if args.db else next(data.glob(f"vens-{args.vens}-*.db"))
    db = work / f"vens-{args.vens}.db"
    if not db.exists():
        shutil.copyfile(src, db)
    # The request files are rewritten by every bench run (fresh tokens): a copy of this moment's.
    names = [f"poll-sqlite-{args.vens}.req", *(f"scale-sqlite-{args.vens}-{s}.req" for s in SCALE_FILES)]
    for name in names:
        if not (work / name).exists():
            shutil.copyfile(data / name, work / name)
    for spec in args.variant:
        label, _, rest = spec.partition("=")
        code, _, settings = rest.partition(":")
        env = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
        run_variant(label, code, env, db, args.vens, work, args.dump, work)
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
