"""XmlSigner against the library path (signxml's detached signer, `library=True`).

Same message, timestamp and nonce: both write the same SignedInfo, hence (RSA PKCS#1 v1.5 being
deterministic) the same SignatureValue; with ECDSA (randomised) the same SignedInfo and digests.
Each path's signature is accepted by signxml's verifier and by ours, and refused once tampered.
"""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from lxml import etree
from support.oadr20b import Pki20

from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.namespaces import DS
from shared.oadr20b.signing import SignatureRefused, XmlSigner, XmlVerifier
from shared.oadr20b.xml import El

NOW = datetime(2030, 1, 1, tzinfo=UTC)
NONCE = "ab" * 16


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki20:
    pki = Pki20.create(tmp_path_factory.mktemp("pki"))
    pki.client("ven-ec")
    pki.client("ven-rsa", rsa_key=True)
    return pki


def signed(codec: Oadr20bCodec, signer: XmlSigner, message: m.Message) -> El:
    root = etree.fromstring(codec.build(message))
    signer.sign(root, NOW, nonce=NONCE)
    return etree.fromstring(etree.tostring(root))  # as a peer receives it


def part(root: El, path: str) -> El:
    found = root.find(path, {"ds": DS})
    assert found is not None, path
    return found


def c14n(element: El) -> bytes:
    data: bytes = etree.tostring(element, method="c14n")
    return data


MESSAGES: list[m.Message] = [
    m.Poll(ven_id="v-1"),
    m.QueryRegistration(request_id="r-1"),
]


@pytest.mark.parametrize("client", ["ven-ec", "ven-rsa"])
@pytest.mark.parametrize("message", MESSAGES, ids=lambda msg: type(msg).__name__)
def test_ours_and_signxml_sign_alike(
    codec: Oadr20bCodec, pki: Pki20, client: str, message: m.Message
) -> None:
    ours = pki.signer(client)
    library = XmlSigner(ours.certificate, ours._key, library=True)
    a, b = signed(codec, ours, message), signed(codec, library, message)
    assert c14n(part(a, "ds:Signature/ds:SignedInfo")) == c14n(part(b, "ds:Signature/ds:SignedInfo"))
    assert c14n(part(a, "ds:Signature/ds:Object")) == c14n(part(b, "ds:Signature/ds:Object"))
    if client == "ven-rsa":
        assert (
            part(a, "ds:Signature/ds:SignatureValue").text == part(b, "ds:Signature/ds:SignatureValue").text
        )
    for root in (a, b):
        der = base64.b64decode(part(root, ".//ds:X509Certificate").text or "")
        assert x509.load_der_x509_certificate(der) == ours.certificate
        for fast in (True, False):  # our verifier, and signxml's
            verifier = XmlVerifier(window=timedelta(minutes=1), clock=lambda: NOW, fast_path=fast)
            replay = verifier.verify(copy.deepcopy(root), ours.certificate)
            assert replay.nonce == NONCE
            tampered = copy.deepcopy(root)
            part(tampered, ".//ds:DigestValue").text = "AAAA"
            with pytest.raises(SignatureRefused):
                XmlVerifier(window=timedelta(minutes=1), clock=lambda: NOW, fast_path=fast).verify(
                    tampered, ours.certificate
                )
