"""Fast verification of exactly the OpenADR 2.0b detached-signature layout (see signing/verifier.py).

`DetachedVerifier.verify` answers one of three ways:

- the verified `ds:Object Id="prop"` element: every check passed, the signature is good;
- None: the layout is not the one recognised here (the caller falls back to signxml);
- `Mismatch`: the layout is recognised but a digest or the signature value does not match (refuse).

It works on the parsed document in place: one XPath scan of the whole document, lxml's inclusive
C14N 1.0 of SignedInfo and of the two referenced elements, hashlib and cryptography.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from shared.oadr20b.namespaces import DS, OADR
from shared.oadr20b.xml import El

# The layout's names and algorithms, shared with the signer (signing/signer.py), which writes it.
C14N_URI: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
SHA256_URI: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
ECDSA_SHA256_URI: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA256_URI: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGNED_OBJECT_ID: Final = "oadrSignedObject"
PROP_ID: Final = "prop"

# DigestMethod URI -> hashlib name
_DIGESTS: Final[dict[str, str]] = {
    SHA256_URI: "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
}
# SignatureMethod URI -> (EC key?, hash)
_METHODS: Final[dict[str, tuple[bool, hashes.HashAlgorithm]]] = {
    ECDSA_SHA256_URI: (True, hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": (True, hashes.SHA384()),
    RSA_SHA256_URI: (False, hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": (False, hashes.SHA384()),
}
_REFERENCE_URIS: Final = (f"#{SIGNED_OBJECT_ID}", f"#{PROP_ID}")
_ID_NAMES: Final = frozenset({"Id", "ID", "id"})  # local names, any namespace (xml:id is "id"), as signxml
_ID_VALUES: Final = frozenset({SIGNED_OBJECT_ID, PROP_ID})
_XML_NS: Final = "{http://www.w3.org/XML/1998/namespace}"


def _ds(local: str) -> str:
    return f"{{{DS}}}{local}"


_PAYLOAD: Final = f"{{{OADR}}}oadrPayload"
_SIGNED_OBJECT: Final = f"{{{OADR}}}oadrSignedObject"
_SIGNED_INFO, _SIGNATURE_VALUE = _ds("SignedInfo"), _ds("SignatureValue")
_KEY_INFO, _X509_DATA, _X509_CERTIFICATE = _ds("KeyInfo"), _ds("X509Data"), _ds("X509Certificate")
_OBJECT, _C14N_METHOD = _ds("Object"), _ds("CanonicalizationMethod")
_SIGNATURE_METHOD = _ds("SignatureMethod")
_METHOD_PATH = f"{_SIGNED_INFO}/{_SIGNATURE_METHOD}"
_REFERENCE, _TRANSFORMS, _TRANSFORM = _ds("Reference"), _ds("Transforms"), _ds("Transform")
_DIGEST_METHOD, _DIGEST_VALUE = _ds("DigestMethod"), _ds("DigestValue")

# Everything that could make the document mean something else than what the checks below look at:
# any ds:Signature, comment or processing instruction, and any element with an ID-like attribute
# (local name Id, ID or id, in any namespace, as signxml resolves references) whose value is one of
# the two referenced ids. In a recognised document this is exactly [Signature, Object, SignedObject].
_SUSPECTS: Final = etree.XPath(
    "//ds:Signature | //comment() | //processing-instruction()"
    " | //*[@*[local-name() = 'Id' or local-name() = 'ID' or local-name() = 'id']"
    "[. = 'oadrSignedObject' or . = 'prop']]",
    namespaces={"ds": DS},
)


class Mismatch(Exception):
    """A recognised signature whose digest or signature value does not match: refuse, never fall back."""


PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _b64(text: str | None) -> bytes | None:
    """Base64 with any whitespace, strictly; None when it is not base64."""
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (ValueError, binascii.Error):
        return None


def _c14n(element: El) -> bytes:
    """Inclusive C14N 1.0 without comments of `element` where it sits in its document."""
    data: bytes = etree.tostring(element, method="c14n", exclusive=False, with_comments=False)
    return data


def _leaf(element: El, tag: str) -> bool:
    return bool(element.tag == tag and len(element) == 0)


class DetachedVerifier:
    """The fast path of XmlVerifier; keeps the public keys of the trusted certificates it has seen."""

    def __init__(self, max_keys: int = 4096) -> None:
        self.max_keys = max_keys
        self._keys: dict[x509.Certificate, PublicKey | None] = {}

    def public_key(self, cert: x509.Certificate) -> PublicKey | None:
        """The certificate's key if it is EC or RSA (cached: the same peers sign every message)."""
        if cert in self._keys:
            return self._keys[cert]
        key = cert.public_key()
        found = key if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey) else None
        if len(self._keys) >= self.max_keys:
            self._keys.clear()
        self._keys[cert] = found
        return found

    def method_fits(self, sig: El, trusted: x509.Certificate) -> bool:
        """False when SignatureMethod is an EC or RSA method of ours but not for the trusted key's type.

        signxml, handed an ECDSA method with an RSA key (or the reverse), fails with a TypeError or
        AttributeError rather than its own exception: XmlVerifier asks this first.
        """
        method = sig.find(_METHOD_PATH)
        algorithm = _METHODS.get("" if method is None else method.get("Algorithm") or "")
        if algorithm is None:
            return True  # not one of ours: signxml refuses what it does not accept
        key = self.public_key(trusted)
        return key is not None and isinstance(key, ec.EllipticCurvePublicKey) == algorithm[0]

    def verify(self, root: El, sig: El, trusted: x509.Certificate) -> El | None:
        """The verified ds:Object Id="prop", None if the layout is not recognised, or raise Mismatch."""
        layout = self._layout(root, sig)
        if layout is None:
            return None
        info, value, obj, signed = layout
        # SignedInfo: C14N 1.0, a signature method for the trusted key, exactly the two references.
        parts = list(info)
        if len(parts) != 4 or len(info.attrib) != 0:
            return None
        c14n_method, method, *references = parts
        if not _leaf(c14n_method, _C14N_METHOD) or c14n_method.get("Algorithm") != C14N_URI:
            return None
        if not _leaf(method, _SIGNATURE_METHOD):
            return None
        algorithm = _METHODS.get(method.get("Algorithm") or "")
        now = datetime.now(UTC)  # signxml checks the trusted certificate's validity at the current time
        if algorithm is None or not trusted.not_valid_before_utc <= now <= trusted.not_valid_after_utc:
            return None
        is_ec, hash_algorithm = algorithm
        key = self.public_key(trusted)
        if key is None or isinstance(key, ec.EllipticCurvePublicKey) != is_ec:
            return None
        digests: list[tuple[str, bytes]] = []
        for reference, uri in zip(references, _REFERENCE_URIS, strict=True):
            digest = _reference(reference, uri)
            if digest is None:
                return None
            digests.append(digest)
        raw = _b64(value.text)
        if raw is None:
            return None
        # Recognised: from here on a mismatch is a refusal.
        _check_signature(key, hash_algorithm, raw, _c14n(info))
        for index, ((name, expected), element) in enumerate(zip(digests, (signed, obj), strict=True)):
            if hashlib.new(name, _c14n(element)).digest() != expected:
                raise Mismatch(f"Digest mismatch for reference {index} ({_REFERENCE_URIS[index]})")
        return obj

    @staticmethod
    def _layout(root: El, sig: El) -> tuple[El, El, El, El] | None:
        """(SignedInfo, SignatureValue, Object "prop", oadrSignedObject) of the exact layout, or None."""
        if root.tag != _PAYLOAD or root.getparent() is not None or sig.getparent() is not root:
            return None
        kids = list(root)  # comments and PIs count here too: anything but these two is unknown
        if len(kids) != 2 or kids[0] is not sig or kids[1].tag != _SIGNED_OBJECT:
            return None
        signed = kids[1]
        # xml:* attributes would be inherited by a spec C14N 1.0 of a subset, not by lxml's: not ours.
        if any(name.startswith(_XML_NS) for name in (*root.attrib, *sig.attrib)):
            return None
        kids = list(sig)
        if len(kids) == 4:
            info, value, key_info, obj = kids
            if key_info.tag != _KEY_INFO or len(key_info) != 1 or len(key_info.attrib) != 0:
                return None
            data = key_info[0]
            if data.tag != _X509_DATA or len(data) != 1 or not _leaf(data[0], _X509_CERTIFICATE):
                return None
        elif len(kids) == 3:
            info, value, obj = kids
        else:
            return None
        if info.tag != _SIGNED_INFO or not _leaf(value, _SIGNATURE_VALUE) or obj.tag != _OBJECT:
            return None
        # Nothing else in the whole document may be a signature, a comment, a PI or carry either id.
        if _SUSPECTS(root) != [sig, obj, signed]:
            return None
        ids = {element: _ids(element) for element in (sig, obj, signed)}
        if ids != {sig: [], obj: [PROP_ID], signed: [SIGNED_OBJECT_ID]}:
            return None
        return info, value, obj, signed


