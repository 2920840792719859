"""The layers of docs/architecture.md, checked over the source tree with `ast` (no imports run).

Rules (each found by reading every .py file of the tree):
- shared/ imports neither vtn nor ven; ven/ never imports vtn.
- The VTN front-ends (vtn/handlers, vtn/oadr301, vtn/oadr20b) reach storage only through the core:
  they import neither vtn.storage nor sqlalchemy. The core and storage know no front-end (a
  front-end registers what the core needs of it, e.g. its notification renderer), and storage
  knows no core.
- SQL lives in vtn/storage/ (migrations included): no other product module imports sqlalchemy (but
  for its URL parser) or touches a connection (`.conn`, `exec_driver_sql`, `get_raw_connection`).
- Private modules (`_name`) stay private to their package, in the whole tree (tests and bench too).
- No code generated at run time: no exec(), eval() or compile() in product code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("shared", "vtn", "ven")
TREE = (*PRODUCT, "tests", "bench", "scripts")
FRONT_ENDS = ("vtn.handlers", "vtn.oadr301", "vtn.oadr20b", "vtn.programs", "vtn.console")
# What may be imported from sqlalchemy outside storage: a database URL parser, no SQL.
SQLALCHEMY_URL_ONLY = {("sqlalchemy.engine", "make_url"), ("sqlalchemy.engine.url", "make_url")}
CONNECTION_ATTRIBUTES = {"conn", "exec_driver_sql", "get_raw_connection", "driver_connection"}
GENERATED_CODE = {"exec", "eval", "compile"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the importing file
    module: str  # dotted name of what is imported (for `from m import n`: m, and m.n if a module)
    names: tuple[str, ...]
    line: int
    # `from m import n` is also recorded as an import of m.n, which counts only if m.n is a module.
    maybe_name: bool = False


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(roots: tuple[str, ...], root: Path = ROOT) -> Iterator[Path]:
    for top in roots:
        base = root / top
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if ".venv" not in p.parts)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(me, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(a.name for a in node.names)
            yield Import(me, base, names, node.lineno)
            for name in names:  # `from pkg import _private` imports a module as much as a name
                yield Import(me, f"{base}.{name}", (), node.lineno, maybe_name=True)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def private_module_violations(roots: tuple[str, ...] = TREE, root: Path = ROOT) -> list[str]:
    """Imports of a `_name` module by a module outside the package that holds it."""
    out = []
    for path in python_files(roots, root):
        for imp in imports_of(path, root):
            parts = imp.module.split(".")
            if parts[0] not in TREE:
                continue  # third-party packages' internals are their business (interop drivers)
            if imp.maybe_name and not _existing_module(imp.module, root):
                continue
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:i])
                    if not owner or not _within(imp.importer, owner):
                        out.append(f"{imp.importer}:{imp.line} imports private {'.'.join(parts[: i + 1])}")
                    break
    return sorted(set(out))


def _existing_module(dotted: str, root: Path) -> bool:
    rel = Path(*dotted.split("."))
    return (root / rel.with_suffix(".py")).exists() or (root / rel / "__init__.py").exists()


def forbidden_imports(importers: tuple[str, ...], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """Imports of a package in `forbidden` by modules under the packages `importers`."""
    out = []
    for path in python_files(tuple(p.split(".")[0] for p in importers), root):
        me = module_name(path, root)
        if not any(_within(me, p) for p in importers):
            continue
        for imp in imports_of(path, root):
            if imp.maybe_name and not _existing_module(imp.module, root):
                continue
            for bad in forbidden:
                if _within(imp.module, bad):
                    out.append(f"{me}:{imp.line} imports {imp.module}")
    return sorted(set(out))


def sql_outside_storage(root: Path = ROOT) -> list[str]:
    """sqlalchemy imports (but its URL parser) and connection use in product code outside storage."""
    out = []
    for path in python_files(PRODUCT, root):
        me = module_name(path, root)
        if _within(me, "vtn.storage"):
            continue
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.Import):
                out += [
                    f"{me}:{node.lineno} imports {a.name}"
                    for a in node.names
                    if _within(a.name, "sqlalchemy")
                ]
            elif isinstance(node, ast.ImportFrom) and _within(node.module or "", "sqlalchemy"):
                wanted = {(node.module, a.name) for a in node.names}
                if not wanted <= SQLALCHEMY_URL_ONLY:
                    out.append(f"{me}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in CONNECTION_ATTRIBUTES:
                out.append(f"{me}:{node.lineno} uses .{node.attr}")
    return sorted(set(out))


def generated_code(root: Path = ROOT) -> list[str]:
    """Calls of exec/eval/compile (builtins, not methods such as re.compile) in product code."""
    out = []
    for path in python_files(PRODUCT, root):
        me = module_name(path, root)
        for node in ast.walk(_parse(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GENERATED_CODE
            ):
                out.append(f"{me}:{node.lineno} calls {node.func.id}()")
    return sorted(set(out))


# ------------------------------------------------------------------------------------------ tests


def test_shared_imports_neither_vtn_nor_ven() -> None:
    assert forbidden_imports(("shared",), ("vtn", "ven")) == []


def test_ven_never_imports_vtn() -> None:
    assert forbidden_imports(("ven",), ("vtn",)) == []


def test_front_ends_reach_storage_only_through_the_core() -> None:
    assert forbidden_imports(FRONT_ENDS, ("vtn.storage", "sqlalchemy")) == []


def test_core_and_storage_know_no_front_end() -> None:
    assert forbidden_imports(("vtn.core", "vtn.services", "vtn.storage"), FRONT_ENDS) == []
    assert forbidden_imports(("vtn.storage",), ("vtn.core", "vtn.services")) == []


def test_sql_and_connections_only_in_storage() -> None:
    assert sql_outside_storage() == []


def test_private_modules_stay_in_their_package() -> None:
    assert private_module_violations() == []


def test_no_generated_code() -> None:
    assert generated_code() == []


# The checks themselves, on a small tree that breaks each rule once: a rule that cannot fail is none.


def _tree(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp


def test_each_check_finds_what_it_forbids(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "shared/__init__.py": "",
            "shared/model.py": "from vtn.core import state\n",
            "ven/__init__.py": "",
            "ven/agent.py": "import vtn.app\n",
            "vtn/__init__.py": "",
            "vtn/storage/__init__.py": "from sqlalchemy import select\n",
            "vtn/storage/_rows.py": "",
            "vtn/handlers/__init__.py": "",
            "vtn/handlers/events.py": "from vtn.storage import _rows\nfrom vtn.storage.filters import Page\n",
            "vtn/handlers/_http.py": "",
            "vtn/oadr20b/__init__.py": "",
            "vtn/oadr20b/store.py": "from sqlalchemy import select\n\n\ndef f(tx):\n    tx.conn.run()\n",
            "vtn/oadr301/__init__.py": "",
            "vtn/oadr301/io.py": "from vtn.handlers._http import state\nfrom ..handlers import _http\n",
            "vtn/services/__init__.py": "",
            "vtn/services/notifier.py": "from vtn.oadr301 import io\n",
            "vtn/cli/__init__.py": "",
            "vtn/cli/common.py": "from sqlalchemy.engine import make_url\nimport re\nre.compile('x')\n",
            "vtn/codegen.py": "exec('x = 1')\nns = eval('1')\n",
        },
    )
    assert forbidden_imports(("shared",), ("vtn", "ven"), root) == ["shared.model:1 imports vtn.core"]
    assert forbidden_imports(("ven",), ("vtn",), root) == ["ven.agent:1 imports vtn.app"]
    assert forbidden_imports(FRONT_ENDS, ("vtn.storage", "sqlalchemy"), root) == [
        "vtn.handlers.events:1 imports vtn.storage",
        "vtn.handlers.events:1 imports vtn.storage._rows",
        "vtn.handlers.events:2 imports vtn.storage.filters",
        "vtn.oadr20b.store:1 imports sqlalchemy",
    ]
    assert forbidden_imports(("vtn.services",), FRONT_ENDS, root) == [
        "vtn.services.notifier:1 imports vtn.oadr301",
        "vtn.services.notifier:1 imports vtn.oadr301.io",
    ]
    assert sql_outside_storage(root) == [
        "vtn.oadr20b.store:1 imports sqlalchemy",
        "vtn.oadr20b.store:5 uses .conn",
    ]
    assert private_module_violations(PRODUCT, root) == [
        "vtn.handlers.events:1 imports private vtn.storage._rows",
        "vtn.oadr301.io:1 imports private vtn.handlers._http",
        "vtn.oadr301.io:2 imports private vtn.handlers._http",
    ]
    assert generated_code(root) == ["vtn.codegen:1 calls exec()", "vtn.codegen:2 calls eval()"]
