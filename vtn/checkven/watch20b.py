"""What a 2.0b VEN did, seen from the VTN: each message it POSTed under the 2.0b prefix.

The 3.1 `Watch` middleware records the path and status; for 2.0b every message goes to one of a
few service paths, so this records the message kind (the payload element, e.g. `oadrPoll`) and, for
`oadrCreatedEvent`, each acknowledged (eventID, modificationNumber, optType).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True)
class Ack:
    event_id: str
    modification: int
    opt: str  # optIn | optOut


@dataclass(frozen=True)
class Message:
    kind: str  # local name of the payload element, "" when unreadable
    acks: tuple[Ack, ...] = ()


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def read_message(body: bytes) -> Message:
    """The kind and acknowledgements of one 2.0b document (never raises: bad XML is kind "")."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return Message("")
    signed = next((el for el in root.iter() if _local(el.tag) == "oadrSignedObject"), None)
    payload = next((el for el in signed if isinstance(el.tag, str)), None) if signed is not None else None
    if payload is None:
        return Message("")
    kind = _local(payload.tag)
    acks: list[Ack] = []
    if kind == "oadrCreatedEvent":
        for response in (el for el in payload.iter() if _local(el.tag) == "eventResponse"):
            fields = {_local(el.tag): (el.text or "").strip() for el in response.iter()}
            try:
                mod = int(fields.get("modificationNumber", ""))
            except ValueError:
                continue
            if fields.get("eventID"):
                acks.append(Ack(fields["eventID"], mod, fields.get("optType", "")))
    return Message(kind, tuple(acks))