def _ids(element: El) -> list[str]:
    """The values among the two referenced ids of the element's ID-like attributes."""
    return [
        value
        for name, value in element.attrib.items()
        if name.rpartition("}")[2] in _ID_NAMES and value in _ID_VALUES
    ]


def _reference(reference: El, uri: str) -> tuple[str, bytes] | None:
    """(hashlib name, expected digest) of a Reference to `uri` in the recognised form, or None."""
    if reference.tag != _REFERENCE or reference.get("URI") != uri:
        return None
    kids = list(reference)
    if len(kids) == 3:
        transforms, method, value = kids
        if transforms.tag != _TRANSFORMS or len(transforms) != 1 or len(transforms.attrib) != 0:
            return None
        transform = transforms[0]
        if not _leaf(transform, _TRANSFORM) or transform.get("Algorithm") != C14N_URI:
            return None
    elif len(kids) == 2:  # no Transforms: XMLDSig's default for a node-set is C14N 1.0 as well
        method, value = kids
    else:
        return None
    if not _leaf(method, _DIGEST_METHOD) or not _leaf(value, _DIGEST_VALUE):
        return None
    name = _DIGESTS.get(method.get("Algorithm") or "")
    expected = _b64(value.text)
    if name is None or expected is None:
        return None
    return name, expected


def _check_signature(key: PublicKey, hash_algorithm: hashes.HashAlgorithm, raw: bytes, data: bytes) -> None:
    """Raise Mismatch unless `raw` is the trusted key's signature of `data` (ECDSA raw r || s, RSA v1.5)."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(raw) != 2 * size:
                raise Mismatch(f"Expected {2 * size} byte SignatureValue, got {len(raw)}")
            r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_algorithm))
        else:
            key.verify(raw, data, padding.PKCS1v15(), hash_algorithm)
    except (InvalidSignature, ValueError):
        raise Mismatch("Signature verification failed") from None
