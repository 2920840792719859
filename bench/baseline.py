"""The bare-aiohttp baseline: the fastest a one-process aiohttp server answers a small JSON GET here.

Run as its own process (`python bench/baseline.py --port P`), loaded exactly like the VTN (same
load generator, connections, paths and Authorization headers), so that VTN/baseline is a ratio that
holds on a noisy machine. Access logging is off, as in `vtn serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiohttp import web

SMALL = [{"id": f"e{i}", "objectType": "EVENT", "eventName": f"event-{i}", "priority": i} for i in range(3)]


async def small_json(_: web.Request) -> web.Response:
    # Serialised per request, like any JSON handler would.
    return web.Response(
        body=json.dumps(SMALL, separators=(",", ":")).encode(), content_type="application/json"
    )


class _HeadFirst(web.Response):
    # What vtn/handlers/http_io.py HeadFirst does: headers, then body, each in its own write.
    _send_headers_immediately = True


def make_app(body_bytes: int = 0, head_first: bool = False) -> web.Application:
    """`body_bytes`: answer a JSON list of about this many bytes, built once (what the floor is for an
    answer of that size, e.g. a cached ~20 KB GET /events), instead of the small serialised one;
    `head_first`: send its headers before it, not joined with it (bench/answer_send.py)."""
    app = web.Application()
    if body_bytes:
        item = json.dumps(SMALL[0], separators=(",", ":"))
        big = ("[" + ",".join([item] * max(1, body_bytes // (len(item) + 1))) + "]").encode()
        answer = _HeadFirst if head_first else web.Response

        async def fixed(_: web.Request) -> web.Response:
            return answer(body=big, content_type="application/json")

        app.router.add_get("/{tail:.*}", fixed)
    else:
        app.router.add_get("/{tail:.*}", small_json)
    return app


async def serve(
    host: str, port: int, reuse_port: bool = False, body_bytes: int = 0, head_first: bool = False
) -> None:
    runner = web.AppRunner(make_app(body_bytes, head_first), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--reuse-port", action="store_true", help="share the port (bench/scaleout_bare.py)")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop (for comparisons)")
    p.add_argument("--body-bytes", type=int, default=0, help="answer a prebuilt JSON list of about this size")
    p.add_argument("--head-first", action="store_true", help="send its headers before it, not joined")
    args = p.parse_args()
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        uvloop.install()
    asyncio.run(serve(args.host, args.port, args.reuse_port, args.body_bytes, args.head_first))


if __name__ == "__main__":
    main()
