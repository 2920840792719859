"""`vtn serve`: run the VTN (HTTP, or HTTPS with optional client certificates)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from aiohttp import web

from vtn.app import build_app
from vtn.cli.common import CliError, add_db_option
from vtn.config import VtnConfig
from vtn.storage import migrate, open_store

log = logging.getLogger("vtn")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("serve", help="run the VTN server")
    p.add_argument(
        "--config", metavar="FILE", help="TOML configuration file (environment VTN_* overrides it)"
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")
    add_db_option(p)
    p.add_argument("--no-migrate", action="store_true", help="do not apply schema migrations at start")
    p.add_argument("--tls-cert", help="server certificate (PEM); enables HTTPS")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--client-ca", help="CA bundle that client certificates must chain to")
    p.add_argument(
        "--client-cert", choices=["none", "optional", "required"], help="client certificate policy"
    )
    p.add_argument("--crl", help="certificate revocation list (PEM), reloaded on SIGHUP")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING (default INFO)")
    p.set_defaults(func=_serve)


def config_from_args(args: argparse.Namespace) -> VtnConfig:
    overrides = {
        "host": args.host,
        "port": args.port,
        "db_url": args.db,
        "tls_cert_file": args.tls_cert,
        "tls_key_file": args.tls_key,
        "tls_client_ca_file": args.client_ca,
        "tls_client_cert": args.client_cert,
        "tls_crl_file": args.crl,
        "log_level": args.log_level,
    }
    try:
        return VtnConfig.load(args.config, overrides=overrides)
    except (OSError, ValueError) as exc:
        raise CliError(f"bad configuration: {exc}") from exc


def _serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.no_migrate:
        migrate.upgrade(config.db_url)
    asyncio.run(run(config))
    return 0


async def run(config: VtnConfig) -> None:
    """Serve until cancelled."""
    store = open_store(config.db_url)
    app = await build_app(config, store)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_port=None)
    await site.start()
    log.info("VTN listening on http://%s:%d%s", config.host, config.port, config.base_path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await store.close()
