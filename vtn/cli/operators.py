"""`vtn operators add|list|remove`: console operators, people who log in to /console/ with a password."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from shared.durations import to_us
from shared.enums import OperatorRole
from vtn.auth.passwords import MIN_LENGTH, hash_password
from vtn.cli.clients import _run
from vtn.cli.common import CliError, add_db_option, resolve_db_url
from vtn.storage import Store


def register(sub: argparse._SubParsersAction[Any]) -> None:
    ops = sub.add_parser("operators", help="manage operator console accounts (people, not OAuth clients)")
    osub = ops.add_subparsers(dest="operators_command", required=True, metavar="COMMAND")

    add = osub.add_parser("add", help="create an operator; the password is prompted for")
    add_db_option(add)
    add.add_argument("name", help="login name")
    add.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in OperatorRole],
        help="viewer reads; operator also writes events; admin also manages clients",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    add.set_defaults(func=_add)

    lst = osub.add_parser("list", help="list operators (never passwords)")
    add_db_option(lst)
    lst.set_defaults(func=_list)

    rm = osub.add_parser("remove", help="remove an operator and end their sessions")
    add_db_option(rm)
    rm.add_argument("name")
    rm.set_defaults(func=_remove)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise CliError("the two passwords differ; run the command again")
    if len(password) < MIN_LENGTH:
        raise CliError(f"the password must have at least {MIN_LENGTH} characters")
    return password


def _add(args: argparse.Namespace) -> int:
    url = resolve_db_url(args)
    hashed = hash_password(_password(args))

    async def work(store: Store) -> Any:
        async with store.transaction() as tx:
            now_us = to_us(store.clock())
            return await tx.operators().add(args.name, OperatorRole(args.role), hashed, now_us)

    record = _run(url, work)
    print(f"operator {record.name!r} ({record.role.value}) added")
    return 0


def _list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> Any:
        async with store.read() as tx:
            return await tx.operators().list()

    for op in _run(resolve_db_url(args), work):
        locked = " (locked)" if op.locked_until_us else ""
        print(f"{op.name}\t{op.role.value}{locked}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    async def work(store: Store) -> Any:
        async with store.transaction() as tx:
            return await tx.operators().remove(args.name)

    if not _run(resolve_db_url(args), work):
        raise CliError(f"no operator named {args.name!r}; see `vtn operators list`")
    print(f"operator {args.name!r} removed")
    return 0
