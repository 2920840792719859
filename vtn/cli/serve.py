"""`vtn serve`: run the VTN (HTTP, or HTTPS with optional client certificates)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from vtn.app import build_app
from vtn.cli.common import CliError, add_db_option, database_errors, prepare_db_url
from vtn.cli.errors import listen_problem
from vtn.cli.supervise import supervise
from vtn.config import VtnConfig
from vtn.limits.server import make_runner
from vtn.observability import logs
from vtn.observability.listener import serve_metrics_dir, start_health_listener
from vtn.observability.metrics import enable_multiprocess
from vtn.proxy_tls import ForwardedCertificates
from vtn.storage import migrate, open_store
from vtn.tls_runtime import ServerTls

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

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
    p.add_argument(
        "--ca-dir", help="CA directory for certificate onboarding over the API (see docs/onboarding.md)"
    )
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING (default INFO)")
    p.add_argument("--log-format", choices=["text", "json"], help="log lines as text (default) or JSON")
    p.add_argument(
        "--health-port",
        type=int,
        help="also serve /health, /ready and /metrics over plain HTTP on this port (default: off)",
    )
    p.add_argument(
        "--intake-workers",
        type=int,
        help="worker processes validating report bodies on other cores (default 0: in this process)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        default=None,
        help="share the port with other VTN processes (SO_REUSEPORT)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="serving processes sharing the port (SO_REUSEPORT); about one per core (docs/deployment.md)",
    )
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
        "ca_dir": getattr(args, "ca_dir", None),
        "log_level": args.log_level,
        "log_format": getattr(args, "log_format", None),
        "health_port": getattr(args, "health_port", None),
        "reuse_port": args.reuse_port,
        "intake_workers": args.intake_workers,
    }
    if args.config is not None and not Path(args.config).is_file():
        raise CliError(f"no configuration file {args.config}: fix --config (see examples/vtn.toml)")
    try:
        config = VtnConfig.load(args.config, overrides=overrides)
    except OSError as exc:
        raise CliError(f"cannot read the configuration file {args.config}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CliError(f"bad configuration: {exc}") from exc
    if config.log_level.upper() not in LOG_LEVELS:
        raise CliError(
            f"bad configuration: log_level {config.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
        )
    return config


def _serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    logs.configure(config.log_level, logs.LogFormat(config.log_format))
    metrics_dir = serve_metrics_dir(config)
    if metrics_dir is not None:
        enable_multiprocess(metrics_dir)
    # Bad TLS files or settings stop here with a message, before anything listens.
    server_tls = _server_tls(config)
    if config.ca_dir is not None and not (Path(config.ca_dir) / "ca.crt").is_file():
        raise CliError(
            f"ca_dir {config.ca_dir}: no CA there (create one with `vtn ca init --dir {config.ca_dir}`)"
        )
    forwarded = _forwarded(config)
    if not 1 <= args.processes <= 256:
        raise CliError(f"--processes {args.processes}: give 1 to 256 (about one per core)")
    if args.processes > 1 and config.port == 0:
        raise CliError("--processes needs a fixed --port: port 0 would give each process its own")
    prepare_db_url(config.db_url)
    with database_errors(config.db_url):
        if not args.no_migrate:
            migrate.upgrade(config.db_url)
        if args.processes > 1:
            return supervise(args.argv, args.processes)
        asyncio.run(run(config, server_tls, forwarded))
    return 0


def _forwarded(config: VtnConfig) -> ForwardedCertificates | None:
    try:
        return ForwardedCertificates.from_config(config)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot set up the reverse-proxy mode: {exc}") from exc


def _server_tls(config: VtnConfig) -> ServerTls | None:
    try:
        return ServerTls.from_settings(config.tls)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise CliError(f"cannot set up TLS: {exc}") from exc


async def run(
    config: VtnConfig, server_tls: ServerTls | None = None, forwarded: ForwardedCertificates | None = None
) -> None:
    """Serve until cancelled: HTTPS when the config names a certificate and key, else HTTP."""
    if server_tls is None:
        server_tls = ServerTls.from_settings(config.tls)
    if forwarded is None:
        forwarded = ForwardedCertificates.from_config(config)
    store = open_store(config.db_url)
    try:
        app = await build_app(config, store)
    except BaseException:
        await store.close()
        raise
    if server_tls is not None:
        server_tls.install(app)
    if forwarded is not None:
        forwarded.install(app)
    # Everything loaded so far lives as long as the process: keep the collector from rescanning it,
    # and collect young objects less often (requests make many short-lived ones). Measured: 12-15 %
    # less CPU per report and half the p99 (bench/findings.md).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    # The access log is written by vtn.observability.http (route templates, request ids), not aiohttp;
    # header/body/idle timeouts and the connection cap: vtn/limits/server.py.
    runner = make_runner(app, config, access_log=None)
    await runner.setup()
    health_runner = await start_health_listener(app, config)
    ssl_context = server_tls.context if server_tls is not None else None
    # reuse_port lets several VTN processes share one port (scale-out on PostgreSQL).
    site = web.TCPSite(
        runner, config.host, config.port, ssl_context=ssl_context, reuse_port=config.reuse_port
    )
    try:
        await site.start()
    except OSError as exc:
        if health_runner is not None:
            await health_runner.cleanup()
        await runner.cleanup()
        await store.close()
        raise CliError(listen_problem(config.host, config.port, exc)) from exc
    loop = asyncio.get_running_loop()
    sighup = (server_tls is not None or forwarded is not None) and hasattr(signal, "SIGHUP")
    if sighup:
        # Reloads run on the event loop between connections; live connections stay up.
        loop.add_signal_handler(signal.SIGHUP, _reload, server_tls, forwarded)
    scheme = "https" if server_tls is not None else "http"
    port = runner.addresses[0][1] if runner.addresses else config.port  # the real one when port is 0
    log.info("VTN listening on %s://%s:%d%s", scheme, config.host, port, config.base_path)
    if server_tls is not None:
        log.info(
            "TLS: client certificates %s%s; SIGHUP reloads the certificate, key, client CA and CRL",
            server_tls.mode,
            f", CRL {config.tls.crl_file}" if config.tls.crl_file else "",
        )
    if forwarded is not None:
        log.info(
            "reverse-proxy mode: client certificates from %s header of %s",
            forwarded.header,
            ", ".join(str(n) for n in forwarded.networks),
        )
    stop = asyncio.Event()
    # SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush the delivery worker, close the store.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if sighup:
            loop.remove_signal_handler(signal.SIGHUP)
        if health_runner is not None:
            await health_runner.cleanup()
        await runner.cleanup()
        await store.close()


def _reload(server_tls: ServerTls | None, forwarded: ForwardedCertificates | None) -> None:
    if server_tls is not None:
        server_tls.reload_logged()
    if forwarded is not None:
        try:
            forwarded.reload()
        except (OSError, ValueError) as exc:
            log.error("reload of proxy_client_ca_file / proxy_crl_file failed, keeping the old ones: %s", exc)
