"""OpenADR 2.0b: hardened XML, the XSD set of shared/schemas/oadr20b, typed messages and their codec."""

from shared.oadr20b._answers import Prepared
from shared.oadr20b.codec import MESSAGE_TYPES, Oadr20bCodec
from shared.oadr20b.errors import Oadr20bError, ResponseCode, SchemaInvalid, XmlRejected
from shared.oadr20b.schema import Oadr20bSchema
from shared.oadr20b.xml import SafeXmlParser, XmlLimits

__all__ = [
    "MESSAGE_TYPES",
    "Oadr20bCodec",
    "Oadr20bError",
    "Oadr20bSchema",
    "Prepared",
    "ResponseCode",
    "SafeXmlParser",
    "SchemaInvalid",
    "XmlLimits",
    "XmlRejected",
]
