"""What `vtn serve` sets up around the app: the plain health listener, the metrics directory."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from aiohttp import web

from vtn.config import VtnConfig
from vtn.observability.health import health_app

log = logging.getLogger("vtn")


def serve_metrics_dir(config: VtnConfig) -> Path | None:
    """Where this process keeps its metrics for the others sharing its port; None: in memory.

    `--reuse-port` processes must agree on it without talking: by default one per port, in the
    system's temporary directory.
    """
    if not config.metrics:
        return None
    if config.metrics_dir:
        return Path(config.metrics_dir)
    if config.reuse_port:
        return Path(tempfile.gettempdir()) / f"vtn-metrics-{config.port}"
    return None


async def start_health_listener(app: web.Application, config: VtnConfig) -> web.AppRunner | None:
    """Serve /health, /ready and /metrics of `app` over plain HTTP on `health_port` (if set)."""
    if not config.health_port:
        return None
    runner = web.AppRunner(health_app(app), access_log=None)
    await runner.setup()
    host = config.health_host or config.host
    site = web.TCPSite(runner, host, config.health_port, reuse_port=config.reuse_port)
    await site.start()
    log.info("health listener on http://%s:%d (/health, /ready, /metrics)", host, config.health_port)
    return runner
