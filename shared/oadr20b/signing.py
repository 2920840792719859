"""XML signatures of OpenADR 2.0b payloads: we sign ourselves (lxml C14N, hashlib, cryptography),
and verify the standard layout ourselves too (fast_verify.py), anything else with signxml.

The profile, as OpenADR 2.0b and OpenLEADR apply it:

- `ds:Signature` is the first child of `oadr:oadrPayload`, a sibling of `oadr:oadrSignedObject`
  (signxml's "detached" method), with inclusive C14N 1.0 for SignedInfo and both references;
- SignatureMethod rsa-sha256 or ecdsa-sha256 (from the key), DigestMethod sha256;
- Reference 1 `#oadrSignedObject` (the message), Reference 2 `#prop`: a `ds:Object Id="prop"`
  holding `SignatureProperties/SignatureProperty/dsp:ReplayProtect` (`dsp:timestamp`, `dsp:nonce`);
- `KeyInfo/X509Data/X509Certificate` carries the signer's certificate;
- an ECDSA SignatureValue is raw r || s (XMLDSig), not the DER that cryptography returns.

Signing is ours because it only has to produce this one layout, and signxml's signer re-parses
the document several times (~290 µs per P-256 signature against ~80 µs here). `XmlSigner(...,
library=True)` signs with signxml instead (the library path); with an RSA key both write the same
digests and signature value for the same timestamp and nonce (tests/oadr20b/test_signer_library.py).

Verification has a fast path for exactly this layout (fast_verify.py) and falls back to signxml
for anything it does not positively recognise, so unusual but valid peers still work. signxml
re-parses and re-serialises the document about eleven times per message (~600 µs); the fast path
works on the parsed document in place. It accepts only when all of these hold, else it answers
"not recognised" and signxml decides:

- the document is `oadrPayload` with exactly two children, this `ds:Signature` and
  `oadr:oadrSignedObject`; the Signature holds SignedInfo, SignatureValue, optionally
  KeyInfo/X509Data/X509Certificate (which must be the trusted certificate, as on both paths), and one
  `ds:Object Id="prop"`; the document has no other ds:Signature, no comment and no processing
  instruction (the parser drops them anyway), and no xml:* attribute on the envelope or signature;
- SignedInfo is exactly CanonicalizationMethod = inclusive C14N 1.0 (no comments),
  SignatureMethod in {rsa,ecdsa}-{sha256,sha384} of the trusted key's type, and two References,
  `#oadrSignedObject` then `#prop`, each with Transforms absent or exactly one inclusive C14N 1.0
  Transform (what our signer and OpenLEADR's signxml write), DigestMethod sha256 or sha384;
- no wrapping: `#oadrSignedObject` is the envelope's own signed object and `#prop` this
  signature's own ds:Object, and no other element anywhere carries an Id/ID/id attribute (any
  namespace, as signxml resolves ids) equal to either, nor do these carry both; so the elements
  digested here are the ones signxml would resolve, the one the codec decodes, and the one the
  replay properties are read from;
- the trusted certificate is within its validity period (signxml checks that too).

Then the signature value over lxml's C14N of SignedInfo in the document (what signxml computes on
its copy: lxml's C14N of an element writes the namespaces in scope, not inherited xml:* attributes,
which the layout excludes) must verify with the trusted key (ECDSA raw r || s of the curve's size,
RSA PKCS#1 v1.5), and the digest of the C14N of each referenced element must equal its DigestValue;
either mismatch refuses the message outright, as signxml would. No comments means the text the codec
and the replay check read is the text that was digested. Tests (tests/oadr20b/test_fast_verify.py)
check ours and OpenLEADR's signatures take the fast path, and that tampering and wrapping are refused.

Inclusive C14N copies every namespace in scope, so the signature and the signed object must see
the same declarations in the document as when they were signed: the envelope declares only
`oadr`, the signature declares `ds` and `oadr`, the signed object everything it uses (codec.py).

Verification trusts a certificate the caller chose (the peer's TLS client certificate on the VTN,
the VTN's certificate on the VEN), never the one in KeyInfo by itself: if KeyInfo carries a
certificate it must be that one. After signxml checks signature and digests, the bytes signed under
`#oadrSignedObject` must equal the canonical form of the document's own signed object (what the
codec decodes; the fast path digests that very element), and the replay properties are read from
the signed `#prop` object only (on both paths). A replay
is a timestamp outside the window or a nonce already seen: each `XmlVerifier` keeps its own nonce
cache (bounded; when full, the oldest nonces go and the window's start moves up to them), so
several VTN processes do not share nonces (docs/oadr20b.md, known gaps).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
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
from shared.oadr20b.fast_verify import (
    C14N_URI,
    ECDSA_SHA256_URI,
    PROP_ID,
    RSA_SHA256_URI,
    SHA256_URI,
    SIGNED_OBJECT_ID,
    DetachedVerifier,
    Mismatch,
)
from shared.oadr20b.namespaces import DS, OADR
from shared.oadr20b.xml import El, fmt_datetime, parse_datetime

DSP: Final = "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
_SHA256: Final = hashes.SHA256()
_ECDSA: Final = ec.ECDSA(hashes.SHA256())
_SIGNATURE = f"{{{DS}}}Signature"
_X509_PATH = (f"{{{DS}}}KeyInfo", f"{{{DS}}}X509Data", f"{{{DS}}}X509Certificate")
_REFERENCES = f"{{{DS}}}SignedInfo/{{{DS}}}Reference"
_REPLAY = f"{{{DSP}}}ReplayProtect"
_EXPECTED_URIS = frozenset({f"#{SIGNED_OBJECT_ID}", f"#{PROP_ID}"})


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
    found: El | None = next(root.iterchildren(_SIGNATURE), None)  # lxml's find() is slower
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


class XmlSigner:
    """Signs payloads with one certificate and key, parsed once (OpenLEADR re-reads PEM per message).

    The ds:Signature is built here rather than by signxml (whose detached method makes the same
    structure but re-parses the document several times): a template made once per signer is copied,
    placed in the document, and its digests and value are computed over lxml's inclusive C14N of
    the elements where they sit, exactly what a verifier canonicalises.
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        *,
        library: bool = False,
    ):
        self.certificate = certificate
        self._key = key
        self._library = library  # True: signxml signs (see the module docstring)
        der = certificate.public_bytes(serialization.Encoding.DER)
        method = ECDSA_SHA256_URI if isinstance(key, ec.EllipticCurvePrivateKey) else RSA_SHA256_URI
        self._template = _signature_template(method, base64.b64encode(der).decode())
        # XMLDSig wants ECDSA values as raw r || s, each as long as the curve order, not DER.
        self._ec_size = (key.curve.key_size + 7) // 8 if isinstance(key, ec.EllipticCurvePrivateKey) else 0

    @classmethod
    def from_files(
        cls, cert_file: str | Path, key_file: str | Path, passphrase: bytes | None = None
    ) -> XmlSigner:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), passphrase)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: only RSA and EC keys can sign OpenADR 2.0b messages")
        return cls(cert, key)

    def sign(self, root: El, now: datetime | None = None, nonce: str | None = None) -> None:
        """Insert a fresh signature (timestamp `now`, a new nonce unless given) as the first child."""
        old = signature_of(root)
        if old is not None:
            root.remove(old)
        signed = root.find(f"{{{OADR}}}oadrSignedObject")
        if signed is None:
            raise ValueError("the payload has no oadrSignedObject to sign")
        stamp_text = fmt_datetime(now or datetime.now(UTC))
        nonce_text = nonce or uuid.uuid4().hex
        if self._library:
            root.insert(0, self._signxml_signature(signed, stamp_text, nonce_text))
            return
        sig = copy.deepcopy(self._template)
        info, value, _, obj = sig
        stamp_el, nonce_el = obj[0][0][0]
        stamp_el.text = stamp_text
        nonce_el.text = nonce_text
        root.insert(0, sig)  # first: C14N below sees the namespaces in scope in the document
        info[2][2].text = _digest(signed)
        info[3][2].text = _digest(obj)
        value.text = base64.b64encode(self._sign(_c14n(info))).decode()

    def _signxml_signature(self, signed: El, stamp: str, nonce: str) -> El:
        """The same layout made by signxml's detached method, as OpenLEADR signs."""
        ec_key = isinstance(self._key, ec.EllipticCurvePrivateKey)
        signer = XMLSigner(
            method=SignatureConstructionMethod.detached,
            signature_algorithm=SignatureMethod.ECDSA_SHA256 if ec_key else SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
        )
        signer.namespaces["oadr"] = OADR
        replay = etree.Element(_REPLAY, nsmap={"dsp": DSP})
        etree.SubElement(replay, f"{{{DSP}}}timestamp").text = stamp
        etree.SubElement(replay, f"{{{DSP}}}nonce").text = nonce
        pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        sig: El = signer.sign(
            signed, key=self._key, cert=pem, reference_uri=f"#{SIGNED_OBJECT_ID}", signature_properties=replay
        )
        return sig

    def _sign(self, data: bytes) -> bytes:
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), _SHA256)
        r, s = decode_dss_signature(key.sign(data, _ECDSA))
        return r.to_bytes(self._ec_size, "big") + s.to_bytes(self._ec_size, "big")


