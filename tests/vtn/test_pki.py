"""vtn.pki: the file-backed CA, revocation, onboarding, and the `vtn ca` commands."""

from __future__ import annotations

import argparse
import ipaddress
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.tls import fingerprint_sha256, fingerprint_short_2b
from vtn.cli import ca as ca_cli
from vtn.cli.common import CliError
from vtn.pki import CertificateAuthority, OnboardingStore, PkiError


def make_csr(
    cn: str = "ven-1", org: str | None = None, key: ec.EllipticCurvePrivateKey | None = None
) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


E = TypeVar("E", bound=x509.ExtensionType)


def ext(cert: x509.Certificate, kind: type[E]) -> E:
    return cert.extensions.get_extension_for_class(kind).value


def critical(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> bool:
    return cert.extensions.get_extension_for_class(kind).critical


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "certs")


# -- init / load ---------------------------------------------------------------------------------


def test_init_ec_creates_layout(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "certs")
    d = tmp_path / "certs"
    assert mode(d / "ca.key") == 0o600
    assert (d / "issued").is_dir() and (d / "requests").is_dir()
    assert json.loads((d / "revoked.json").read_text()) == []
    cert = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
    assert cert == ca.certificate
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Energy Coordination Dev CA"
    assert critical(cert, x509.BasicConstraints) and ext(cert, x509.BasicConstraints).ca
    assert ext(cert, x509.KeyUsage).key_cert_sign
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_after_utc - datetime.now(UTC) > timedelta(days=3649)
    crl = x509.load_pem_x509_crl((d / "crl.pem").read_bytes())
    assert crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
    assert len(crl) == 0
    assert crl.next_update_utc is not None
    assert timedelta(days=6, hours=23) < crl.next_update_utc - datetime.now(UTC) <= timedelta(days=7)
    assert ca.key_type == "ec"


def test_init_rsa_and_key_size_floor(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(
        tmp_path / "rsa", key_type="rsa", common_name="RSA CA", days=30, crl_days=2
    )
    key = ca.certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert ca.key_type == "rsa"
    assert ca.crl().next_update_utc - datetime.now(UTC) <= timedelta(days=2)  # type: ignore[operator]
    with pytest.raises(PkiError, match="at least 2048"):
        CertificateAuthority.init(tmp_path / "weak", key_type="rsa", rsa_bits=1024)
    assert not (tmp_path / "weak" / "ca.key").exists()


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    first = CertificateAuthority.init(tmp_path / "certs")
    with pytest.raises(PkiError, match="--force"):
        CertificateAuthority.init(tmp_path / "certs")
    assert CertificateAuthority.load(tmp_path / "certs").certificate == first.certificate
    first.sign_csr(make_csr(), "ven-1")
    with pytest.raises(PkiError, match="2048"):
        CertificateAuthority.init(tmp_path / "certs", force=True, key_type="rsa", rsa_bits=1024)
    assert CertificateAuthority.load(tmp_path / "certs").certificate == first.certificate
    second = CertificateAuthority.init(tmp_path / "certs", force=True)
    assert second.certificate != first.certificate
    assert second.list_issued() == []
    (archive,) = (tmp_path / "certs").glob("superseded-*")
    assert x509.load_pem_x509_certificate((archive / "ca.crt").read_bytes()) == first.certificate
    assert mode(archive / "ca.key") == 0o600 and mode(archive) == 0o700
    assert len(list((archive / "issued").glob("*.crt"))) == 1


def test_load_missing_ca_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match=r"no CA in .*nowhere/: run `vtn ca init --dir .*nowhere`"):
        CertificateAuthority.load(tmp_path / "nowhere")


def test_load_detects_key_certificate_mismatch(tmp_path: Path) -> None:
    CertificateAuthority.init(tmp_path / "a")
    CertificateAuthority.init(tmp_path / "b")
    (tmp_path / "a" / "ca.key").write_bytes((tmp_path / "b" / "ca.key").read_bytes())
    with pytest.raises(PkiError, match="does not match"):
        CertificateAuthority.load(tmp_path / "a")


# -- issuing -------------------------------------------------------------------------------------


