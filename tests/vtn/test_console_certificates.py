"""Console certificate requests: admins see the pending CSRs of the onboarding store (and how to
decide on them); other roles are refused; without a CA directory the page says so."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from support.api_data import lab_vtn
from support.console import add_operator, login

from shared.enums import OperatorRole
from vtn.pki.onboarding import OnboardingStore


def _csr(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.PEM)
    )


async def test_admin_sees_pending_requests_only(db_url: str, tmp_path: Path) -> None:
    store = OnboardingStore(tmp_path)
    waiting = store.submit(_csr("ven-7"), "client-7")
    store.reject(store.submit(_csr("ven-8"), "client-8"))
    async with lab_vtn(db_url, ca_dir=str(tmp_path)) as lab:
        await add_operator(lab.store, "op", OperatorRole.OPERATOR)
        assert (await login(lab.client, "op")).status == 302
        assert (await lab.client.get("/console/certificates")).status == 403
        await add_operator(lab.store, "root", OperatorRole.ADMIN)
        assert (await login(lab.client, "root")).status == 302
        page = await (await lab.client.get("/console/certificates")).text()
        assert waiting in page and "client-7" in page and "client-8" not in page
        assert f"vtn ca approve --dir {tmp_path} REQUEST_ID" in page


async def test_without_a_ca_directory_the_page_says_so(db_url: str) -> None:
    async with lab_vtn(db_url) as lab:
        await add_operator(lab.store, "root", OperatorRole.ADMIN)
        assert (await login(lab.client, "root")).status == 302
        page = await lab.client.get("/console/certificates")
        assert page.status == 200 and 'id="no-ca"' in await page.text()
