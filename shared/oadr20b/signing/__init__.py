"""XML signatures of OpenADR 2.0b payloads: we sign ourselves (signer.py: lxml C14N, hashlib,
cryptography), and verify the standard layout ourselves too (verifier.py, with the fast path in
shared/oadr20b/fast_verify.py), anything else with signxml. signature.py finds a payload's
signature, its certificate and its replay properties, and holds the refusal (SignatureRefused).

The profile, as OpenADR 2.0b and OpenLEADR apply it:

- `ds:Signature` is the first child of `oadr:oadrPayload`, a sibling of `oadr:oadrSignedObject`
  (signxml's "detached" method), with inclusive C14N 1.0 for SignedInfo and both references;
- SignatureMethod rsa-sha256 or ecdsa-sha256 (from the key), DigestMethod sha256;
- Reference 1 `#oadrSignedObject` (the message), Reference 2 `#prop`: a `ds:Object Id="prop"`
  holding `SignatureProperties/SignatureProperty/dsp:ReplayProtect` (`dsp:timestamp`, `dsp:nonce`);
- `KeyInfo/X509Data/X509Certificate` carries the signer's certificate;
- an ECDSA SignatureValue is raw r || s (XMLDSig), not the DER that cryptography returns.

Inclusive C14N copies every namespace in scope, so the signature and the signed object must see
the same declarations in the document as when they were signed: the envelope declares only
`oadr`, the signature declares `ds` and `oadr`, the signed object everything it uses (codec.py).
"""

from shared.oadr20b.signing.signature import (
    DSP,
    CertificateCache,
    ReplayProtect,
    SignatureRefused,
    signature_of,
    signing_certificate,
)
from shared.oadr20b.signing.signer import XmlSigner
from shared.oadr20b.signing.verifier import NonceCache, XmlVerifier

__all__ = [
    "DSP",
    "CertificateCache",
    "NonceCache",
    "ReplayProtect",
    "SignatureRefused",
    "XmlSigner",
    "XmlVerifier",
    "signature_of",
    "signing_certificate",
]