def test_issue_server_certificate(ca: CertificateAuthority) -> None:
    cert_pem, key_pem = ca.issue_server("vtn.example", ["127.0.0.1", "::1", "127.0.0.1"], days=90)
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert key.public_key() == cert.public_key()
    san = ext(cert, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["vtn.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert list(ext(cert, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = ext(cert, x509.KeyUsage)
    assert critical(cert, x509.KeyUsage) and ku.digital_signature and not ku.key_encipherment
    assert critical(cert, x509.BasicConstraints) and not ext(cert, x509.BasicConstraints).ca
    ca_ski = ext(ca.certificate, x509.SubjectKeyIdentifier)
    assert ext(cert, x509.AuthorityKeyIdentifier).key_identifier == ca_ski.digest
    assert ext(cert, x509.SubjectKeyIdentifier) == x509.SubjectKeyIdentifier.from_public_key(
        cert.public_key()
    )
    cert.verify_directly_issued_by(ca.certificate)
    assert (ca.directory / "issued" / f"{cert.serial_number:x}.crt").read_bytes() == cert_pem
    assert timedelta(days=89) < cert.not_valid_after_utc - datetime.now(UTC) <= timedelta(days=90)


def test_issue_server_for_ip_host_and_rsa_key_usage(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "rsa", key_type="rsa")
    cert = x509.load_pem_x509_certificate(ca.issue_server("10.0.0.5")[0])
    san = ext(cert, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    assert san.get_values_for_type(x509.DNSName) == []
    assert isinstance(cert.public_key(), rsa.RSAPublicKey)
    assert ext(cert, x509.KeyUsage).key_encipherment
    with pytest.raises(PkiError, match="invalid IP"):
        ca.issue_server("vtn.example", ["not-an-ip"])


def test_sign_csr_issues_client_certificate(ca: CertificateAuthority) -> None:
    cert = ca.sign_csr(make_csr(cn="ignored", org="Acme Energy"), "ven-42", days=30)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ven-42"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme Energy"
    assert list(ext(cert, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    uris = ext(cert, x509.SubjectAlternativeName).get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == ["urn:energy-coordination:client:ven-42"]
    assert not ext(cert, x509.BasicConstraints).ca
    cert.verify_directly_issued_by(ca.certificate)
    assert ca.issued_certificate(cert.serial_number) == cert
    assert timedelta(days=29) < cert.not_valid_after_utc - datetime.now(UTC) <= timedelta(days=30)


def test_sign_csr_validity_overrides_and_cap(ca: CertificateAuthority) -> None:
    past_start, past_end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC)
    cert = ca.sign_csr(make_csr(), "old", not_before=past_start, not_after=past_end)
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (past_start, past_end)
    long = ca.sign_csr(make_csr(), "long", days=365 * 50)
    assert long.not_valid_after_utc == ca.certificate.not_valid_after_utc
    with pytest.raises(PkiError, match="expire before"):
        ca.sign_csr(make_csr(), "x", not_before=past_end, not_after=past_start)
    with pytest.raises(PkiError, match="days"):
        ca.sign_csr(make_csr(), "x", days=0)


def test_sign_csr_rejects_bad_input(ca: CertificateAuthority) -> None:
    pem = make_csr()
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # corrupt the signature
    with pytest.raises(PkiError, match="signature"):
        ca.sign_csr(bytes(der), "ven-1")
    with pytest.raises(PkiError, match="not a certificate signing request"):
        ca.sign_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nxx\n-----END CERTIFICATE REQUEST-----\n", "ven-1")
    with pytest.raises(PkiError, match="invalid client id"):
        ca.sign_csr(pem, "bad id/../x")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")])
    weak_csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(weak, hashes.SHA256())
    with pytest.raises(PkiError, match="too weak"):
        ca.sign_csr(weak_csr.public_bytes(serialization.Encoding.PEM), "weak")
    assert ca.list_issued() == []


# -- revocation ----------------------------------------------------------------------------------


def test_revoke_updates_revoked_json_and_crl(ca: CertificateAuthority) -> None:
    one = ca.sign_csr(make_csr(), "ven-1")
    two = ca.sign_csr(make_csr(), "ven-2")
    number = ca.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    entry = ca.revoke(one, reason="key-compromise")
    assert entry.serial == one.serial_number and entry.reason == "keyCompromise"
    ca.revoke(two.serial_number)
    assert ca.revoke(two.serial_number).revoked_at == ca.revocations()[1].revoked_at  # idempotent
    doc = json.loads((ca.directory / "revoked.json").read_text())
    assert [d["serial"] for d in doc] == [f"{one.serial_number:x}", f"{two.serial_number:x}"]
    assert {"serial", "revoked_at", "reason"} == set(doc[0])
    crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]
    assert crl.issuer == ca.certificate.subject
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 2
    revoked_one = crl.get_revoked_certificate_by_serial_number(one.serial_number)
    assert revoked_one is not None
    assert (
        revoked_one.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    revoked_two = crl.get_revoked_certificate_by_serial_number(two.serial_number)
    assert revoked_two is not None and len(revoked_two.extensions) == 0  # "unspecified" is omitted


def test_revoke_refuses_unknown_serials_and_foreign_certs(ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="no certificate with serial"):
        ca.revoke(12345)
    other = CertificateAuthority.init(tmp_path / "other")
    with pytest.raises(PkiError, match="not issued by this CA"):
        ca.revoke(other.sign_csr(make_csr(), "x"))
    with pytest.raises(PkiError, match="unknown revocation reason"):
        ca.revoke(ca.sign_csr(make_csr(), "x"), reason="because")
    assert ca.revocations() == []


def test_list_issued_records(ca: CertificateAuthority) -> None:
    server = x509.load_pem_x509_certificate(ca.issue_server("vtn.example")[0])
    client = ca.sign_csr(make_csr(), "ven-7")
    ca.revoke(client)
    records = {r.serial: r for r in ca.list_issued()}
    assert set(records) == {server.serial_number, client.serial_number}
    c = records[client.serial_number]
    assert (c.kind, c.subject_cn, c.client_id, c.revoked) == ("client", "ven-7", "ven-7", True)
    assert c.fingerprint == client.fingerprint(hashes.SHA256()).hex()
    assert c.not_after == client.not_valid_after_utc and c.not_before == client.not_valid_before_utc
    s = records[server.serial_number]
    assert (s.kind, s.subject_cn, s.client_id, s.revoked) == ("server", "vtn.example", None, False)
    assert s.to_json()["serial"] == f"{server.serial_number:x}"


# -- onboarding ----------------------------------------------------------------------------------


def test_onboarding_request_approve(ca: CertificateAuthority) -> None:
    # The API side needs no CA key: it uses the store directly.
    api = OnboardingStore(ca.directory)
    request_id = api.submit(make_csr(), "ven-9")
    assert (ca.directory / "requests" / f"{request_id}.csr").is_file()
    meta = json.loads((ca.directory / "requests" / f"{request_id}.json").read_text())
    assert (meta["status"], meta["client_id"]) == ("pending", "ven-9") and meta["created"]
    assert [r.request_id for r in ca.pending_requests()] == [request_id]
    assert api.issued_certificate(request_id) is None

    cert = ca.approve(request_id, days=10)
    status = ca.request_status(request_id)
    assert status.status == "approved" and status.serial == cert.serial_number and status.decided_at
    assert ca.pending_requests() == []
    assert api.issued_certificate(request_id) == cert == ca.issued_certificate_for(request_id)
    uris = ext(cert, x509.SubjectAlternativeName).get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == ["urn:energy-coordination:client:ven-9"]
    with pytest.raises(PkiError, match="already approved"):
        ca.approve(request_id)


def test_onboarding_reject_and_bad_input(ca: CertificateAuthority) -> None:
    request_id = ca.submit_request(make_csr(), "ven-3")
    assert ca.reject(request_id).status == "rejected"
    assert ca.issued_certificate_for(request_id) is None
    with pytest.raises(PkiError, match="already rejected"):
        ca.approve(request_id)
    with pytest.raises(PkiError, match="invalid request id"):
        ca.request_status("../ca")
    with pytest.raises(PkiError, match="no certificate request"):
        ca.request_status("0" * 32)
    with pytest.raises(PkiError):
        ca.submit_request(b"not a csr", "ven-3")
    with pytest.raises(PkiError, match="invalid client id"):
        ca.submit_request(make_csr(), "")
    assert ca.list_issued() == []


# -- CLI -----------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vtn")
    ca_cli.register(p.add_subparsers(dest="command", required=True))
    return p


def run(*argv: str) -> int:
    args = parser().parse_args(list(argv))
    return int(args.func(args))


@pytest.mark.parametrize(
    "command", ["init", "issue-server", "sign", "revoke", "crl", "list", "requests", "approve", "reject"]
)
def test_cli_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["ca", command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--dir" in out and len(out) > 100


def test_cli_dir_defaults_to_certs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vtn.cli.ca import ca_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VTN_CA_DIR", raising=False)
    assert parser().parse_args(["ca", "list"]).dir is None  # resolved when the command runs
    assert ca_dir(None) == Path("certs")  # no CA anywhere yet
    monkeypatch.setenv("VTN_CA_DIR", "elsewhere")
    assert ca_dir(None) == Path("elsewhere")


def test_cli_full_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "certs")
    assert run("ca", "init", "--dir", d) == 0
    with pytest.raises(CliError, match="--force"):
        run("ca", "init", "--dir", d)
    assert run("ca", "init", "--dir", d, "--key-type", "rsa", "--rsa-bits", "2048", "--force") == 0
    assert CertificateAuthority.load(d).key_type == "rsa"
    with pytest.raises(CliError, match="2048"):
        run("ca", "init", "--dir", str(tmp_path / "weak"), "--key-type", "rsa", "--rsa-bits", "1024")

    srv_cert, srv_key = tmp_path / "out" / "server.crt", tmp_path / "out" / "server.key"
    args = ["--host", "localhost", "--ip", "127.0.0.1", "--ip", "::1", "--out-cert", str(srv_cert)]
    assert run("ca", "issue-server", "--dir", d, *args, "--out-key", str(srv_key), "--days", "30") == 0
    assert mode(srv_key) == 0o600
    cert = x509.load_pem_x509_certificate(srv_cert.read_bytes())
    assert len(ext(cert, x509.SubjectAlternativeName).get_values_for_type(x509.IPAddress)) == 2

    csr = tmp_path / "ven.csr"
    csr.write_bytes(make_csr())
    out = tmp_path / "ven.crt"
    capsys.readouterr()
    assert (
        run("ca", "sign", str(csr), "--dir", d, "--client-id", "ven-1", "--days", "10", "--out", str(out))
        == 0
    )
    client = x509.load_pem_x509_certificate(out.read_bytes())
    printed = capsys.readouterr().out
    assert fingerprint_sha256(client) in printed and fingerprint_short_2b(client) in printed

    capsys.readouterr()
    assert run("ca", "list", "--dir", d, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["serial"] for r in listed} == {f"{cert.serial_number:x}", f"{client.serial_number:x}"}
    assert run("ca", "list", "--dir", d) == 0
    assert "ven-1" in capsys.readouterr().out

    assert run("ca", "revoke", "--dir", d, str(out)) == 0
    assert "revoked" in capsys.readouterr().out
    crl = x509.load_pem_x509_crl((tmp_path / "certs" / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(client.serial_number) is not None
    assert run("ca", "revoke", "--dir", d, str(out)) == 0
    assert "already revoked" in capsys.readouterr().out
    assert run("ca", "crl", "--dir", d, "--crl-days", "3") == 0


@pytest.mark.parametrize("form", ["hex", "0x", "decimal", "colons"])
def test_cli_revoke_by_serial(tmp_path: Path, form: str) -> None:
    ca = CertificateAuthority.init(tmp_path / "certs")
    serial = ca.sign_csr(make_csr(), "ven-1").serial_number
    hexs = f"{serial:x}"
    text = {
        "hex": hexs,
        "0x": f"0x{hexs.upper()}",
        "decimal": str(serial),
        "colons": ":".join(f"{serial:040x}"[i : i + 2] for i in range(0, 40, 2)),
    }[form]
    assert run("ca", "revoke", "--dir", str(tmp_path / "certs"), text, "--reason", "superseded") == 0
    assert [(e.serial, e.reason) for e in ca.revocations()] == [(serial, "superseded")]


def test_cli_revoke_errors(tmp_path: Path) -> None:
    d = str(tmp_path / "certs")
    CertificateAuthority.init(d)
    with pytest.raises(CliError, match="no certificate with serial"):
        run("ca", "revoke", "--dir", d, "abc123")
    with pytest.raises(CliError, match="neither a certificate file nor a serial"):
        run("ca", "revoke", "--dir", d, "zz-top")
    junk = tmp_path / "junk.pem"
    junk.write_text("junk")
    with pytest.raises(CliError, match="not a certificate"):
        run("ca", "revoke", "--dir", d, str(junk))


def test_cli_missing_ca_and_missing_csr(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="vtn ca init --dir"):
        run("ca", "list", "--dir", str(tmp_path / "none"))
    CertificateAuthority.init(tmp_path / "certs")
    with pytest.raises(CliError, match="No such file"):
        run(
            "ca",
            "sign",
            str(tmp_path / "missing.csr"),
            "--dir",
            str(tmp_path / "certs"),
            "--client-id",
            "v",
            "--out",
            "x",
        )


def test_cli_onboarding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "certs"
    ca = CertificateAuthority.init(d)
    first = ca.submit_request(make_csr(), "ven-a")
    second = ca.submit_request(make_csr(), "ven-b")
    capsys.readouterr()
    assert run("ca", "requests", "--dir", str(d)) == 0
    listing = capsys.readouterr().out
    assert first in listing and second in listing and "ven-a" in listing

    out = tmp_path / "a.crt"
    assert run("ca", "approve", "--dir", str(d), first, "--days", "20", "--out", str(out)) == 0
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    assert fingerprint_short_2b(cert) in capsys.readouterr().out
    assert ca.issued_certificate_for(first) == cert
    assert run("ca", "reject", "--dir", str(d), second) == 0
    assert ca.request_status(second).status == "rejected"
    capsys.readouterr()
    assert run("ca", "requests", "--dir", str(d)) == 0
    assert "no pending" in capsys.readouterr().out
    assert run("ca", "requests", "--dir", str(d), "--all") == 0
    assert "rejected" in capsys.readouterr().out
    with pytest.raises(CliError, match="already rejected"):
        run("ca", "approve", "--dir", str(d), second, "--days", "5")
