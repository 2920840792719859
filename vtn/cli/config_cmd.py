"""`vtn config reference`: the configuration reference, generated from the config model.

Every key of `VtnConfig` (and its `[tls]` section and the external-issuer `jwt_*` keys) with its
type, default, environment variable and the comment written above it in vtn/config.py. The
committed docs/config-reference.md is this command's output; a test keeps the two equal.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
from pathlib import Path
from typing import Any

from vtn.config import EXTERNAL_KEYS, ExternalIssuer, TlsSettings, VtnConfig

HEADER = """# Configuration reference

Generated from `vtn/config.py` by `vtn config reference > docs/config-reference.md`; do not edit by
hand (a test checks that this file is current).

Each key can be set in a TOML file (`vtn serve --config FILE`), in the environment (`VTN_` + the key
in upper case) or, for some, by a `vtn serve` flag; flags win over the environment, which wins over
the file. Keys of the `[tls]` section are written `tls_<key>` in the environment (`VTN_TLS_CERT_FILE`).
Lists come from the environment as comma-separated text.
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cfg = sub.add_parser("config", help="configuration tools")
    csub = cfg.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    ref = csub.add_parser("reference", help="print the configuration reference (Markdown)")
    ref.set_defaults(func=_reference)


def _comments(cls: type) -> dict[str, str]:
    """The comment block above each field of a dataclass, from its source.

    A comment above a run of fields describes the whole run: fields without a comment of their
    own point to the first field of their run.
    """
    source = inspect.getsource(cls)
    lines = source.splitlines()
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    found: dict[str, str] = {}
    group: str | None = None
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            group = None
            continue
        above: list[str] = []
        row = node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#"):
            above.insert(0, lines[row].strip().lstrip("#").strip())
            row -= 1
        trailing = lines[node.lineno - 1].split("  # ", 1)
        if len(trailing) == 2:
            above.append(trailing[1].strip())
        if above:
            found[node.target.id] = " ".join(above)
            group = node.target.id
        elif group is not None:
            found[node.target.id] = f"see `{group}`"
    return found


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        return "(section)"
    else:
        return "unset"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return f"`{value}`" if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows() -> list[tuple[str, str, str, str, str]]:
    """(key, type, default, environment variable, description) for every configuration key."""
    out: list[tuple[str, str, str, str, str]] = []
    notes = _comments(VtnConfig)
    for f in dataclasses.fields(VtnConfig):
        if f.name in ("tls", "external_issuer"):
            continue
        out.append((f.name, str(f.type), _default(f), f"VTN_{f.name.upper()}", notes.get(f.name, "")))
    tls_notes = _comments(TlsSettings)
    for f in dataclasses.fields(TlsSettings):
        key = f"tls_{f.name}"
        note = tls_notes.get(f.name, "") or "TLS listener setting (see docs/onboarding.md)"
        out.append((f"[tls] {f.name}", str(f.type), _default(f), f"VTN_{key.upper()}", note))
    ext_notes = _comments(ExternalIssuer)
    ext_fields = {f.name: f for f in dataclasses.fields(ExternalIssuer)}
    for key in sorted(EXTERNAL_KEYS):
        name = key.removeprefix("jwt_")
        field = ext_fields[name]
        note = ext_notes.get(name, "") or "external token issuer (set jwt_public_key_file to turn it on)"
        out.append((key, str(field.type), _default(field), f"VTN_{key.upper()}", note))
    return out


def reference() -> str:
    lines = [HEADER, "| key | type | default | environment | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, kind, default, env, note in rows():
        lines.append(f"| `{key}` | {_cell(kind)} | {_cell(default)} | `{env}` | {_cell(note)} |")
    return "\n".join(lines) + "\n"


def _reference(args: argparse.Namespace) -> int:
    print(reference(), end="")
    return 0


def reference_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "config-reference.md"
