"""Disk footprint of a VEN-only install: the wheel without dependencies plus the VEN's own list.

(bench/ven_footprint.py measures the running agent: resident memory and idle CPU. This one measures
what `pip install` puts on a gateway's disk.)

Builds the wheel of this checkout, makes a fresh virtualenv, installs the wheel with --no-deps and
then only the VEN's runtime dependencies (VEN_DEPS; pip resolves their own dependencies), and
reports `du` of site-packages: in total, without the virtualenv's own pip/setuptools, and without
the 2.0b stack (lxml, signxml). Needs the package index (PyPI or a mirror).

    python bench/ven_install_size.py [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 60.0

# What ven/ and the shared/ modules it uses import (tests/ven/test_ven_imports.py keeps the server
# stack out): HTTP client and webhook receiver, wire models, 3.1 schema validation, JSON parsing,
# TLS and certificates, the 2.0b XML stack, and the MQTT client for `events.mode = "mqtt"`.
VEN_DEPS = [
    "aiohttp>=3.12",
    "pydantic>=2.11",
    "jsonschema-rs>=0.61,<0.62",
    "orjson>=3.9",
    "cryptography>=42",
    "lxml>=5",
    "signxml>=5.0",
    "aiomqtt>=2.5,<3",
]
TOOLING = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")
OADR20B = ("lxml", "signxml")


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def _kib(paths: list[Path]) -> int:
    if not paths:
        return 0
    out = _run("du", "-sc", "--block-size=1K", *paths)
    return int(out.strip().splitlines()[-1].split()[0])


def _matching(site: Path, names: tuple[str, ...]) -> list[Path]:
    return [
        p for p in site.iterdir() if p.name.split("-")[0].split(".")[0].lower() in names or p.name in names
    ]


def measure(work: Path) -> dict[str, float | list[str]]:
    wheels = work / "wheel"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ROOT)
    (wheel,) = wheels.glob("*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip = venv / "bin" / "pip"
    _run(pip, "install", "-q", "--no-deps", wheel)
    _run(pip, "install", "-q", *VEN_DEPS)
    site = Path(_run(venv / "bin" / "python", "-c", "import site; print(site.getsitepackages()[0])").strip())
    total = _kib([site])
    tooling = _kib(_matching(site, TOOLING))
    oadr20b = _kib(_matching(site, OADR20B))
    installed = _run(pip, "list", "--format=freeze").split()
    return {
        "site_packages_mb": round(total / 1024, 1),
        "without_pip_setuptools_mb": round((total - tooling) / 1024, 1),
        "without_2_0b_stack_mb": round((total - tooling - oadr20b) / 1024, 1),
        "packages": [p for p in installed if p.split("==")[0].lower() not in ("pip", "setuptools")],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build in DIR and keep it (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        doc = measure(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="ven-size-") as tmp:
            doc = measure(Path(tmp))
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"site-packages, fresh venv:        {doc['site_packages_mb']} MB")
    bare = doc["without_pip_setuptools_mb"]
    print(f"  without the venv's pip/setuptools: {bare} MB (target {TARGET_MB:g} MB)")
    print(f"  and without lxml/signxml (2.0b):   {doc['without_2_0b_stack_mb']} MB")
    print("packages: " + " ".join(str(p) for p in doc["packages"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
