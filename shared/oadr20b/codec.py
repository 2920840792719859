"""bytes <-> 2.0b messages with lxml, both directions validated against the XSD.

`Oadr20bCodec.build(msg)` wraps the message in `oadr:oadrPayload/oadr:oadrSignedObject`, validates
and serialises; `parse(data)` runs the hardened parser, validates, and decodes the one message
inside. Each message has one encoder and one decoder (in _msg_flow and _msg_reports), side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.oadr20b import _msg_flow as f
from shared.oadr20b import _msg_reports as r
from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, SchemaInvalid
from shared.oadr20b.namespaces import SCHEMA_VERSION, ns
from shared.oadr20b.schema import Oadr20bSchema
from shared.oadr20b.xml import El, SafeXmlParser, local_name, need, new_root, sub, to_bytes

_Pair = tuple[Callable[[El, Any], None], Callable[[El], m.Message]]

_CODECS: dict[type[Any], _Pair] = {
    m.Response: (f.put_oadr_response, f.get_oadr_response),
    m.QueryRegistration: (f.put_query, f.get_query),
    m.CreatePartyRegistration: (f.put_create_party, f.get_create_party),
    m.CreatedPartyRegistration: (f.put_created_party, f.get_created_party),
    m.CancelPartyRegistration: (f.put_cancel_party, f.get_cancel_party),
    m.CanceledPartyRegistration: (f.put_canceled_party, f.get_canceled_party),
    m.RequestReregistration: (f.put_rereg, f.get_rereg),
    m.Poll: (f.put_poll, f.get_poll),
    m.RequestEvent: (f.put_request_event, f.get_request_event),
    m.DistributeEvent: (f.put_distribute, f.get_distribute),
    m.CreatedEvent: (f.put_created_event, f.get_created_event),
    m.CreateOpt: (f.put_create_opt, f.get_create_opt),
    m.CreatedOpt: (f.put_created_opt, f.get_created_opt),
    m.CancelOpt: (f.put_cancel_opt, f.get_cancel_opt),
    m.CanceledOpt: (f.put_canceled_opt, f.get_canceled_opt),
    m.RegisterReport: (r.put_register_report, r.get_register_report),
    m.RegisteredReport: (r.put_registered_report, r.get_registered_report),
    m.CreateReport: (r.put_create_report, r.get_create_report),
    m.CreatedReport: (r.put_created_report, r.get_created_report),
    m.UpdateReport: (r.put_update_report, r.get_update_report),
    m.UpdatedReport: (r.put_updated_report, r.get_updated_report),
    m.CancelReport: (r.put_cancel_report_body, r.get_cancel_report),
    m.CanceledReport: (r.put_canceled_report, r.get_canceled_report),
}
_DECODERS: dict[str, Callable[[El], m.Message]] = {cls.TAG: pair[1] for cls, pair in _CODECS.items()}
MESSAGE_TYPES: tuple[type[Any], ...] = tuple(_CODECS)


class Oadr20bCodec:
    """One per VTN app or VEN client: owns the schema and the hardened parser."""

    def __init__(self, schema: Oadr20bSchema, parser: SafeXmlParser | None = None) -> None:
        self.schema = schema
        self.parser = parser or SafeXmlParser()

    def build(self, msg: m.Message) -> bytes:
        """Encode, validate (a failure here is our bug and raises SchemaInvalid) and serialise."""
        root = new_root("oadr:oadrPayload")
        signed = sub(root, "oadr:oadrSignedObject", oadr_Id="oadrSignedObject")
        body = sub(signed, f"oadr:{msg.TAG}", ei_schemaVersion=SCHEMA_VERSION)
        _CODECS[type(msg)][0](body, msg)
        self.schema.validate(root)
        return to_bytes(root)

    def parse(self, data: bytes) -> m.Message:
        """Hardened parse, XSD validation, decode; any failure is an Oadr20bError (454 and kin)."""
        root = self.parser.parse(data)
        if root.tag != ns("oadr", "oadrPayload"):
            raise SchemaInvalid("the document element must be oadr:oadrPayload")
        try:
            self.schema.validate(root)
        except Oadr20bError as exc:
            exc.request_id = _request_id_of(root)
            raise
        signed = need(root, "oadr:oadrSignedObject")
        body = next(iter(signed), None)
        if body is None or local_name(body) not in _DECODERS:
            raise SchemaInvalid("oadrSignedObject holds no known message")
        try:
            return _DECODERS[local_name(body)](body)
        except ValueError as exc:
            raise SchemaInvalid(f"invalid value in {local_name(body)}: {exc}") from None


def _request_id_of(root: El) -> str:
    found = root.find(".//" + ns("pyld", "requestID"))
    return "" if found is None else (found.text or "").strip()
