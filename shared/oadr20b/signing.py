"""XML signatures of OpenADR 2.0b payloads (signxml does canonicalisation, digests and key work).

The profile, as OpenADR 2.0b and OpenLEADR apply it:

- `ds:Signature` is the first child of `oadr:oadrPayload`, a sibling of `oadr:oadrSignedObject`
  (signxml's "detached" method), with inclusive C14N 1.0 for SignedInfo and both references;
- SignatureMethod rsa-sha256 or ecdsa-sha256 (from the key), DigestMethod sha256;
- Reference 1 `#oadrSignedObject` (the message), Reference 2 `#prop`: a `ds:Object Id="prop"`
  holding `SignatureProperties/SignatureProperty/dsp:ReplayProtect` (`dsp:timestamp`, `dsp:nonce`);
- `KeyInfo/X509Data/X509Certificate` carries the signer's certificate.

Inclusive C14N copies every namespace in scope, so the signature and the signed object must see
the same declarations in the document as when they were signed: the envelope declares only
`oadr`, the signature declares `ds` and `oadr`, the signed object everything it uses (codec.py).

Verification trusts a certificate the caller chose (the peer's TLS client certificate on the VTN,
the VTN's certificate on the VEN), never the one in KeyInfo by itself: if KeyInfo carries a
certificate it must be that one. After signxml checks signature and digests, the bytes signed under
`#oadrSignedObject` must equal the canonical form of the document's own signed object (what the
codec decodes), and the replay properties are read from the signed `#prop` object only. A replay
is a timestamp outside the window or a nonce already seen: each `XmlVerifier` keeps its own nonce
cache (bounded; when full, the oldest nonces go and the window's start moves up to them).
"""

from __future__ import annotations

import base64
import binascii
import copy
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.namespaces import DS, OADR
from shared.oadr20b.xml import El, fmt_datetime, parse_datetime

DSP: Final = "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
SIGNED_OBJECT_ID: Final = "oadrSignedObject"
_C14N = CanonicalizationMethod.CANONICAL_XML_1_0
_SIGNATURE = f"{{{DS}}}Signature"
_X509 = f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"
_REFERENCES = f"{{{DS}}}SignedInfo/{{{DS}}}Reference"
_REPLAY = f".//{{{DSP}}}ReplayProtect"
_EXPECTED_URIS = frozenset({f"#{SIGNED_OBJECT_ID}", "#prop"})


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
    found: El | None = root.find(_SIGNATURE)
    return found


def signing_certificate(root: El, cache: CertificateCache | None = None) -> x509.Certificate | None:
    """The certificate in the signature's KeyInfo (untrusted: only for looking the signer up)."""
    sig = signature_of(root)
    element = None if sig is None else sig.find(_X509)
    if element is None or not (element.text or "").strip():
        return None
    body = "".join((element.text or "").split())
    return (cache or CertificateCache()).get(body)


class CertificateCache:
    """Parsed KeyInfo certificates by their base64 (a sender signs every message with the same one)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._certs: dict[str, x509.Certificate] = {}

    def get(self, body: str) -> x509.Certificate:
        cert = self._certs.get(body)
        if cert is not None:
            return cert
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(body, validate=True))
        except (ValueError, binascii.Error):
            raise SignatureRefused("the signature's X509Certificate is not a certificate") from None
        if len(self._certs) >= self.max_entries:
            self._certs.clear()
        self._certs[body] = cert
        return cert


class XmlSigner:
    """Signs payloads with one certificate and key, parsed once (OpenLEADR re-reads PEM per message)."""

    def __init__(self, certificate: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        self.certificate = certificate
        self._key = key
        method = (
            SignatureMethod.RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else SignatureMethod.ECDSA_SHA256
        )
        self._signer = XMLSigner(
            method=SignatureConstructionMethod.detached,
            signature_algorithm=method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=_C14N,
        )
        # Declared on ds:Signature itself, so its canonical form is the same in and out of the document.
        self._signer.namespaces = {"ds": DS, "oadr": OADR}
        # KeyInfo/X509Data/X509Certificate, built once (signxml would re-encode the PEM every time).
        self._key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        data = etree.SubElement(self._key_info, f"{{{DS}}}X509Data")
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der).decode()

    @classmethod
    def from_files(
        cls, cert_file: str | Path, key_file: str | Path, passphrase: bytes | None = None
    ) -> XmlSigner:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), passphrase)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: only RSA and EC keys can sign OpenADR 2.0b messages")
        return cls(cert, key)

    def sign(self, root: El, now: datetime | None = None) -> None:
        """Insert a fresh signature (new nonce, timestamp `now`) as the payload's first child."""
        old = signature_of(root)
        if old is not None:
            root.remove(old)
        signed = root.find(f"{{{OADR}}}oadrSignedObject")
        if signed is None:
            raise ValueError("the payload has no oadrSignedObject to sign")
        replay = etree.Element(f"{{{DSP}}}ReplayProtect", nsmap={"dsp": DSP})
        etree.SubElement(replay, f"{{{DSP}}}timestamp").text = fmt_datetime(now or datetime.now(UTC))
        etree.SubElement(replay, f"{{{DSP}}}nonce").text = uuid.uuid4().hex
        signature = self._signer.sign(
            signed,
            key=self._key,
            key_info=copy.deepcopy(self._key_info),
            reference_uri=f"#{SIGNED_OBJECT_ID}",
            signature_properties=replay,
        )
        root.insert(0, signature)


