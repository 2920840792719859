"""`vtn areas add|list|members|remove`: grid areas and their members (program automation)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared.errors import OadrError
from vtn.cli.common import CliError, add_db_option, resolve_db_url
from vtn.cli.core_session import standalone_core
from vtn.core.core import Core
from vtn.programs import areas as svc
from vtn.programs.areas import AreaKind, AreaRecord, MemberKind
from vtn.programs.routes import area_json, members_json

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("areas", help="grid areas (neighbourhood, feeder, substation) and their members")
    asub = parser.add_subparsers(dest="areas_command", required=True, metavar="COMMAND")

    add = asub.add_parser("add", help="create an area")
    add_db_option(add)
    add.add_argument("name", help="area name; also the target value granted to its members")
    add.add_argument("--kind", required=True, choices=[k.value for k in AreaKind])
    add.add_argument("--import-kw", type=float, required=True, help="import capacity in kW")
    add.add_argument("--export-kw", type=float, default=0.0, help="export capacity in kW (default 0)")
    add.set_defaults(func=_add)

    lst = asub.add_parser("list", help="list areas")
    add_db_option(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_list)

    mem = asub.add_parser("members", help="show an area's members, or grant/withdraw membership")
    add_db_option(mem)
    mem.add_argument("name")
    mem.add_argument("--add-ven", action="append", default=[], metavar="VEN_NAME")
    mem.add_argument("--remove-ven", action="append", default=[], metavar="VEN_NAME")
    mem.add_argument("--add-resource", action="append", default=[], metavar="VEN_NAME/RESOURCE_NAME")
    mem.add_argument("--remove-resource", action="append", default=[], metavar="VEN_NAME/RESOURCE_NAME")
    mem.add_argument("--json", action="store_true")
    mem.set_defaults(func=_members)

    rm = asub.add_parser("remove", help="remove an area and withdraw its target from its members")
    add_db_option(rm)
    rm.add_argument("name")
    rm.set_defaults(func=_remove)


def run_with_core(args: argparse.Namespace, work: Callable[[Core], Awaitable[T]]) -> T:
    """Run `work` on a core over --db; API errors and a missing schema become one-line CLI errors."""
    url = resolve_db_url(args)

    async def go() -> T:
        async with standalone_core(url) as core:
            return await work(core)

    try:
        return asyncio.run(go())
    except OadrError as exc:
        raise CliError(exc.detail or exc.title) from exc
    except Exception as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise CliError(
                f"the database at {url} has no current VTN schema: run `vtn db upgrade --db {url}`"
            ) from exc
        raise


def _add(args: argparse.Namespace) -> int:
    async def work(core: Core) -> AreaRecord:
        return await svc.add_area(core, args.name, AreaKind(args.kind), args.import_kw, args.export_kw)

    area = run_with_core(args, work)
    print(f"area {area.name!r} ({area.kind}): import {area.import_kw:g} kW, export {area.export_kw:g} kW")
    return 0


def _list(args: argparse.Namespace) -> int:
    found = run_with_core(args, svc.list_areas)
    if args.json:
        print(json.dumps([area_json(a) for a in found]))
        return 0
    for a in found:
        print(f"{a.name:<24} {a.kind:<13} import {a.import_kw:>9g} kW  export {a.export_kw:>9g} kW")
    if not found:
        print("no areas; add one with `vtn areas add NAME --kind feeder --import-kw KW`")
    return 0


def _members(args: argparse.Namespace) -> int:
    changes = [
        *[(MemberKind.VEN, n, True) for n in args.add_ven],
        *[(MemberKind.VEN, n, False) for n in args.remove_ven],
        *[(MemberKind.RESOURCE, n, True) for n in args.add_resource],
        *[(MemberKind.RESOURCE, n, False) for n in args.remove_resource],
    ]

    async def work(core: Core) -> svc.Members:
        for kind, name, member in changes:
            await svc.set_member(core, args.name, kind, name, member=member)
        return await svc.members(core, args.name)

    found = run_with_core(args, work)
    if args.json:
        print(json.dumps(members_json(found)))
        return 0
    for v in found.vens:
        print(f"ven       {v.ven_name}")
    for r in found.resources:
        print(f"resource  {r.resource_name} (venID {r.ven_id})")
    if not found.vens and not found.resources:
        print(f"area {args.name!r} has no members; add one with `--add-ven VEN_NAME`")
    return 0


def _remove(args: argparse.Namespace) -> int:
    async def work(core: Core) -> None:
        await svc.remove_area(core, args.name)

    run_with_core(args, work)
    print(f"removed area {args.name}")
    return 0
