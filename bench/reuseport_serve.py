"""Run the VTN with SO_REUSEPORT so that several processes share one port (scale-out scenario).

`vtn serve` binds with `reuse_port=None`, so a second process on the same port fails with
EADDRINUSE. Until it grows a `--reuse-port` option this wrapper does what it does
(`vtn.cli.serve.run`), the only difference being `TCPSite(..., reuse_port=True)`; the kernel then
spreads new connections over the processes. Used for both the one- and two-process runs, so the
comparison is like for like.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web

from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store


async def run(config: VtnConfig) -> None:
    store = open_store(config.db_url)
    app = await build_app(config, store)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port, reuse_port=True).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--uvloop", action="store_true", help="run on uvloop (for comparisons)")
    args = p.parse_args()
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        uvloop.install()
    config = VtnConfig.load(overrides={"db_url": args.db, "host": args.host, "port": args.port})
    logging.basicConfig(level=config.log_level.upper())
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