class NonceCache:
    """Nonces seen within the replay window; bounded, oldest first out (see the module docstring)."""

    def __init__(self, window: timedelta, max_entries: int = 200_000) -> None:
        self.window = window
        self.max_entries = max_entries
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._floor: datetime | None = None  # timestamps at or before this are refused (cache overflow)

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, replay: ReplayProtect, now: datetime) -> None:
        """Record the nonce, or raise SignatureRefused for a replay or a timestamp outside the window."""
        oldest = now - self.window
        while self._seen:
            nonce, stamp = next(iter(self._seen.items()))
            if stamp >= oldest:
                break
            del self._seen[nonce]
        if replay.timestamp < oldest or (self._floor is not None and replay.timestamp <= self._floor):
            raise SignatureRefused(f"the signature's timestamp {fmt_datetime(replay.timestamp)} is too old")
        if replay.nonce in self._seen:
            raise SignatureRefused("the signature's nonce was already used (replay)")
        self._seen[replay.nonce] = replay.timestamp
        if len(self._seen) > self.max_entries:
            _, stamp = self._seen.popitem(last=False)
            self._floor = stamp if self._floor is None else max(self._floor, stamp)


class XmlVerifier:
    """Verifies signed payloads against a trusted certificate; one per VTN app or VEN client."""

    def __init__(
        self,
        *,
        window: timedelta = timedelta(seconds=60),
        future_skew: timedelta = timedelta(seconds=30),
        max_nonces: int = 200_000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.future_skew = future_skew
        self.nonces = NonceCache(window, max_nonces)
        self.certificates = CertificateCache()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._verifier = XMLVerifier()
        self._config = SignatureConfiguration(
            require_x509=True,
            location="./",
            expect_references=2,
            signature_methods=frozenset(
                {
                    SignatureMethod.RSA_SHA256,
                    SignatureMethod.ECDSA_SHA256,
                    SignatureMethod.RSA_SHA384,
                    SignatureMethod.ECDSA_SHA384,
                }
            ),
            digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384}),
        )

    def verify(self, root: El, trusted: x509.Certificate) -> ReplayProtect:
        """Check the payload's signature by `trusted` and its replay properties; raise SignatureRefused."""
        sig = signature_of(root)
        if sig is None:
            raise SignatureRefused("the message is not signed (ds:Signature required)")
        carried = signing_certificate(root, self.certificates)
        if carried is not None and carried != trusted:
            raise SignatureRefused("the message is signed with another certificate than the sender's")
        uris = {ref.get("URI") for ref in sig.iterfind(_REFERENCES)}
        if uris != _EXPECTED_URIS:
            raise SignatureRefused(f"the signature must reference #{SIGNED_OBJECT_ID} and #prop")
        try:
            # The payload was validated against the 2.0b XSD (which includes xmldsig) already.
            results = self._verifier.verify(
                root, x509_cert=trusted, expect_config=self._config, validate_schema=False
            )
        except SignXMLException as exc:
            raise SignatureRefused(f"invalid signature: {exc}"[:300]) from None
        if not isinstance(results, list):  # expect_references=2 always yields a list
            raise SignatureRefused("the signature must carry two references")
        signed_object = root.find(f"{{{OADR}}}oadrSignedObject")
        own = etree.tostring(signed_object, method="c14n") if signed_object is not None else b""
        replay: ReplayProtect | None = None
        message_signed = False
        for result in results:
            signed = result.signed_xml
            if signed is None:
                continue
            if signed.tag == f"{{{OADR}}}oadrSignedObject":
                message_signed = message_signed or result.signed_data == own
            elif signed.tag == f"{{{DS}}}Object":
                replay = _replay_protect(signed)
        if not message_signed:
            raise SignatureRefused("the signature does not cover this message's oadrSignedObject")
        if replay is None:
            raise SignatureRefused("the signature carries no dsp:ReplayProtect")
        now = self._clock()
        if replay.timestamp > now + self.future_skew:
            raise SignatureRefused(
                f"the signature's timestamp {fmt_datetime(replay.timestamp)} is in the future"
            )
        self.nonces.admit(replay, now)
        return replay


def _replay_protect(obj: El) -> ReplayProtect | None:
    found = obj.find(_REPLAY)
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
