"""XML signatures: our signer, signxml's and OpenLEADR's verifiers, replay protection, VTN refusals.

Certificates are real ones from vtn.pki; the VTN runs on a loopback listener over plain HTTP here
(signatures only; mutual TLS is in test_mtls_admission.py).
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from signxml.exceptions import InvalidDigest
from signxml.verifier import SignatureConfiguration, XMLVerifier
from support.oadr20b import Pki20, TlsLab, event_body, short_fingerprint, start_tls_lab

from shared.oadr20b import Oadr20bCodec, SchemaInvalid
from shared.oadr20b import messages as m
from shared.oadr20b.namespaces import DS, OADR
from shared.oadr20b.parts import EiResponse
from shared.oadr20b.signing import (
    NonceCache,
    ReplayProtect,
    SignatureRefused,
    XmlSigner,
    XmlVerifier,
    signing_certificate,
)
from shared.oadr20b.xml import fmt_datetime

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
_SIGNXML = SignatureConfiguration(location="./", expect_references=2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki20:
    pki = Pki20.create(tmp_path_factory.mktemp("pki"))
    for name in ("ven-a", "ven-b", "stranger"):
        pki.client(name)
    pki.client("ven-rsa", rsa_key=True)
    return pki


def _signed(codec: Oadr20bCodec, signer: XmlSigner, msg: m.Message, at: datetime = NOW) -> bytes:
    root = etree.fromstring(codec.build(msg))
    signer.sign(root, at)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _verifier(at: datetime = NOW) -> XmlVerifier:
    return XmlVerifier(window=timedelta(seconds=60), clock=lambda: at)


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
def test_signed_payload_verifies_and_carries_the_profile(
    codec: Oadr20bCodec, pki: Pki20, client: str
) -> None:
    signer = pki.signer(client)
    doc = codec.read(codec.build(m.Poll(ven_id="v-1"), signer))
    replay = XmlVerifier().verify(doc.root, signer.certificate)
    assert len(replay.nonce) == 32
    sig = doc.root[0]
    assert sig.tag == f"{{{DS}}}Signature"
    refs = [r.get("URI") for r in sig.iter(f"{{{DS}}}Reference")]
    assert refs == ["#oadrSignedObject", "#prop"]
    method = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod").get("Algorithm")
    assert method.endswith("rsa-sha256" if client == "ven-rsa" else "ecdsa-sha256")
    c14n = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod").get("Algorithm")
    assert c14n == "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    assert signing_certificate(doc.root) == signer.certificate
    assert doc.msg == m.Poll(ven_id="v-1")


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
def test_our_signatures_verify_with_signxml_itself(codec: Oadr20bCodec, pki: Pki20, client: str) -> None:
    """The signature is built without signxml: signxml's own verifier (as OpenLEADR uses it) accepts it."""
    signer = pki.signer(client)
    data = codec.build(m.Poll(ven_id="v-1"), signer)
    results = XMLVerifier().verify(data, x509_cert=signer.certificate, expect_config=_SIGNXML)
    assert isinstance(results, list)
    signed = etree.fromstring(data).find(f"{{{OADR}}}oadrSignedObject")
    assert results[0].signed_data == etree.tostring(signed, method="c14n")
    assert results[1].signed_xml is not None and results[1].signed_xml.get("Id") == "prop"
    value = base64.b64decode(etree.fromstring(data).findtext(f".//{{{DS}}}SignatureValue"))
    assert len(value) == (256 if client == "ven-rsa" else 64)  # ECDSA P-256: raw r || s, not DER


