"""`vtn clients add|list|remove`: OAuth2 client credentials for BL and VEN partners."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta
from typing import Any

from shared.enums import Role
from shared.errors import Conflict
from vtn.cli.common import CliError, add_db_option, database_errors, resolve_db_url
from vtn.storage import Store, open_store


def register(sub: argparse._SubParsersAction[Any]) -> None:
    clients = sub.add_parser("clients", help="manage OAuth2 client credentials")
    csub = clients.add_subparsers(dest="clients_command", required=True, metavar="COMMAND")

    add = csub.add_parser("add", help="create a client and print its id and secret (shown once)")
    add_db_option(add)
    add.add_argument("--name", required=True, help="unique human name of the client")
    add.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help="bl (utility) or ven (partner)"
    )
    add.add_argument("--client-id", help="choose the client id (default: generated)")
    add.add_argument(
        "--cert-fingerprint", help="SHA-256 fingerprint of the client's TLS certificate (mTLS identity)"
    )
    add.add_argument(
        "--sandbox",
        action="store_true",
        help="a partner's sandbox client (ven only): may trigger simulated events (docs/sandbox.md)",
    )
    add.add_argument(
        "--json", action="store_true", help='print exactly {"client_id": ..., "client_secret": ...}'
    )
    add.set_defaults(func=_add)

    lst = csub.add_parser("list", help="list clients (never secrets)")
    add_db_option(lst)
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(func=_list)

    rm = csub.add_parser("remove", help="remove a client by id or name; its tokens stop working at once")
    add_db_option(rm)
    rm.add_argument("client", help="client id or name")
    rm.set_defaults(func=_remove)

    rot = csub.add_parser(
        "rotate", help="give a client a new secret (shown once); the old one works for a grace period"
    )
    add_db_option(rot)
    rot.add_argument("client", help="client id or name")
    rot.add_argument(
        "--grace-hours",
        type=float,
        default=24.0,
        help="hours the old secret keeps working, so the partner can switch (default 24; 0: none)",
    )
    rot.add_argument(
        "--json", action="store_true", help='print exactly {"client_id": ..., "client_secret": ...}'
    )
    rot.set_defaults(func=_rotate)


def _run(url: str, work: Any) -> Any:
    async def go() -> Any:
        store = open_store(url)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        with database_errors(url):
            return asyncio.run(go())
    except Conflict as exc:
        raise CliError(str(exc)) from exc


def _add(args: argparse.Namespace) -> int:
    if args.sandbox and Role(args.role) is not Role.VEN:
        raise CliError("--sandbox is for VEN clients: use --role ven")

    async def work(store: Store) -> Any:
        async with store.transaction() as tx:
            return await tx.clients.add(
                args.name,
                Role(args.role),
                client_id=args.client_id,
                cert_fingerprint=args.cert_fingerprint,
                sandbox=args.sandbox,
            )

    new = _run(resolve_db_url(args), work)
    if args.json:
        print(json.dumps({"client_id": new.record.client_id, "client_secret": new.secret}))
    else:
        sandbox = ", sandbox" if new.record.sandbox else ""
        print(f"client {new.record.name!r} ({new.record.role.value}{sandbox})")
        print(f"  client_id:     {new.record.client_id}")
        print(f"  client_secret: {new.secret}")
        print("Store the secret now: it is not shown again.")
    return 0


def _list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> Any:
        async with store.read() as tx:
            return await tx.clients.list()

    records = _run(resolve_db_url(args, create=False), work)
    rows = [
        {
            "client_id": r.client_id,
            "name": r.name,
            "role": r.role.value,
            "cert_fingerprint": r.cert_fingerprint,
            "created": r.created.isoformat(),
            "sandbox": r.sandbox,
        }
        for r in records
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            mark = "  (sandbox)" if row["sandbox"] else ""
            print(f"{row['client_id']:<28} {row['role']:<4} {row['name']}{mark}")
        if not rows:
            print("no clients; add one with `vtn clients add --name NAME --role bl|ven`")
    return 0


def _remove(args: argparse.Namespace) -> int:
    async def work(store: Store) -> Any:
        async with store.transaction() as tx:
            return await tx.clients.remove(args.client)

    if not _run(resolve_db_url(args, create=False), work):
        raise CliError(f"no client with id or name {args.client!r}")
    print(f"removed {args.client}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    if args.grace_hours < 0:
        raise CliError("--grace-hours must be 0 or more")

    async def work(store: Store) -> Any:
        until = store.clock() + timedelta(hours=args.grace_hours)
        async with store.transaction() as tx:
            return await tx.clients.rotate(args.client, until)

    new = _run(resolve_db_url(args), work)
    if new is None:
        raise CliError(f"no client with id or name {args.client!r}")
    if args.json:
        print(json.dumps({"client_id": new.record.client_id, "client_secret": new.secret}))
    else:
        print(f"client {new.record.name!r}: new secret")
        print(f"  client_id:     {new.record.client_id}")
        print(f"  client_secret: {new.secret}")
        if new.record.previous_until is not None:
            print(f"The old secret works until {new.record.previous_until:%Y-%m-%d %H:%M} UTC.")
        print("Store the secret now: it is not shown again.")
    return 0
