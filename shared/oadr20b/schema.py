"""The OpenADR 2.0b XSD set (schemas/oadr20b/), loaded once per owner and used in both directions.

lxml's XMLSchema compiles the 16 files in a few milliseconds. The schema files themselves are read
with the same hardened settings as messages (no network, no DTD loading): they are trusted, but
an import that points at the network must fail here rather than fetch anything.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from shared.oadr20b.errors import SchemaInvalid
from shared.oadr20b.xml import El

ROOT_XSD = "oadr_20b.xsd"
_MAX_DETAIL = 300


def default_schema_dir() -> Path:
    """`schemas/oadr20b` next to the `shared` package (the repository layout; see schemas/README.md)."""
    return Path(__file__).resolve().parents[2] / "schemas" / "oadr20b"


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
        detail = f"line {error.line}: {error.message}" if error is not None else "invalid document"
        raise SchemaInvalid(f"not valid OpenADR 2.0b: {detail}"[:_MAX_DETAIL])

    def is_valid(self, root: El) -> bool:
        return bool(self._schema.validate(root))
