"""The XML namespaces of OpenADR 2.0b and the prefixes we write them with (`ns("ei", "venID")`)."""

from __future__ import annotations

from typing import Final

OADR: Final = "http://openadr.org/oadr-2.0b/2012/07"
EI: Final = "http://docs.oasis-open.org/ns/energyinterop/201110"
PYLD: Final = "http://docs.oasis-open.org/ns/energyinterop/201110/payloads"
EMIX: Final = "http://docs.oasis-open.org/ns/emix/2011/06"
POWER: Final = "http://docs.oasis-open.org/ns/emix/2011/06/power"
SCALE: Final = "http://docs.oasis-open.org/ns/emix/2011/06/siscale"
XCAL: Final = "urn:ietf:params:xml:ns:icalendar-2.0"
STRM: Final = "urn:ietf:params:xml:ns:icalendar-2.0:stream"
DS: Final = "http://www.w3.org/2000/09/xmldsig#"

NSMAP: Final[dict[str, str]] = {
    "oadr": OADR,
    "ei": EI,
    "pyld": PYLD,
    "emix": EMIX,
    "power": POWER,
    "scale": SCALE,
    "xcal": XCAL,
    "strm": STRM,
}

SCHEMA_VERSION: Final = "2.0b"


def ns(prefix: str, local: str) -> str:
    """Clark notation `{uri}local` for a prefix of NSMAP."""
    return f"{{{NSMAP[prefix]}}}{local}"


def path(expr: str) -> str:
    """Turn a prefixed path such as `ei:eiResponse/ei:responseCode` into Clark notation for find()."""
    return "/".join(ns(*step.split(":", 1)) if ":" in step else step for step in expr.split("/"))
