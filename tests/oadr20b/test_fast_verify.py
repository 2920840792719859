"""The fast verification path (shared/oadr20b/fast_verify.py): what it accepts, refuses, hands to signxml.

`XmlVerifier.fast_verified` counts messages the fast path accepted, `signxml_verified` those handed to
signxml. Documents are parsed with plain lxml (comments kept) unless a test needs the codec.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import XMLSigner, methods
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier
from support.oadr20b import Pki20

from shared.oadr20b import Oadr20bCodec, fast_verify
from shared.oadr20b import messages as m
from shared.oadr20b.namespaces import DS, EI, OADR
from shared.oadr20b.signing import DSP, SignatureRefused, XmlSigner, XmlVerifier
from shared.oadr20b.xml import El, fmt_datetime

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CLIENTS = ["ven-a", "ven-rsa"]
_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"


def ds(local: str) -> str:
    return f"{{{DS}}}{local}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki20:
    pki = Pki20.create(tmp_path_factory.mktemp("pki"))
    pki.client("ven-a")
    pki.client("ven-rsa", rsa_key=True)
    return pki


def _verifier(at: datetime = NOW) -> XmlVerifier:
    return XmlVerifier(window=timedelta(seconds=60), clock=lambda: at)


def _ours(codec: Oadr20bCodec, signer: XmlSigner, ven_id: str = "v-1") -> El:
    root = etree.fromstring(codec.build(m.Poll(ven_id=ven_id)))
    signer.sign(root, NOW)
    return etree.fromstring(etree.tostring(root))  # as a peer receives it


def _path(verifier: XmlVerifier) -> str:
    return {(1, 0): "fast", (0, 1): "signxml"}[(verifier.fast_verified, verifier.signxml_verified)]


def _accepts(root: El, signer: XmlSigner) -> str:
    """Verify once with a fresh verifier; return the path that accepted."""
    verifier = _verifier()
    verifier.verify(root, signer.certificate)
    return _path(verifier)


def _refuses(root: El, signer: XmlSigner) -> str:
    """Verify once with a fresh verifier, which must refuse; return the path that refused."""
    verifier = _verifier()
    with pytest.raises(SignatureRefused):
        verifier.verify(root, signer.certificate)
    assert verifier.fast_verified == 0
    return "signxml" if verifier.signxml_verified else "fast"


# ----------------------------------------------------------------------------- accepted, fast


@pytest.mark.parametrize("client", CLIENTS)
def test_our_signatures_take_the_fast_path(codec: Oadr20bCodec, pki: Pki20, client: str) -> None:
    signer = pki.signer(client)
    verifier = _verifier()
    data = etree.tostring(_ours(codec, signer))
    doc = codec.read(data)
    replay = verifier.verify(doc.root, signer.certificate)
    assert (verifier.fast_verified, verifier.signxml_verified) == (1, 0)
    assert replay.timestamp == NOW and len(replay.nonce) == 32
    assert doc.msg == m.Poll(ven_id="v-1")
    with pytest.raises(SignatureRefused, match="replay"):  # the fast path admits nonces as before
        verifier.verify(codec.read(data).root, signer.certificate)
    assert (verifier.fast_verified, verifier.signxml_verified) == (2, 0)


def _resign(root: El, signer: XmlSigner) -> None:
    """Recompute the digests and the signature value of `root`'s signature as it now stands."""
    sig = root[0]
    info = sig.find(ds("SignedInfo"))
    targets = (root.find(f"{{{OADR}}}oadrSignedObject"), sig.find(ds("Object")))
    for ref, target in zip(info.iterfind(ds("Reference")), targets, strict=True):
        c14n = etree.tostring(target, method="c14n", with_comments=False)
        alg = ref.find(ds("DigestMethod")).get("Algorithm")
        name = "sha384" if alg == _SHA384 else "sha256"
        ref.find(ds("DigestValue")).text = base64.b64encode(hashlib.new(name, c14n).digest()).decode()
    value = signer._sign(etree.tostring(info, method="c14n", with_comments=False))
    sig.find(ds("SignatureValue")).text = base64.b64encode(value).decode()


@pytest.mark.parametrize("client", CLIENTS)
def test_without_key_info_or_transforms_still_fast_and_signxml_agrees(
    codec: Oadr20bCodec, pki: Pki20, client: str
) -> None:
    signer = pki.signer(client)
    root = _ours(codec, signer)
    sig = root[0]
    sig.remove(sig.find(ds("KeyInfo")))  # not signed: KeyInfo is optional
    assert _accepts(copy.deepcopy(root), signer) == "fast"
    for ref in sig.iter(ds("Reference")):
        ref.remove(ref.find(ds("Transforms")))
    _resign(root, signer)
    assert _accepts(copy.deepcopy(root), signer) == "fast"
    config = SignatureConfiguration(location="./", expect_references=2)
    XMLVerifier().verify(etree.tostring(root), x509_cert=signer.certificate, expect_config=config)


