"""Size of what `pip install` put into a virtualenv, per distribution (README: VEN-only install).

    python3 -m venv /tmp/ven-only
    /tmp/ven-only/bin/pip install 'dist/energy_coordination-0.1.0-py3-none-any.whl[ven]'
    /tmp/ven-only/bin/python scripts/install_size.py

Counts every file each installed distribution lists in its RECORD, plus the bytecode pip compiled
for it; pip and setuptools (part of every new virtualenv) are left out.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

SKIP = {"pip", "setuptools", "wheel"}


def sizes() -> dict[str, tuple[int, int]]:
    """Distribution name -> (bytes of files, bytes of those files' __pycache__ entries)."""
    out: dict[str, tuple[int, int]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name.lower() in SKIP:
            continue
        files = pyc = 0
        for entry in dist.files or []:
            path = Path(str(dist.locate_file(entry)))
            if not path.is_file():
                continue
            if "__pycache__" in path.parts:
                pyc += path.stat().st_size
            else:
                files += path.stat().st_size
        out[name] = (files, pyc)
    return out


def main() -> None:
    table = sorted(sizes().items(), key=lambda kv: -sum(kv[1]))
    mb = 1024 * 1024
    for name, (files, pyc) in table:
        print(f"{name:<28} {files / mb:6.1f} MB  (+{pyc / mb:4.1f} MB bytecode)")
    files = sum(f for f, _ in dict(table).values())
    pyc = sum(p for _, p in dict(table).values())
    print(f"{'total':<28} {files / mb:6.1f} MB  (+{pyc / mb:4.1f} MB bytecode) = {(files + pyc) / mb:.1f} MB")


if __name__ == "__main__":
    main()
