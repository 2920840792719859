"""VEN side of certificate onboarding: a private key and a CSR to hand to the VTN operator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KeyType = Literal["ec", "rsa"]


def _generate_key(key_type: KeyType, rsa_bits: int) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        if rsa_bits < 2048:
            raise ValueError(f"RSA keys must be at least 2048 bits (got {rsa_bits})")
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    raise ValueError(f"unknown key type {key_type!r}: use 'ec' or 'rsa'")


def _write_private(path: Path, data: bytes, *, force: bool) -> None:
    # O_EXCL unless forced: silently replacing a VEN's key would orphan its issued certificate.
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{path} already exists: pass --force to replace the key") from None
    with os.fdopen(fd, "wb") as fh:
        # An existing file keeps its old mode under O_TRUNC; the umask may strip bits: set it exactly.
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)


def make_key_and_csr(
    ven_name: str,
    out_dir: str | os.PathLike[str],
    key_type: KeyType = "ec",
    *,
    rsa_bits: int = 2048,
    force: bool = False,
) -> tuple[Path, Path]:
    """Write `<ven_name>.key` (mode 0600) and `<ven_name>.csr` (CN = ven_name) into `out_dir`.

    The key is created with mode 0600 from the start, so it is never readable by others.
    Returns (key_path, csr_path).
    """
    if not ven_name or "/" in ven_name or "\\" in ven_name or ven_name.startswith("."):
        raise ValueError(f"invalid VEN name {ven_name!r}: it becomes a file name")
    if len(ven_name) > 64:
        raise ValueError(f"VEN name {ven_name!r} is longer than the 64 characters a CN allows")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / f"{ven_name}.key"
    csr_path = directory / f"{ven_name}.csr"
    key = _generate_key(key_type, rsa_bits)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ven_name)]))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, pem, force=force)
    csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return key_path, csr_path