_OPENLEADR_CHECK = """
import sys
from lxml import etree
from openleadr import messaging
for path in sys.argv[1:]:
    tree = etree.fromstring(open(path, "rb").read(), messaging.XML_PARSER)
    try:
        messaging.validate_xml_signature(tree)
        print("verified")
    except Exception as exc:
        print("refused", type(exc).__name__)
"""


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
def test_openleadr_verifies_our_signatures(
    openleadr_python: Path, codec: Oadr20bCodec, pki: Pki20, client: str, tmp_path: Path
) -> None:
    """OpenLEADR's own signature check (signxml 4.x, its replay rules) accepts ours and refuses tampering."""
    signer = pki.signer(client)
    good, other = (codec.build(m.Poll(ven_id="v-1"), signer) for _ in range(2))
    paths = [tmp_path / "good.xml", tmp_path / "message.xml", tmp_path / "prop.xml"]
    paths[0].write_bytes(good)
    paths[1].write_bytes(other.replace(b">v-1<", b">v-2<"))
    nonce = etree.fromstring(other).findtext(".//{*}nonce").encode()
    paths[2].write_bytes(other.replace(nonce, b"0" * 32))
    done = subprocess.run(
        [str(openleadr_python), "-c", _OPENLEADR_CHECK, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split("\n")[:3] == ["verified", "refused InvalidDigest", "refused InvalidDigest"]


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
def test_a_changed_message_no_longer_verifies(codec: Oadr20bCodec, pki: Pki20, client: str) -> None:
    signer = pki.signer(client)
    data = _signed(codec, signer, m.Poll(ven_id="v-1")).replace(b">v-1<", b">v-2<")
    with pytest.raises(SignatureRefused, match="invalid signature"):
        _verifier().verify(codec.read(data).root, signer.certificate)
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(data, x509_cert=signer.certificate, expect_config=_SIGNXML)


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
@pytest.mark.parametrize("field", ["nonce", "timestamp"])
def test_a_changed_replay_property_no_longer_verifies(
    codec: Oadr20bCodec, pki: Pki20, client: str, field: str
) -> None:
    signer = pki.signer(client)
    data = _signed(codec, signer, m.Poll(ven_id="v-1"))
    old = etree.fromstring(data).findtext(f".//{{*}}{field}").encode()
    new = b"0" * 32 if field == "nonce" else fmt_datetime(NOW - timedelta(seconds=1)).encode()
    tampered = data.replace(old, new)
    assert tampered != data
    with pytest.raises(SignatureRefused, match="invalid signature"):
        _verifier().verify(codec.read(tampered).root, signer.certificate)
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(tampered, x509_cert=signer.certificate, expect_config=_SIGNXML)


@pytest.mark.parametrize("client", ["ven-a", "ven-rsa"])
def test_a_changed_digest_or_signature_value_no_longer_verifies(
    codec: Oadr20bCodec, pki: Pki20, client: str
) -> None:
    signer = pki.signer(client)
    root = etree.fromstring(_signed(codec, signer, m.Poll(ven_id="v-1")))
    digest = root.find(f".//{{{DS}}}DigestValue")
    digest.text = base64.b64encode(bytes(32)).decode()
    with pytest.raises(SignatureRefused, match="invalid signature"):
        _verifier().verify(codec.read(etree.tostring(root)).root, signer.certificate)
    root = etree.fromstring(_signed(codec, signer, m.Poll(ven_id="v-1")))
    value = root.find(f".//{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureRefused, match="invalid signature"):
        _verifier().verify(codec.read(etree.tostring(root)).root, signer.certificate)


def test_only_the_trusted_certificate_counts(codec: Oadr20bCodec, pki: Pki20) -> None:
    data = _signed(codec, pki.signer("ven-a"), m.Poll(ven_id="v-1"))
    with pytest.raises(SignatureRefused, match="another certificate"):
        _verifier().verify(codec.read(data).root, pki.signer("ven-b").certificate)


def test_unsigned_is_refused_by_verify(codec: Oadr20bCodec, pki: Pki20) -> None:
    with pytest.raises(SignatureRefused, match="not signed"):
        _verifier().verify(codec.read(codec.build(m.Poll(ven_id="v"))).root, pki.signer("ven-a").certificate)


def test_replays_and_stale_or_future_timestamps_are_refused(codec: Oadr20bCodec, pki: Pki20) -> None:
    signer = pki.signer("ven-a")
    verifier = _verifier()
    data = _signed(codec, signer, m.Poll(ven_id="v-1"))
    verifier.verify(codec.read(data).root, signer.certificate)
    with pytest.raises(SignatureRefused, match="replay"):
        verifier.verify(codec.read(data).root, signer.certificate)
    # A second verifier has its own cache: the same document passes once there.
    _verifier().verify(codec.read(data).root, signer.certificate)
    stale = _signed(codec, signer, m.Poll(ven_id="v-1"), NOW - timedelta(seconds=61))
    with pytest.raises(SignatureRefused, match="too old"):
        verifier.verify(codec.read(stale).root, signer.certificate)
    future = _signed(codec, signer, m.Poll(ven_id="v-1"), NOW + timedelta(minutes=5))
    with pytest.raises(SignatureRefused, match="future"):
        verifier.verify(codec.read(future).root, signer.certificate)


def test_nonce_cache_forgets_old_nonces_and_raises_its_floor_when_full() -> None:
    cache = NonceCache(timedelta(seconds=10), max_entries=2)
    cache.admit(ReplayProtect(NOW, "a"), NOW)
    cache.admit(ReplayProtect(NOW + timedelta(seconds=1), "b"), NOW)
    cache.admit(ReplayProtect(NOW + timedelta(seconds=2), "c"), NOW)  # "a" goes: floor = NOW
    assert len(cache) == 2
    with pytest.raises(SignatureRefused, match="too old"):
        cache.admit(ReplayProtect(NOW, "a"), NOW)  # would be a replay of a forgotten nonce
    later = NOW + timedelta(seconds=30)
    cache.admit(ReplayProtect(later, "d"), later)  # window moved on: b and c expired
    assert len(cache) == 1


def test_signature_elsewhere_than_first_in_the_envelope_is_invalid(codec: Oadr20bCodec, pki: Pki20) -> None:
    root = etree.fromstring(_signed(codec, pki.signer("ven-a"), m.Poll(ven_id="v-1")))
    root.append(root[0])  # ds:Signature after the signed object: the XSD refuses it before any check
    with pytest.raises(SchemaInvalid):
        codec.read(etree.tostring(root))


def test_a_signature_over_another_object_is_refused(codec: Oadr20bCodec, pki: Pki20) -> None:
    """Wrapping: a valid signature lifted from one message onto another does not cover it."""
    signer = pki.signer("ven-a")
    donor = etree.fromstring(_signed(codec, signer, m.Poll(ven_id="v-1")))
    target = etree.fromstring(codec.build(m.Poll(ven_id="v-2")))
    target.insert(0, donor[0])
    with pytest.raises(SignatureRefused):
        _verifier().verify(codec.read(etree.tostring(target)).root, signer.certificate)


# ----------------------------------------------------------------------------- the VTN, plain HTTP


@pytest.fixture
async def signed_vtn(db_url: str, pki: Pki20) -> AsyncIterator[TlsLab]:
    async for lab in start_tls_lab(db_url, pki, tls=False, sign=True, require_signatures=True):
        yield lab


async def _bl_ven(lab: TlsLab, name: str, client_id: str) -> str:
    doc = await lab.bl(
        "POST", "/vens", json={"objectType": "BL_VEN_REQUEST", "venName": name, "clientID": client_id}
    )
    return str(doc["id"])


async def test_vtn_requires_signatures_and_signs_its_answers(
    signed_vtn: TlsLab, pki: Pki20, codec: Oadr20bCodec
) -> None:
    lab = signed_vtn
    # ven-a registers its certificate's short fingerprint out of band; ven-b and stranger do not.
    await lab.add_client("ven-a", short_fingerprint(pki.root / "ven-a.crt"))
    await lab.add_client("ven-b")
    ven_a = await _bl_ven(lab, "ven-a-site", "ven-a")
    unsigned = lab.ven(None, codec)
    signed_a = lab.ven("ven-a", codec, sign=True)
    signed_b = lab.ven("ven-b", codec, sign=True)
    try:
        refused = await unsigned.send(m.CreatePartyRegistration(request_id="r0", ven_name="ven-a-site"))
        assert isinstance(refused, m.CreatedPartyRegistration)
        assert refused.response.code == 463 and refused.ven_id is None
        assert "not signed" in (refused.response.description or "")

        # Signed by a registered certificate: admitted as that client's ven (no venName needed).
        created = await signed_a.send(m.CreatePartyRegistration(request_id="r1"))
        assert isinstance(created, m.CreatedPartyRegistration)  # and signed_a verified the VTN's signature
        assert (created.response.code, created.ven_id) == (200, ven_a)
        answer = await signed_a.send(m.Poll(ven_id=ven_a))
        assert answer == m.Response(response=EiResponse(), ven_id=ven_a)

        # Signed, but by a certificate nobody registered: refused when signatures are required.
        other = await signed_b.send(m.Poll(ven_id=ven_a))
        assert isinstance(other, m.Response) and other.response.code == 463
        assert "identifies no VEN client" in (other.response.description or "")

        # A replayed signed document is refused even though its signature is fine.
        data = codec.build(m.Poll(ven_id=ven_a), pki.signer("ven-a"))
        first = codec.parse(await unsigned.raw("OadrPoll", data))
        again = codec.parse(await unsigned.raw("OadrPoll", data))
        assert isinstance(first, m.Response) and first.response.code == 200
        assert isinstance(again, m.Response) and again.response.code == 463
        assert "replay" in (again.response.description or "")
    finally:
        for ven in (unsigned, signed_a, signed_b):
            await ven.session.close()


async def test_vtn_signs_queued_messages_when_delivered(
    signed_vtn: TlsLab, pki: Pki20, codec: Oadr20bCodec
) -> None:
    lab = signed_vtn
    await lab.add_client("ven-a", short_fingerprint(pki.root / "ven-a.crt"))
    ven_a = await _bl_ven(lab, "ven-a-site", "ven-a")
    ven = lab.ven("ven-a", codec, sign=True)
    try:
        await ven.send(m.CreatePartyRegistration(request_id="r1"))
        # Messages are queued unsigned (as request_reregistration does) and signed on delivery.
        async with lab.store.transaction() as tx:
            queued = codec.build(m.RequestReregistration(ven_id=ven_a))
            await tx.oadr20b(lab.store.clock).enqueue(ven_a, "oadrRequestReregistration", queued)
        polled = await ven.send(m.Poll(ven_id=ven_a))  # HttpVen20 verifies the VTN's signature
        assert polled == m.RequestReregistration(ven_id=ven_a)
    finally:
        await ven.session.close()


async def test_vtn_signs_request_event_answers_given_again(
    signed_vtn: TlsLab, pki: Pki20, codec: Oadr20bCodec
) -> None:
    lab = signed_vtn
    await lab.add_client("ven-a", short_fingerprint(pki.root / "ven-a.crt"))
    ven_a = await _bl_ven(lab, "ven-a-site", "ven-a")
    program = await lab.bl("POST", "/programs", json={"programName": "p1"})
    event = await lab.bl("POST", "/events", json=event_body(program["id"]))
    ven = lab.ven("ven-a", codec, sign=True)
    try:
        await ven.send(m.CreatePartyRegistration(request_id="r1"))
        # Built with its delivery, built read-only (and kept), then given again: each one signed
        # anew (ven.send verifies the VTN's signature) and carrying its own requestID.
        for rid in ("e1", "e2", "e3"):
            answer = await ven.send(m.RequestEvent(request_id=rid, ven_id=ven_a))
            assert isinstance(answer, m.DistributeEvent) and answer.response is not None
            assert (answer.request_id, answer.response.request_id, answer.response.code) == (rid, rid, 200)
            assert [e.event_id for e in answer.events] == [event["id"]]
    finally:
        await ven.session.close()
