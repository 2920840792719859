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


def make_app(body_bytes: int = 0, vtn_answer: bool = False) -> web.Application:
    """`body_bytes`: answer a JSON list of about this many bytes, built once (what the floor is for an
    answer of that size, e.g. a cached ~20 KB GET /events), instead of the small serialised one;
    `vtn_answer`: send it as the VTN does (vtn/http_answer.py Answer), not as aiohttp's Response
    (bench/answer_send.py)."""
    app = web.Application()
    if body_bytes:
        item = json.dumps(SMALL[0], separators=(",", ":"))
        big = ("[" + ",".join([item] * max(1, body_bytes // (len(item) + 1))) + "]").encode()
        if vtn_answer:
            from vtn.http_answer import Answer

            async def fixed(_: web.Request) -> web.StreamResponse:
                return Answer(big)

        else:

            async def fixed(_: web.Request) -> web.StreamResponse:
                return web.Response(body=big, content_type="application/json")

        app.router.add_get("/{tail:.*}", fixed)
    else:
        app.router.add_get("/{tail:.*}", small_json)
    return app


async def serve(
    host: str, port: int, reuse_port: bool = False, body_bytes: int = 0, vtn_answer: bool = False
) -> None:
    runner = web.AppRunner(make_app(body_bytes, vtn_answer), access_log=None)
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
    p.add_argument("--vtn-answer", action="store_true", help="send it as the VTN does (vtn/http_answer.py)")
    args = p.parse_args()
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        uvloop.install()
    asyncio.run(serve(args.host, args.port, args.reuse_port, args.body_bytes, args.vtn_answer))


if __name__ == "__main__":
    main()
