"""Hardened XML in, plain lxml building out: the only place 2.0b bytes meet lxml.

Inbound documents come from the network, so parsing assumes hostility:

- size is checked before parsing (default 1 MiB) and the parser never gets more;
- only UTF-8 (or its ASCII subset) is accepted, so the byte-level checks below see the real markup;
- any markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) is refused before the parser runs: there is
  no legitimate DTD in OpenADR, so billion-laughs and external entities never reach libxml2's DTD code;
- the parser itself still runs with entity resolution, DTD loading and network access off and
  `huge_tree` off (libxml2's own depth and text-size caps stay on), as a second line;
- after parsing, element depth and count are bounded (default depth 40: the deepest 2.0b message is
  about 16 levels).

Every rejection is an `XmlRejected` (response code 454), never an expansion. A `SafeXmlParser` is
built once per owner (VTN app, VEN client) and reused; nothing here is module-level state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from shared.oadr20b.errors import SchemaInvalid, XmlRejected
from shared.oadr20b.namespaces import NSMAP, ns, path

# lxml ships no type information (mypy treats it as Any); this alias documents what is an element.
El = Any

_ALLOWED_DECLARATIONS = (b"<!--", b"<![CDATA[")
_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True, kw_only=True)
class XmlLimits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 40
    max_elements: int = 100_000


class SafeXmlParser:
    """Parse untrusted bytes into an lxml element, or raise XmlRejected."""

    def __init__(self, limits: XmlLimits | None = None) -> None:
        self.limits = limits or XmlLimits()
        self._parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            dtd_validation=False,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        # True when some element sits below max_depth levels (the document element is level 1).
        self._deeper = etree.XPath("boolean(" + "/*" * (self.limits.max_depth + 1) + ")")
        self._count = etree.XPath("count(//*)")

    def parse(self, data: bytes) -> El:
        limits = self.limits
        if len(data) > limits.max_bytes:
            raise XmlRejected(f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
        if not data.strip():
            raise XmlRejected("empty document")
        _check_bytes(data)
        try:
            root = etree.fromstring(data, self._parser)
        except etree.XMLSyntaxError as exc:
            raise XmlRejected(f"not well-formed XML: {exc}") from None
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise XmlRejected("document type declarations are not accepted")
        _check_shape(root, limits, self._deeper, self._count)
        return root


def _check_bytes(data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise XmlRejected("only UTF-8 documents are accepted")
    declared = _ENCODING.match(data.lstrip(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise XmlRejected(f"only UTF-8 documents are accepted, not {declared.group(1).decode()}")
    start = data.find(b"<!")
    while start != -1:
        if not data.startswith(_ALLOWED_DECLARATIONS, start):
            raise XmlRejected("markup declarations (DOCTYPE, ENTITY) are not accepted")
        start = data.find(b"<!", start + 2)


def _check_shape(root: El, limits: XmlLimits, deeper: Any, count: Any) -> None:
    # libxml2 counts and walks in C (a Python walk cost ~25 µs per signed poll); comments and PIs
    # are removed by the parser, so elements (and entity nodes, refused) are all there is.
    if next(root.iter(etree.Entity), None) is not None:
        raise XmlRejected("entity references are not accepted")
    if deeper(root):
        raise XmlRejected(f"document nesting exceeds {limits.max_depth} levels")
    if count(root) > limits.max_elements:
        raise XmlRejected(f"document has more than {limits.max_elements} elements")


# ----------------------------------------------------------------------------- building


def new_root(tag: str) -> El:
    """The envelope (`oadr:oadrPayload`), declaring only `oadr`.

    Signatures use inclusive C14N, which copies every namespace in scope: declarations on the
    envelope would leak into the canonical form of ds:Signature (see signing/).
    """
    return etree.Element(ns(*tag.split(":", 1)), nsmap={"oadr": NSMAP["oadr"]})


def new_signed_object(root: El) -> El:
    """`oadr:oadrSignedObject` (Id `oadrSignedObject`), declaring every prefix the message uses."""
    signed = etree.SubElement(root, ns("oadr", "oadrSignedObject"), nsmap=NSMAP)
    signed.set(ns("oadr", "Id"), "oadrSignedObject")
    return signed


def sub(parent: El, tag: str, text: str | None = None, **attrib: str) -> El:
    """Append `<prefix:local>text</prefix:local>`; attributes are named `prefix_local` (ei_schemaVersion)."""
    child = etree.SubElement(parent, ns(*tag.split(":", 1)))
    for key, value in attrib.items():
        child.set(ns(*key.split("_", 1)), value)
    if text is not None:
        child.text = text
    return child


def sub_opt(parent: El, tag: str, text: str | None) -> None:
    if text is not None:
        sub(parent, tag, text)


def to_bytes(root: El) -> bytes:
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


# ----------------------------------------------------------------------------- reading


def find(el: El, expr: str) -> El | None:
    return el.find(path(expr))


def need(el: El, expr: str) -> El:
    found = el.find(path(expr))
    if found is None:
        raise SchemaInvalid(f"missing element {expr}")
    return found


def find_all(el: El, expr: str) -> list[El]:
    return list(el.findall(path(expr)))


def text(el: El, expr: str) -> str:
    """Text of a required element ('' when empty), whitespace-trimmed."""
    value: str | None = need(el, expr).text
    return (value or "").strip()


def opt_text(el: El, expr: str) -> str | None:
    found = el.find(path(expr))
    if found is None:
        return None
    value: str | None = found.text
    return (value or "").strip()


def local_name(el: El) -> str:
    name: str = etree.QName(el).localname
    return name


def namespace_of(el: El) -> str:
    uri: str = etree.QName(el).namespace or ""
    return uri


# ----------------------------------------------------------------------------- values


def fmt_datetime(value: datetime) -> str:
    """UTC with a `Z`, as the 2.0b DateTimeType pattern demands (no numeric offsets)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def parse_datetime(raw: str) -> datetime:
    """xs:dateTime as 2.0b peers send it: `Z`, an offset, or no zone (taken as UTC)."""
    cleaned = raw.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    # Python < 3.12 accepts only 3 or 6 fraction digits: normalise to 6.
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", cleaned)
    if match:
        frac = (match.group(2) or "")[1:7].ljust(6, "0") if match.group(2) else ""
        cleaned = match.group(1) + (f".{frac}" if frac else "") + match.group(3)
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise SchemaInvalid(f"not a date-time: {raw!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_DURATION = re.compile(
    r"^([+-])?P(?:(\d+)W|(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$"
)


def parse_duration(raw: str) -> timedelta:
    """RFC 5545 duration (weeks allowed; Y = 365 days and M = 30 days, as OpenLEADR approximates)."""
    match = _DURATION.match(raw.strip())
    if match is None or raw.strip() in ("P", "PT", "+P", "-P"):
        raise SchemaInvalid(f"not a duration: {raw!r}")
    sign, weeks, years, months, days, hours, minutes, seconds = match.groups()
    total = timedelta(
        weeks=int(weeks or 0),
        days=int(years or 0) * 365 + int(months or 0) * 30 + int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    return -total if sign == "-" else total


def fmt_duration(value: timedelta) -> str:
    """Whole seconds in D/H/M/S form (`PT0S` for zero): the schema allows no fractions."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{secs}S" if secs or not (days or clock) else ""
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def fmt_float(value: float) -> str:
    return repr(float(value))


def parse_float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SchemaInvalid(f"not a number: {raw!r}") from None


def parse_bool(raw: str) -> bool:
    return raw.strip().lower() in ("true", "1")


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


def get_duration_text(raw: str | None) -> timedelta:
    """An optional duration element's text; absent means zero (e.g. a signal interval without one)."""
    return timedelta(0) if raw is None else parse_duration(raw)
