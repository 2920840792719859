"""Reverse-proxy mode, in process: which forwarded certificates the VTN believes, and from whom."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vtn.pki import CertificateAuthority
from vtn.proxy_tls import ForwardedCertificates, decode_forwarded, parse_networks


def _client_cert(ca: CertificateAuthority, name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), name, 30)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_decodes_nginx_escaped_pem_and_space_joined_pem(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert = _client_cert(ca, "ven-1")
    der = cert.public_bytes(serialization.Encoding.DER)
    assert decode_forwarded(quote(_pem(cert), safe="")) == der  # $ssl_client_escaped_cert
    assert decode_forwarded(_pem(cert).replace("\n", " ")) == der  # a proxy that folds lines
    with pytest.raises(ValueError, match="not a PEM certificate"):
        decode_forwarded("MIIB...")


def test_trusts_only_the_configured_addresses() -> None:
    fw = ForwardedCertificates("127.0.0.1, 10.1.0.0/24,::1")
    assert fw.trusts("127.0.0.1") and fw.trusts("10.1.0.77") and fw.trusts("::1")
    assert not fw.trusts("127.0.0.2") and not fw.trusts("10.1.1.1") and not fw.trusts(None)
    assert not fw.trusts("not-an-address")
    with pytest.raises(ValueError, match="is empty"):
        parse_networks(" , ")


def test_forwarded_certificate_must_come_from_the_configured_ca_and_not_be_revoked(tmp_path: Path) -> None:
    ours = CertificateAuthority.init(tmp_path / "ca")
    other = CertificateAuthority.init(tmp_path / "other", common_name="Other CA")
    good, revoked, foreign = (
        _client_cert(ours, "ven-1"),
        _client_cert(ours, "ven-2"),
        _client_cert(other, "x"),
    )
    ours.revoke(revoked)
    ours.write_crl()
    fw = ForwardedCertificates(["127.0.0.1"], ca_file=str(ours.cert_path), crl_file=str(ours.crl_path))
    der = serialization.Encoding.DER
    assert fw.refusal_reason(good.public_bytes(der)) is None
    assert "revoked" in (fw.refusal_reason(revoked.public_bytes(der)) or "")
    assert "not issued by a trusted CA" in (fw.refusal_reason(foreign.public_bytes(der)) or "")
    # Without a CA bundle the proxy's own check is all there is (and the dates, EKU still apply).
    assert ForwardedCertificates("127.0.0.1").refusal_reason(foreign.public_bytes(der)) is None


def test_crl_without_its_ca_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    with pytest.raises(ValueError, match="proxy_crl_file needs proxy_client_ca_file"):
        ForwardedCertificates("127.0.0.1", crl_file=str(ca.crl_path))
