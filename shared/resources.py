"""Where the data files that ship inside the package are: the schemas (shared/schemas/, see its README).

They are package data, found through importlib.resources, so an installed wheel finds them wherever it
was installed, not only a checkout. The XSD set includes and imports files by relative name, which
lxml resolves on disk: a wheel unpacks to files, and a zipped install is refused with a clear message.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["schema_dir"]


def schema_dir() -> Path:
    """`shared/schemas` of the installed (or checked-out) package, as a directory on disk."""
    root = files("shared").joinpath("schemas")
    if not isinstance(root, Path) or not root.is_dir():
        # `shared` may be a namespace merged from several directories (an editable install's finder
        # plus a tests/shared directory on sys.path): files() then names the first one. The package
        # directory is the one holding this module.
        root = Path(__file__).resolve().parent / "schemas"
    if not root.is_dir():
        raise FileNotFoundError(
            f"the schemas of package 'shared' are not a directory on disk ({root}); "
            "install the package unzipped (pip install does)"
        )
    return root
