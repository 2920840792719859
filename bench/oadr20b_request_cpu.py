"""CPU µs per 2.0b request through `Oadr20bService.handle`, in process (no HTTP), on a sweep database.

    PYTHONPATH=$PWD .venv/bin/python bench/oadr20b_request_cpu.py \
        --db bench/.data/work-sweep-cache-off.db \
        --reqfile bench/.data/sweep-off-2-0b-post-eievent-oadrrequestevent-ven.req [--n 2000] [--profile]

The request file is one the sweep wrote (`bench/run.py --scenario sweep --only oadrRequestEvent`):
its bodies are sent in turn, over and over. The database is copied first (the original is left as
it is), and the app is built as `vtn serve` builds it, with the read and grant caches off as in the
sweep's cache-off pass. Times are process time (all threads: the SQLite connection thread too) per
request, best of three rounds, so other work on a shared machine inflates them less than wall time.
`--out FILE` writes each distinct body's answer once (to compare two checkouts' bytes); `--profile`
prints the top functions of a cProfile run (the event loop's thread's CPU time only).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root instead of bench/ (whose profile.py would shadow the stdlib's, which cProfile needs).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def bodies(reqfile: Path) -> list[tuple[str, bytes]]:
    out = []
    for line in reqfile.read_text().splitlines():
        method, path, _headers, body = line.split("\t", 3)
        assert method == "POST"
        out.append((path.rsplit("/", 1)[-1], body.encode()))
    return out


async def main_async(args: argparse.Namespace) -> None:
    from vtn.app import build_app
    from vtn.config import VtnConfig
    from vtn.oadr20b.routes import SERVICE, add_routes
    from vtn.storage import open_store

    root = Path(tempfile.mkdtemp(prefix="oadr20b-request-cpu-"))
    db = root / "vtn.db"
    shutil.copy(args.db, db)
    url = f"sqlite:///{db}"
    store = open_store(url)
    try:
        config = VtnConfig(db_url=url, delivery_worker=False, read_cache_seconds=0, grant_cache_seconds=0)
        app = await build_app(config, store)
        add_routes(app)
        svc = app[SERVICE]
        reqs = bodies(Path(args.reqfile))
        answers: dict[bytes, bytes] = {}
        for service, body in reqs * 2:  # warm: memos filled, deliveries recorded
            answer = await svc.handle(service, body)
            if args.expect.encode() not in answer:
                raise SystemExit(f"unexpected answer: {answer[:600]!r}")
            answers[body] = answer

        async def one(i: int, n: int) -> None:
            for j in range(i, n, args.concurrency):
                service, body = reqs[j % len(reqs)]
                await svc.handle(service, body)

        async def run(n: int) -> float:
            start = time.process_time()
            await asyncio.gather(*(one(i, n) for i in range(args.concurrency)))
            return (time.process_time() - start) / n * 1e6

        rounds = [await run(args.n) for _ in range(3)]
        print(
            f"{args.reqfile}: {min(rounds):,.0f} µs/request (rounds {', '.join(f'{r:,.0f}' for r in rounds)})"
        )
        if args.out:
            Path(args.out).write_bytes(b"\n".join(answers[body] for _, body in reqs))
        if args.profile:
            prof = cProfile.Profile(time.thread_time)  # CPU, not wall: waits for the GIL do not count
            prof.enable()
            await run(args.n)
            prof.disable()
            pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)
    finally:
        await store.close()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, help="a sweep working database (copied, not changed)")
    p.add_argument("--reqfile", required=True, help="a 2.0b request file the sweep wrote")
    p.add_argument("--n", type=int, default=1000, help="requests per round (default 1000)")
    p.add_argument("--concurrency", type=int, default=1, help="requests under way at once (default 1)")
    p.add_argument("--expect", default="responseCode>200<", help="text every answer must hold")
    p.add_argument("--out", help="write each body's answer here (one per line, in file order)")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--sort", default="tottime", help="cProfile sort key (default tottime)")
    p.add_argument("--lines", type=int, default=40)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