_OPENLEADR_SIGN = """
import sys
from openleadr import messaging
for cert, key, out in zip(*[iter(sys.argv[1:])] * 3):
    data = messaging.create_message("oadrPoll", cert=open(cert, "rb").read(), key=open(key, "rb").read(),
                                    ven_id="v-1")
    open(out, "w").write(data)
"""


@pytest.fixture(scope="module")
def openleadr_signed(
    openleadr_python: Path, pki: Pki20, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """An oadrPoll signed by OpenLEADR (its signxml 4.x) with each client's key, by client."""
    out = tmp_path_factory.mktemp("openleadr")
    args = [str(p) for c in CLIENTS for p in (pki.root / f"{c}.crt", pki.root / f"{c}.key", out / f"{c}.xml")]
    subprocess.run([str(openleadr_python), "-c", _OPENLEADR_SIGN, *args], check=True, timeout=120)
    return {c: (out / f"{c}.xml").read_bytes() for c in CLIENTS}


@pytest.mark.parametrize("client", CLIENTS)
def test_openleadr_signatures_take_the_fast_path(
    codec: Oadr20bCodec, pki: Pki20, openleadr_signed: dict[str, bytes], client: str
) -> None:
    signer, data = pki.signer(client), openleadr_signed[client]
    doc = codec.read(data)
    verifier = XmlVerifier(window=timedelta(minutes=10))  # OpenLEADR stamps the real time
    verifier.verify(doc.root, signer.certificate)
    assert (verifier.fast_verified, verifier.signxml_verified) == (1, 0)
    assert doc.msg == m.Poll(ven_id="v-1")
    tampered = codec.read(data.replace(b">v-1<", b">v-2<")).root
    with pytest.raises(SignatureRefused, match="invalid signature: Digest mismatch"):
        XmlVerifier(window=timedelta(minutes=10)).verify(tampered, signer.certificate)


# ----------------------------------------------------------------------------- tampering: refused


def _set(path: str, value: str, attribute: str | None = None) -> Callable[[El], None]:
    def change(root: El) -> None:
        element = root.find(path)
        if attribute is None:
            element.text = value
        else:
            element.set(attribute, value)

    return change


def _flip_signature_value(root: El) -> None:
    value = root.find(f".//{ds('SignatureValue')}")
    raw = bytearray(base64.b64decode(value.text))
    raw[7] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()


def _truncate_signature_value(root: El) -> None:
    value = root.find(f".//{ds('SignatureValue')}")
    value.text = base64.b64encode(base64.b64decode(value.text)[:-1]).decode()


def _signature_hash_384(root: El) -> None:
    method = root.find(f".//{ds('SignatureMethod')}")
    method.set("Algorithm", method.get("Algorithm").replace("sha256", "sha384"))


def _swap_signature_method(root: El) -> None:
    method = root.find(f".//{ds('SignatureMethod')}")
    old = method.get("Algorithm")
    method.set(
        "Algorithm", old.replace("ecdsa-", "rsa-") if "ecdsa-" in old else old.replace("rsa-", "ecdsa-")
    )


_SIGNED = f"{{{OADR}}}oadrSignedObject"
_INFO = f"{ds('Signature')}/{ds('SignedInfo')}"
# (what, change, the path that refuses: "fast" = recognised layout, refused outright)
TAMPERING: list[tuple[str, Callable[[El], None], str]] = [
    ("message text", _set(f"{_SIGNED}//{{*}}venID", "v-2"), "fast"),
    ("message attribute", _set(f"{_SIGNED}/{{*}}oadrPoll", "2.0a", f"{{{EI}}}schemaVersion"), "fast"),
    ("new attribute", _set(f"{_SIGNED}/{{*}}oadrPoll", "x", "extra"), "fast"),
    ("nonce", _set(f".//{{{DSP}}}nonce", "0" * 32), "fast"),
    ("timestamp", _set(f".//{{{DSP}}}timestamp", fmt_datetime(NOW - timedelta(seconds=1))), "fast"),
    (
        "first digest",
        _set(f"{_INFO}/{ds('Reference')}/{ds('DigestValue')}", base64.b64encode(bytes(32)).decode()),
        "fast",
    ),
    ("signature value", _flip_signature_value, "fast"),
    ("signature value length", _truncate_signature_value, "fast"),
    ("signature hash", _signature_hash_384, "fast"),
    ("digest method", _set(f"{_INFO}/{ds('Reference')}/{ds('DigestMethod')}", _SHA384, "Algorithm"), "fast"),
    ("signature key type", _swap_signature_method, "signxml"),
    ("canonicalization", _set(f"{_INFO}/{ds('CanonicalizationMethod')}", _EXC_C14N, "Algorithm"), "signxml"),
    (
        "transform",
        _set(f"{_INFO}/{ds('Reference')}/{ds('Transforms')}/{ds('Transform')}", _EXC_C14N, "Algorithm"),
        "signxml",
    ),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(("what", "change", "path"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_is_refused(
    codec: Oadr20bCodec, pki: Pki20, client: str, what: str, change: Callable[[El], None], path: str
) -> None:
    signer = pki.signer(client)
    root = _ours(codec, signer)
    before = etree.tostring(root)
    change(root)
    assert etree.tostring(root) != before, what
    assert _refuses(root, signer) == path


# ----------------------------------------------------------------------------- wrapping: never accepted


def _id_copy_in_object(root: El) -> None:
    """A second oadrSignedObject (same Id) inside ds:Object."""
    root[0].find(ds("Object")).append(copy.deepcopy(root[1]))


def _id_copy_in_key_info(root: El) -> None:
    """A forged oadrSignedObject (same Id) in KeyInfo, which no digest covers."""
    forged = copy.deepcopy(root[1])
    forged[0][0].text = "v-evil"
    root[0].find(ds("KeyInfo")).append(forged)


def _nested_id(root: El) -> None:
    root[1][0].set("Id", "oadrSignedObject")


def _nested_lowercase_id(root: El) -> None:
    root[1][0][0].set("id", "prop")


def _signature_id(root: El) -> None:
    root[0].set("Id", "prop")


def _forged_at_root_original_in_object(root: El) -> None:
    """The signed original moved into ds:Object, a forged message (same Id) in its place."""
    original = root[1]
    forged = copy.deepcopy(original)
    forged[0][0].text = "v-evil"
    root[0].find(ds("Object")).append(original)
    root.append(forged)


def _forged_at_root_original_wrapped(root: El) -> None:
    """The original (still the only one with the Id) under another element, a forged one without Id first."""
    original = root[1]
    forged = copy.deepcopy(original)
    forged[0][0].text = "v-evil"
    del forged.attrib[f"{{{OADR}}}Id"]
    wrapper = etree.SubElement(root, f"{{{OADR}}}wrapper")
    root.insert(1, forged)
    wrapper.append(original)


def _duplicate_signature(root: El) -> None:
    root.insert(1, copy.deepcopy(root[0]))


def _signature_in_object(root: El) -> None:
    root[0].find(ds("Object")).append(copy.deepcopy(root[0]))


def _extra_reference(root: El) -> None:
    info = root[0].find(ds("SignedInfo"))
    info.append(copy.deepcopy(info[2]))


def _reference_to_another_id(root: El) -> None:
    root[0].find(f"{ds('SignedInfo')}/{ds('Reference')}").set("URI", "#other")
    root[1].set("Id", "other")


def _references_swapped(root: El) -> None:
    info = root[0].find(ds("SignedInfo"))
    info.insert(2, info[3])


WRAPPING: list[tuple[str, Callable[[El], None]]] = [
    ("Id copy inside ds:Object", _id_copy_in_object),
    ("Id copy inside KeyInfo", _id_copy_in_key_info),
    ("nested Id", _nested_id),
    ("nested lowercase id=prop", _nested_lowercase_id),
    ("Signature Id=prop", _signature_id),
    ("forged at root, original in ds:Object", _forged_at_root_original_in_object),
    ("forged at root, original wrapped", _forged_at_root_original_wrapped),
    ("duplicate ds:Signature", _duplicate_signature),
    ("ds:Signature inside ds:Object", _signature_in_object),
    ("extra Reference", _extra_reference),
    ("Reference to another Id", _reference_to_another_id),
    ("References swapped", _references_swapped),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(("what", "change"), WRAPPING, ids=[w[0] for w in WRAPPING])
def test_wrapping_is_never_accepted(
    codec: Oadr20bCodec, pki: Pki20, client: str, what: str, change: Callable[[El], None]
) -> None:
    signer = pki.signer(client)
    root = _ours(codec, signer)
    change(root)
    _refuses(root, signer)


def test_a_comment_in_the_nonce_does_not_make_a_new_nonce(codec: Oadr20bCodec, pki: Pki20) -> None:
    """C14N drops comments: `ab<!---->cd` is the signed nonce `abcd`, never a fresh nonce `ab`."""
    signer = pki.signer("ven-a")
    verifier = _verifier()
    root = _ours(codec, signer)
    verifier.verify(copy.deepcopy(root), signer.certificate)
    nonce = root.find(f".//{{{DSP}}}nonce")
    nonce.text = nonce.text[:10]
    nonce.append(etree.Comment(""))
    (seen,) = verifier.nonces._seen
    nonce[0].tail = seen[10:]
    with pytest.raises(SignatureRefused, match="replay"):
        verifier.verify(root, signer.certificate)
    assert (verifier.fast_verified, verifier.signxml_verified) == (1, 1)


# ----------------------------------------------------------------------------- unknown but valid: signxml


def _signxml_signed(
    codec: Oadr20bCodec,
    pki: Pki20,
    client: str,
    c14n: CanonicalizationMethod,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    sha384: bool = False,
) -> El:
    """An oadrPoll signed by signxml 5 the way OpenLEADR does, with the given algorithms."""
    root = etree.fromstring(codec.build(m.Poll(ven_id="v-1")))
    signed = etree.fromstring(etree.tostring(root[0]))
    cert = (pki.root / f"{client}.crt").read_bytes()
    key = serialization.load_pem_private_key((pki.root / f"{client}.key").read_bytes(), None)
    kind = "RSA" if client == "ven-rsa" else "ECDSA"
    method = SignatureMethod[f"{kind}_SHA384" if sha384 else f"{kind}_SHA256"]
    signer = XMLSigner(
        method=methods.detached, signature_algorithm=method, digest_algorithm=digest, c14n_algorithm=c14n
    )
    signer.namespaces["oadr"] = OADR
    replay = etree.Element(f"{{{DSP}}}ReplayProtect", nsmap={"dsp": DSP})
    etree.SubElement(replay, f"{{{DSP}}}timestamp").text = fmt_datetime(NOW)
    etree.SubElement(replay, f"{{{DSP}}}nonce").text = "ab" * 16
    sig = signer.sign(
        signed, key=key, cert=cert, reference_uri="#oadrSignedObject", signature_properties=replay
    )
    root.insert(0, sig)
    return etree.fromstring(etree.tostring(root))


@pytest.mark.parametrize("client", CLIENTS)
def test_signxml_with_sha384_takes_the_fast_path(codec: Oadr20bCodec, pki: Pki20, client: str) -> None:
    root = _signxml_signed(
        codec, pki, client, CanonicalizationMethod.CANONICAL_XML_1_0, DigestAlgorithm.SHA384, True
    )
    assert _accepts(root, pki.signer(client)) == "fast"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "c14n",
    [CanonicalizationMethod.CANONICAL_XML_1_1, CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS],
    ids=["c14n-1.1", "c14n-with-comments"],
)
def test_other_valid_layouts_fall_back_to_signxml(
    codec: Oadr20bCodec, pki: Pki20, client: str, c14n: CanonicalizationMethod
) -> None:
    root = _signxml_signed(codec, pki, client, c14n)
    assert _accepts(copy.deepcopy(root), pki.signer(client)) == "signxml"
    root.find(".//{*}venID").text = "v-2"
    assert _refuses(root, pki.signer(client)) == "signxml"


def test_a_comment_outside_the_signed_content_falls_back_to_signxml(codec: Oadr20bCodec, pki: Pki20) -> None:
    signer = pki.signer("ven-a")
    root = _ours(codec, signer)
    root.append(etree.Comment(" relayed by proxy "))
    assert _accepts(root, signer) == "signxml"


def test_an_expired_trusted_certificate_is_left_to_signxml(
    codec: Oadr20bCodec, pki: Pki20, monkeypatch: pytest.MonkeyPatch
) -> None:
    """signxml checks the certificate's validity period; the fast path leaves such a case to it."""
    signer = pki.signer("ven-a")
    root = _ours(codec, signer)
    verifier = _verifier()
    assert verifier.fast.verify(root, root[0], signer.certificate) is not None

    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:
            return cls.fromtimestamp(datetime.now(UTC).timestamp() + 400 * 86400, UTC)

    monkeypatch.setattr(fast_verify, "datetime", Later)
    assert verifier.fast.verify(root, root[0], signer.certificate) is None
    verifier.verify(root, signer.certificate)  # signxml decides, with its own (real) clock: valid
    assert (verifier.fast_verified, verifier.signxml_verified) == (0, 1)