def _digest(element: El) -> str:
    """Base64 SHA-256 of the element's inclusive C14N 1.0 form (the reference's single transform)."""
    return base64.b64encode(hashlib.sha256(_c14n(element)).digest()).decode()


def _c14n(element: El) -> bytes:
    """Inclusive C14N 1.0 as its URI means it: without comments (lxml's tostring keeps them by default)."""
    data: bytes = etree.tostring(element, method="c14n", with_comments=False)
    return data


def _signature_template(method: str, certificate_b64: str) -> El:
    """ds:Signature as signxml's detached method with signature properties lays it out, values empty."""

    def ds(parent: El, local: str, **attrib: str) -> El:
        return etree.SubElement(parent, f"{{{DS}}}{local}", attrib)

    # ds and oadr declared on ds:Signature itself: its canonical form is the same in and out of the document.
    sig = etree.Element(_SIGNATURE, nsmap={"ds": DS, "oadr": OADR})
    info = ds(sig, "SignedInfo")
    ds(info, "CanonicalizationMethod", Algorithm=C14N_URI)
    ds(info, "SignatureMethod", Algorithm=method)
    for uri in (f"#{SIGNED_OBJECT_ID}", f"#{PROP_ID}"):
        ref = ds(info, "Reference", URI=uri)
        ds(ds(ref, "Transforms"), "Transform", Algorithm=C14N_URI)
        ds(ref, "DigestMethod", Algorithm=SHA256_URI)
        ds(ref, "DigestValue")
    ds(sig, "SignatureValue")
    ds(ds(ds(sig, "KeyInfo"), "X509Data"), "X509Certificate").text = certificate_b64
    props = ds(ds(sig, "Object", Id=PROP_ID), "SignatureProperties")
    prop = ds(props, "SignatureProperty", Id="sigprop0", Target="#sigproptarget0")
    replay = etree.SubElement(prop, f"{{{DSP}}}ReplayProtect", nsmap={"dsp": DSP})
    etree.SubElement(replay, f"{{{DSP}}}timestamp")
    etree.SubElement(replay, f"{{{DSP}}}nonce")
    return sig


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
        fast_path: bool = True,
    ) -> None:
        self.future_skew = future_skew
        self.fast_path = fast_path  # False: signxml verifies everything (as before the fast path)
        self.nonces = NonceCache(window, max_nonces)
        self.certificates = CertificateCache()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.fast = DetachedVerifier()
        self.fast_verified = 0  # accepted by the fast path (fast_verify.py)
        self.signxml_verified = 0  # handed to signxml (accepted or not)
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
            prop = self.fast.verify(root, sig, trusted) if self.fast_path else None
        except Mismatch as exc:
            raise SignatureRefused(f"invalid signature: {exc}"[:300]) from None
        if prop is not None:
            self.fast_verified += 1
            replay = _replay_protect(prop)
        else:
            self.signxml_verified += 1
            replay = self._verify_with_signxml(root, trusted)
        if replay is None:
            raise SignatureRefused("the signature carries no dsp:ReplayProtect")
        now = self._clock()
        if replay.timestamp > now + self.future_skew:
            raise SignatureRefused(
                f"the signature's timestamp {fmt_datetime(replay.timestamp)} is in the future"
            )
        self.nonces.admit(replay, now)
        return replay

    def _verify_with_signxml(self, root: El, trusted: x509.Certificate) -> ReplayProtect | None:
        """signxml's verification, for what the fast path does not recognise; the signed #prop's replay."""
        sig = signature_of(root)
        if sig is None or not self.fast.method_fits(sig, trusted):
            raise SignatureRefused("invalid signature: the signature method is not for the certificate's key")
        try:
            # The payload was validated against the 2.0b XSD (which includes xmldsig) already.
            results = self._verifier.verify(
                root, x509_cert=trusted, expect_config=self._config, validate_schema=False
            )
        except SignXMLException as exc:
            raise SignatureRefused(f"invalid signature: {exc}"[:300]) from None
        except (ValueError, TypeError) as exc:  # e.g. an Algorithm URI signxml has no enum member for
            raise SignatureRefused(f"invalid signature: {type(exc).__name__}: {exc}"[:300]) from None
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
        return replay


def _replay_protect(obj: El) -> ReplayProtect | None:
    found = next(obj.iter(_REPLAY), None)  # the first at any depth, as find(".//") would
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
