"""`ven run` and `ven status`: the agent on a partner gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ven.cli.errors import UserError, explain_start_failure
from ven.config import ConfigError, VenConfig


def register(sub: argparse._SubParsersAction[Any]) -> None:
    run = sub.add_parser("run", help="run the VEN agent (onboard, follow events, drive devices, report)")
    run.add_argument("--config", required=True, metavar="FILE", help="ven.toml (see examples/ven-*.toml)")
    run.add_argument("--log-level", help="DEBUG, INFO, WARNING (default: from the config, else INFO)")
    run.set_defaults(func=_run)
    status = sub.add_parser("status", help="show onboarding state, current/next intervals, outbox depth")
    status.add_argument("--config", required=True, metavar="FILE", help="the agent's ven.toml")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.set_defaults(func=_status)


def _load(path: str) -> VenConfig:
    try:
        return VenConfig.load(path)
    except ConfigError as exc:
        raise UserError(f"bad configuration in {path}: {exc}", 2) from exc


def _run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    level = (args.log_level or config.log_level).upper()
    logging.basicConfig(level=level, format=f"%(asctime)s {config.ven_name} %(levelname)s %(message)s")
    from ven.adapters.registry import AdapterError
    from ven.agent import build_agent

    try:
        agent = build_agent(config)
    except (AdapterError, ValueError, OSError) as exc:  # adapter options; OSError: a TLS file
        raise UserError(f"bad configuration in {args.config}: {_reason(exc)}", 2) from exc
    try:
        asyncio.run(_until_signalled(agent.run()))
    except Exception as exc:
        raise explain_start_failure(exc, config) from exc
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _status(args: argparse.Namespace) -> int:
    config = _load(args.config)
    path = Path(config.state_dir) / "status.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise UserError(
            f"no status yet in {path}: has `ven run --config {args.config}` been started?"
        ) from exc
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot read {path} ({exc}): run `ven run --config {args.config}` to rewrite it"
        ) from exc
    from ven.outbox import ReportOutbox

    outbox = ReportOutbox(config.state_dir)
    doc["outboxDepth"] = outbox.depth()
    doc["reports"] = outbox.counts()
    outbox.close()
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    state = f"onboarded as {doc['venID']}" if doc["onboarded"] else "not onboarded"
    print(f"VEN {doc['venName']}: {state}")
    print(f"  resources:    {', '.join(doc['resources']) or '-'}")
    print(
        f"  last contact: {doc['lastContact'] or 'never'}"
        + (f"  (last error: {doc['lastError']})" if doc["lastError"] else "")
    )
    print(f"  outbox:       {doc['outboxDepth']} pending; {doc['reports']}")
    for title, key in (("current", "current"), ("next", "next")):
        items = doc[key]
        print(f"  {title}: " + ("none" if not items else ""))
        for item in items:
            span = f"{item['start']} .. {item['end']}"
            print(f"    event {item['eventID']} interval {item['intervalID']} {span} {item['signals']}")
    return 0


async def _until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run `work`; SIGTERM/SIGINT cancel it so the agent stops cleanly (status written, outbox closed)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
