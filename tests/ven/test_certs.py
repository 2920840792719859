"""ven.certs: key + CSR generation, and the `ven certs request` command."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from shared.tls import client_identity
from ven.certs import make_key_and_csr
from ven.cli import certs as certs_cli
from ven.cli.errors import UserError
from vtn.pki import CertificateAuthority


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # With umask 0 a plain open() would create 0666 files: proves the key mode is set explicitly.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_make_key_and_csr_ec(tmp_path: Path, permissive_umask: None) -> None:
    key_path, csr_path = make_key_and_csr("ven-1", tmp_path / "out")
    assert (key_path, csr_path) == (tmp_path / "out" / "ven-1.key", tmp_path / "out" / "ven-1.csr")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ven-1"
    assert csr.public_key() == key.public_key()


def test_make_key_and_csr_rsa(tmp_path: Path) -> None:
    key_path, _ = make_key_and_csr("ven-r", tmp_path, key_type="rsa")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    with pytest.raises(ValueError, match="2048"):
        make_key_and_csr("ven-w", tmp_path, key_type="rsa", rsa_bits=1024)


def test_existing_key_is_not_replaced_without_force(tmp_path: Path, permissive_umask: None) -> None:
    key_path, _ = make_key_and_csr("ven-1", tmp_path)
    original = key_path.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        make_key_and_csr("ven-1", tmp_path)
    assert key_path.read_bytes() == original
    key_path.chmod(0o644)
    make_key_and_csr("ven-1", tmp_path, force=True)
    assert key_path.read_bytes() != original
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "x" * 65])
def test_invalid_ven_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        make_key_and_csr(name, tmp_path)


def test_csr_signed_by_ca_identifies_the_ven(tmp_path: Path) -> None:
    _, csr_path = make_key_and_csr("ven-5", tmp_path)
    ca = CertificateAuthority.init(tmp_path / "certs")
    cert = ca.sign_csr(csr_path.read_bytes(), "ven-5", days=5)
    assert client_identity(cert) == "ven-5"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ven")
    certs_cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_cli_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["certs", "request", "--ven-name", "ven-1", "--out-dir", str(tmp_path), "--key-type", "rsa"]
    args = parser().parse_args(argv)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "ven-1.key") in out and str(tmp_path / "ven-1.csr") in out
    assert "vtn ca sign" in out and "--client-id ven-1" in out
    assert stat.S_IMODE((tmp_path / "ven-1.key").stat().st_mode) == 0o600

    # A second run must not clobber the key; it raises the CLI's one-line error (exit 2).
    with pytest.raises(UserError, match="already exists") as info:
        args.func(args)
    assert info.value.code == 2


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["certs", "request", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--ven-name" in out and "--out-dir" in out and "--key-type" in out
