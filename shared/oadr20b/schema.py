"""The OpenADR 2.0b XSD set (shared/schemas/oadr20b/, package data), loaded once per owner.

It is used in both directions. lxml's XMLSchema compiles the 16 files in a few milliseconds and says
where a document fails: a refusal names the failing element's path and line, with namespaces as
prefixes (`ei:venID`, not `{http://docs.oasis-open.org/ns/energyinterop/201110}venID`). That is what
the `xmlschema` package would have added; it takes 0.7 s of CPU to load this set and ~190 µs to check
an oadrPoll that lxml checks in ~1.5 µs, so it is not used. The schema files themselves are read
with the same hardened settings as messages (no network, no DTD loading): they are trusted, but
an import that points at the network must fail here rather than fetch anything.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from shared.oadr20b.errors import SchemaInvalid
from shared.oadr20b.namespaces import DS, NSMAP
from shared.oadr20b.xml import El
from shared.resources import schema_dir

ROOT_XSD = "oadr_20b.xsd"
_MAX_DETAIL = 300
_CLARK = re.compile(r"\{([^}]*)\}")
_PREFIXES = {uri: prefix for prefix, uri in {**NSMAP, "ds": DS}.items()}


def default_schema_dir() -> Path:
    """`schemas/oadr20b` of the installed `shared` package (see shared/schemas/README.md)."""
    return schema_dir() / "oadr20b"


class Oadr20bSchema:
    """Validates `oadr:oadrPayload` documents; raise SchemaInvalid (response code 454) on failure."""

    def __init__(self, schema_dir: Path | None = None) -> None:
        self.schema_dir = schema_dir or default_schema_dir()
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        doc = etree.parse(str(self.schema_dir / ROOT_XSD), parser)
        self._schema = etree.XMLSchema(doc)

    def validate(self, root: El) -> None:
        if self._schema.validate(root):
            return
        error = self._schema.error_log.last_error
        if error is None:
            raise SchemaInvalid("not valid OpenADR 2.0b")
        where = f" at {error.path}" if error.path else ""
        raise SchemaInvalid(
            f"not valid OpenADR 2.0b{where} (line {error.line}): {_prefixed(error.message)}"[:_MAX_DETAIL]
        )

    def is_valid(self, root: El) -> bool:
        return bool(self._schema.validate(root))


def _prefixed(message: str) -> str:
    """libxml2's message with our prefixes instead of Clark notation ({uri}name -> ei:name)."""
    return _CLARK.sub(
        lambda m: f"{_PREFIXES[m.group(1)]}:" if m.group(1) in _PREFIXES else m.group(0), message
    )
