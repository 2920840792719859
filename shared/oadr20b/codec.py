"""bytes <-> 2.0b messages with lxml, both directions validated against the XSD.

`Oadr20bCodec.build(msg, signer)` wraps the message in `oadr:oadrPayload/oadr:oadrSignedObject`,
signs it when given an `XmlSigner`, validates and serialises; `parse(data)` runs the hardened
parser, validates, and decodes the one message inside; `read(data)` also returns the parsed
document, for signature checks. Each message has one encoder and one decoder (in _msg_flow and
_msg_reports), side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from shared.oadr20b import _msg_flow as f
from shared.oadr20b import _msg_reports as r
from shared.oadr20b import messages as m
from shared.oadr20b._answers import AnswerMemo, Prepared
from shared.oadr20b._events import EventMemo
from shared.oadr20b.errors import Oadr20bError, SchemaInvalid
from shared.oadr20b.namespaces import SCHEMA_VERSION, ns
from shared.oadr20b.schema import Oadr20bSchema
from shared.oadr20b.signing import XmlSigner
from shared.oadr20b.xml import El, SafeXmlParser, local_name, need, new_root, new_signed_object, sub, to_bytes

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


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed, XSD-valid payload and its message (`root` is what signatures are checked on)."""

    root: El
    msg: m.Message


class Oadr20bCodec:
    """One per VTN app or VEN client: owns the schema and the hardened parser."""

    def __init__(self, schema: Oadr20bSchema, parser: SafeXmlParser | None = None) -> None:
        self.schema = schema
        self.parser = parser or SafeXmlParser()
        # Only for payloads this codec built itself (sign_built): no limits needed, still no DTDs.
        self._own_parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self._events = EventMemo()  # each event version built once per process (_events.py)
        self._answers = AnswerMemo()  # each unsigned distribute's content built once (_answers.py)

    def build(self, msg: m.Message, signer: XmlSigner | None = None) -> bytes:
        """Encode, sign if asked, validate (a failure here is our bug: SchemaInvalid) and serialise."""
        if signer is None and isinstance(msg, m.DistributeEvent):
            return self._answers.build(msg, self._build)
        return self._build(msg, signer)

    def prepare(self, msg: m.DistributeEvent) -> Prepared | None:
        """The unsigned payload of `msg` but for its requestID (`render` puts one in), from the
        answer memo; None for a distribute of a form only a full build gives (`build` it)."""
        return self._answers.prepare(msg, self._build)

    @staticmethod
    def render(prepared: Prepared, request_id: str) -> bytes:
        """A prepared distribute's payload with `request_id` (non-empty) as its requestID: the bytes
        `build` gives for the message with that requestID."""
        return AnswerMemo.render(prepared, request_id)

    @property
    def prepared_generation(self) -> int:
        """Moves when the answer memo is cleared: what was prepared before may hold its memory alone."""
        return self._answers.generation

    def _build(self, msg: m.Message, signer: XmlSigner | None = None) -> bytes:
        root = new_root("oadr:oadrPayload")
        body = sub(new_signed_object(root), f"oadr:{msg.TAG}", ei_schemaVersion=SCHEMA_VERSION)
        if isinstance(msg, m.DistributeEvent):
            f.put_distribute(body, msg, self._events)
        else:
            _CODECS[type(msg)][0](body, msg)
        if signer is not None:
            signer.sign(root)
        self.schema.validate(root)
        return to_bytes(root)

    def sign_built(self, data: bytes, signer: XmlSigner) -> bytes:
        """(Re-)sign a payload this codec built earlier (e.g. queued for a poll): fresh nonce and time."""
        root = etree.fromstring(data, self._own_parser)
        signer.sign(root)
        return to_bytes(root)

    def parse(self, data: bytes) -> m.Message:
        """Hardened parse, XSD validation, decode; any failure is an Oadr20bError (454 and kin)."""
        return self.read(data).msg

    def read(self, data: bytes) -> Document:
        """`parse`, keeping the document for signature verification."""
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
            return Document(root=root, msg=_DECODERS[local_name(body)](body))
        except ValueError as exc:
            raise SchemaInvalid(f"invalid value in {local_name(body)}: {exc}") from None


def _request_id_of(root: El) -> str:
    found = root.find(".//" + ns("pyld", "requestID"))
    return "" if found is None else (found.text or "").strip()
