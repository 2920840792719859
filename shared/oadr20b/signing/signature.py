"""A payload's ds:Signature as it stands: where it sits, the certificate its KeyInfo carries (parsed
once per sender), its replay properties, and SignatureRefused, the one refusal of the signing code."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509

from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.namespaces import DS
from shared.oadr20b.xml import El, parse_datetime

DSP: Final = "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
SIGNATURE: Final = f"{{{DS}}}Signature"
REPLAY_PROTECT: Final = f"{{{DSP}}}ReplayProtect"
_X509_PATH = (f"{{{DS}}}KeyInfo", f"{{{DS}}}X509Data", f"{{{DS}}}X509Certificate")


class SignatureRefused(Oadr20bError):
    """Unsigned where a signature is required, badly signed, by the wrong certificate, or replayed."""

    def __init__(self, description: str) -> None:
        super().__init__(ResponseCode.NOT_REGISTERED_OR_AUTHORIZED, description)


@dataclass(frozen=True, slots=True)
class ReplayProtect:
    timestamp: datetime
    nonce: str


def signature_of(root: El) -> El | None:
    """The payload's `ds:Signature` (a direct child of oadrPayload), if any."""
    found: El | None = next(root.iterchildren(SIGNATURE), None)  # lxml's find() is slower
    return found


def signing_certificate(root: El, cache: CertificateCache | None = None) -> x509.Certificate | None:
    """The certificate in the signature's KeyInfo (untrusted: only for looking the signer up)."""
    element = signature_of(root)
    for tag in _X509_PATH:  # KeyInfo/X509Data/X509Certificate, first of each
        element = None if element is None else next(element.iterchildren(tag), None)
    text: str = "" if element is None else (element.text or "")
    if not text.strip():
        return None
    return (cache or CertificateCache()).get(text)


class CertificateCache:
    """Parsed KeyInfo certificates by their base64 (a sender signs every message with the same one)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._certs: dict[str, x509.Certificate] = {}

    def get(self, text: str) -> x509.Certificate:
        """The certificate of an X509Certificate element's text (base64, any whitespace)."""
        cert = self._certs.get(text)  # keyed by the text as sent: no normalising on a hit
        if cert is not None:
            return cert
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
            cert = x509.load_der_x509_certificate(der)
        except (ValueError, binascii.Error):
            raise SignatureRefused("the signature's X509Certificate is not a certificate") from None
        if len(self._certs) >= self.max_entries:
            self._certs.clear()
        self._certs[text] = cert
        return cert


def replay_protect(obj: El) -> ReplayProtect | None:
    """The replay properties under `obj` (the signed ds:Object); None if it carries none."""
    found = next(obj.iter(REPLAY_PROTECT), None)  # the first at any depth, as find(".//") would
    if found is None:
        return None
    stamp = (found.findtext(f"{{{DSP}}}timestamp") or "").strip()
    nonce = (found.findtext(f"{{{DSP}}}nonce") or "").strip()
    if not stamp or not nonce:
        raise SignatureRefused("dsp:ReplayProtect needs a timestamp and a nonce")
    try:
        return ReplayProtect(timestamp=parse_datetime(stamp), nonce=nonce)
    except Oadr20bError:
        raise SignatureRefused(f"dsp:timestamp {stamp[:40]!r} is not a date-time") from None
