"""Mutual TLS admission of 2.0b VENs: the client certificate names the VEN client, on a real listener.

The VTN asks for client certificates (optional mode); a certificate is accepted for 2.0b when its
fingerprint (full SHA-256 or the 2.0b short form) is registered for a VEN client, or when it names
one (SAN URI). The VEN then acts only for ven objects of that client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.oadr20b import Pki20, TlsLab, short_fingerprint, start_tls_lab

from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.parts import EiResponse
from shared.tls import fingerprint_sha256


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki20:
    pki = Pki20.create(tmp_path_factory.mktemp("pki"))
    for name in ("ven-fp", "ven-short", "ven-named", "ven-unknown", "bl-cert"):
        pki.client(name)
    return pki


@pytest.fixture
async def lab(db_url: str, pki: Pki20) -> AsyncIterator[TlsLab]:
    async for made in start_tls_lab(db_url, pki):
        yield made


@pytest.fixture
async def signed_lab(db_url: str, pki: Pki20) -> AsyncIterator[TlsLab]:
    async for made in start_tls_lab(db_url, pki, sign=True, require_signatures=True):
        yield made


async def _bl_ven(lab: TlsLab, name: str, client_id: str) -> str:
    body = {"objectType": "BL_VEN_REQUEST", "venName": name, "clientID": client_id}
    return str((await lab.bl("POST", "/vens", json=body))["id"])


async def test_certificate_identifies_the_ven_client(lab: TlsLab, pki: Pki20, codec: Oadr20bCodec) -> None:
    await lab.add_client("ven-fp", fingerprint_sha256((pki.root / "ven-fp.crt").read_bytes()))
    await lab.add_client("ven-short", short_fingerprint(pki.root / "ven-short.crt"))
    await lab.add_client("ven-named")  # no fingerprint: the certificate's SAN names the client
    fp_ven = await _bl_ven(lab, "site-fp", "ven-fp")
    short_ven = await _bl_ven(lab, "site-short", "ven-short")
    vens = {name: lab.ven(name, codec) for name in ("ven-fp", "ven-short", "ven-named", "ven-unknown")}
    try:
        for name, expected in (("ven-fp", fp_ven), ("ven-short", short_ven)):
            # No oadrVenName at all: the certificate decides which ven object registers.
            answer = await vens[name].send(m.CreatePartyRegistration(request_id="r"))
            assert isinstance(answer, m.CreatedPartyRegistration)
            assert (answer.response.code, answer.ven_id) == (200, expected), answer.response
            query = await vens[name].send(m.QueryRegistration(request_id="q"))
            assert isinstance(query, m.CreatedPartyRegistration)
            assert (query.ven_id, query.registration_id) == (expected, answer.registration_id)

        # A client without a ven object gets one, owned by it, named as the VEN asked.
        named = await vens["ven-named"].send(m.CreatePartyRegistration(request_id="r", ven_name="named-site"))
        assert isinstance(named, m.CreatedPartyRegistration) and named.response.code == 200
        listed = await lab.bl("GET", "/vens", params={"venName": "named-site"})
        assert [(v["id"], v["clientID"]) for v in listed] == [(named.ven_id, "ven-named")]

        # A certificate that identifies no VEN client is refused, whatever venName it claims.
        stranger = await vens["ven-unknown"].send(
            m.CreatePartyRegistration(request_id="r", ven_name="site-fp")
        )
        assert isinstance(stranger, m.CreatedPartyRegistration)
        assert (stranger.response.code, stranger.ven_id) == (463, None)
    finally:
        for ven in vens.values():
            await ven.session.close()


async def test_a_certified_ven_acts_only_for_its_own_ven_objects(
    lab: TlsLab, pki: Pki20, codec: Oadr20bCodec
) -> None:
    await lab.add_client("ven-fp", short_fingerprint(pki.root / "ven-fp.crt"))
    await lab.add_client("ven-short", short_fingerprint(pki.root / "ven-short.crt"))
    fp_ven = await _bl_ven(lab, "site-fp", "ven-fp")
    short_ven = await _bl_ven(lab, "site-short", "ven-short")
    a, b = lab.ven("ven-fp", codec), lab.ven("ven-short", codec)
    try:
        await a.send(m.CreatePartyRegistration(request_id="r"))
        await b.send(m.CreatePartyRegistration(request_id="r"))
        assert await a.send(m.Poll(ven_id=fp_ven)) == m.Response(response=EiResponse(), ven_id=fp_ven)
        foreign = await a.send(m.Poll(ven_id=short_ven))
        assert isinstance(foreign, m.Response) and foreign.response.code == 463
        claimed = await a.send(m.CreatePartyRegistration(request_id="r", ven_id=short_ven))
        assert isinstance(claimed, m.CreatedPartyRegistration) and claimed.response.code == 452
        # Without a certificate, venName admission (labs) works only for clients without a
        # registered certificate: site-short's client registered one, lab-site's did not.
        lab_ven = await _bl_ven(lab, "lab-site", "lab-client")
        plain = lab.ven(None, codec)
        try:
            refused = await plain.send(m.CreatePartyRegistration(request_id="r", ven_name="site-short"))
            assert isinstance(refused, m.CreatedPartyRegistration)
            assert (refused.response.code, refused.ven_id) == (463, None)
            assert "present it" in (refused.response.description or "")
            polled = await plain.send(m.Poll(ven_id=short_ven))
            assert isinstance(polled, m.Response) and polled.response.code == 463
            by_name = await plain.send(m.CreatePartyRegistration(request_id="r", ven_name="lab-site"))
            assert isinstance(by_name, m.CreatedPartyRegistration)
            assert (by_name.response.code, by_name.ven_id) == (200, lab_ven)
        finally:
            await plain.session.close()
    finally:
        await a.session.close()
        await b.session.close()


async def test_mtls_with_required_signatures(signed_lab: TlsLab, pki: Pki20, codec: Oadr20bCodec) -> None:
    lab = signed_lab
    await lab.add_client("ven-fp", short_fingerprint(pki.root / "ven-fp.crt"))
    await lab.add_client("ven-short", short_fingerprint(pki.root / "ven-short.crt"))
    fp_ven = await _bl_ven(lab, "site-fp", "ven-fp")
    signed = lab.ven("ven-fp", codec, sign=True)
    unsigned = lab.ven("ven-fp", codec)
    wrong_key = lab.ven("ven-fp", codec)
    wrong_key.signer = pki.signer("ven-short")  # TLS as ven-fp, signed as ven-short
    try:
        created = await signed.send(m.CreatePartyRegistration(request_id="r"))  # answer verified by the VEN
        assert isinstance(created, m.CreatedPartyRegistration) and created.ven_id == fp_ven
        assert await signed.send(m.Poll(ven_id=fp_ven)) == m.Response(response=EiResponse(), ven_id=fp_ven)
        refused = await unsigned.send(m.Poll(ven_id=fp_ven))
        assert isinstance(refused, m.Response) and refused.response.code == 463
        mismatch = await wrong_key.send(m.Poll(ven_id=fp_ven))
        assert isinstance(mismatch, m.Response) and mismatch.response.code == 463
        assert "another certificate" in (mismatch.response.description or "")
    finally:
        for ven in (signed, unsigned, wrong_key):
            await ven.session.close()
