"""XmlVerifier: checks a payload's signature by a trusted certificate, and its replay properties.

Verification has a fast path for exactly the profile's layout (shared/oadr20b/fast_verify.py) and
falls back to signxml for anything it does not positively recognise, so unusual but valid peers
still work. signxml re-parses and re-serialises the document about eleven times per message
(~600 µs); the fast path works on the parsed document in place. It accepts only when all of these
hold, else it answers "not recognised" and signxml decides:

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

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from shared.oadr20b.fast_verify import PROP_ID, SIGNED_OBJECT_ID, DetachedVerifier, Mismatch
from shared.oadr20b.namespaces import DS, OADR
from shared.oadr20b.signing.signature import (
    CertificateCache,
    ReplayProtect,
    SignatureRefused,
    replay_protect,
    signature_of,
    signing_certificate,
)
from shared.oadr20b.xml import El, fmt_datetime

_REFERENCES = f"{{{DS}}}SignedInfo/{{{DS}}}Reference"
_EXPECTED_URIS = frozenset({f"#{SIGNED_OBJECT_ID}", f"#{PROP_ID}"})


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
            replay = replay_protect(prop)
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
                replay = replay_protect(signed)
        if not message_signed:
            raise SignatureRefused("the signature does not cover this message's oadrSignedObject")
        return replay
