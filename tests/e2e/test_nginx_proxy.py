"""The shipped nginx config (deploy/nginx/vtn.conf), run for real in front of a real `vtn serve`.

nginx terminates TLS and checks client certificates against our CA and CRL; the VTN listens on
plain HTTP and believes the forwarded certificate (X-SSL-Client-Cert) only from the proxy's
address. The certificates come from `vtn.pki`, as `vtn ca` makes them. Only the paths, ports and
server name of the shipped file are replaced (each replacement must match, so the file cannot drift
away from what is tested).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.processes import VtnProcess, free_port, lab_env, vtn_command

from shared.tls import client_ssl_context, thumbprint_s256
from vtn.pki import CertificateAuthority, private_key_pem

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "vtn.conf"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
BASE = "/openadr3/3.1.0"

if NGINX is None:
    if os.environ.get("CI"):
        pytest.fail("nginx is not installed; .ci/run installs it (apt-get install nginx)", pytrace=False)
    pytest.skip("nginx not installed (apt-get install nginx)", allow_module_level=True)


def _client(ca: CertificateAuthority, name: str, where: Path) -> tuple[Path, Path, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    cert = ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), name, 30)
    cert_path, key_path = where / f"{name}.crt", where / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(private_key_pem(key))
    return cert_path, key_path, cert


def render_site(tls_dir: Path, vtn_port: int, port: int) -> str:
    text = SITE.read_text()
    for old, new in {
        "/etc/energy-coordination/tls/": f"{tls_dir}/",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{vtn_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "listen [::]:443 ssl;": "",
        "server_name vtn.example.com;": "server_name localhost;",
    }.items():
        assert old in text, f"deploy/nginx/vtn.conf no longer contains {old!r}: update this test"
        text = text.replace(old, new)
    return text


def main_conf(prefix: Path) -> str:
    # Workers of a root master run as `nobody`, who cannot enter pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/tmp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\nerror_log {prefix}/error.log info;\npid {prefix}/nginx.pid;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {prefix}/access.log;\n{temp}\n    include {prefix}/vtn.conf;\n}}\n"
    )


@dataclass
class Lab:
    tmp: Path
    ca: CertificateAuthority
    certs: dict[str, tuple[Path, Path, x509.Certificate]]
    vtn: VtnProcess
    url: str  # https://127.0.0.1:<nginx port>/openadr3/3.1.0
    log: Path

    def ctx(self, name: str | None) -> ssl.SSLContext:
        cert, key = (self.certs[name][0], self.certs[name][1]) if name else (None, None)
        return client_ssl_context(ca_file=self.ca.cert_path, cert_file=cert, key_file=key)


def _port_open(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        assert proc.poll() is None, log.read_text() if log.exists() else "nginx exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not start listening")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One nginx and one VTN for the module (each test only reads or is refused)."""
    tmp_path = tmp_path_factory.mktemp("nginx-lab")
    ca = CertificateAuthority.init(tmp_path / "ca")
    tls = tmp_path / "tls"
    tls.mkdir()
    server_cert, server_key = ca.issue_server("localhost", ["127.0.0.1"])
    (tls / "server.crt").write_bytes(server_cert)
    (tls / "server.key").write_bytes(server_key)
    certs = {name: _client(ca, name, tmp_path) for name in ("ven-1", "ven-2")}
    ca.revoke(certs["ven-2"][2])
    ca.write_crl()
    other = CertificateAuthority.init(tmp_path / "other", common_name="Other CA")
    certs["stranger"] = _client(other, "ven-1", tmp_path / "other")
    shutil.copy(ca.cert_path, tls / "ca.crt")
    shutil.copy(ca.crl_path, tls / "crl.pem")

    db = f"sqlite:///{tmp_path / 'vtn.db'}"
    env = lab_env(VTN_TRUSTED_PROXIES="127.0.0.1", VTN_PROXY_CLIENT_CA_FILE=str(tls / "ca.crt"))
    vtn = VtnProcess(db, tmp_path / "vtn.log", env)
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    port = free_port()
    (prefix / "vtn.conf").write_text(render_site(tls, vtn.port, port))
    (prefix / "nginx.conf").write_text(main_conf(prefix))
    nginx = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        vtn.start()
        asyncio.run(vtn.ready())  # it has migrated the database
        for name in ("ven-1", "ven-2"):
            subprocess.run(
                [
                    *vtn_command(),
                    "clients",
                    "add",
                    "--db",
                    db,
                    "--name",
                    name,
                    "--client-id",
                    name,
                    "--role",
                    "ven",
                ],
                check=True,
                capture_output=True,
                env=lab_env(),
            )
        _port_open(port, nginx, prefix / "error.log")
        yield Lab(tmp_path, ca, certs, vtn, f"https://127.0.0.1:{port}{BASE}", tmp_path / "vtn.log")
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
        vtn.stop()


async def _token(
    session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "client_credentials", "client_id": "ven-1"}  # no secret: the certificate alone
    async with session.post(url + "/auth/token", data=form, ssl=ctx, headers=headers or {}) as resp:
        return resp.status, await resp.json(content_type=None)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


async def test_client_certificate_through_nginx_authenticates_and_binds_the_token(lab: Lab) -> None:
    async with aiohttp.ClientSession() as session:
        status, body = await _token(session, lab.url, lab.ctx("ven-1"))
        assert status == 200, body
        token = body["access_token"]
        assert _claims(token)["cnf"] == {"x5t#S256": thumbprint_s256(lab.certs["ven-1"][2])}
        auth = {"Authorization": f"Bearer {token}"}
        async with session.get(lab.url + "/programs", headers=auth, ssl=lab.ctx("ven-1")) as resp:
            assert resp.status == 200, await resp.text()
        # The token is bound to the certificate: without it (through the same proxy) it is refused.
        async with session.get(lab.url + "/programs", headers=auth, ssl=lab.ctx(None)) as resp:
            assert resp.status == 401
            assert "bound to a client certificate" in (await resp.json(content_type=None))["detail"]


async def test_a_client_cannot_forge_the_header_through_nginx(lab: Lab) -> None:
    pem = lab.certs["ven-1"][0].read_text()
    async with aiohttp.ClientSession() as session:
        forged = {"X-SSL-Client-Cert": quote(pem, safe="")}
        status, body = await _token(session, lab.url, lab.ctx(None), headers=forged)
        assert status == 400 and body["error"] == "invalid_request", body  # no certificate reached the VTN


async def test_the_vtn_ignores_the_header_from_an_address_it_does_not_trust(lab: Lab) -> None:
    pem = lab.certs["ven-1"][0].read_text()
    direct = lab.vtn.base  # plain HTTP straight to the VTN, from 127.0.0.2 (not a trusted proxy)
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        form = {"grant_type": "client_credentials", "client_id": "ven-1"}
        headers = {"X-SSL-Client-Cert": quote(pem, safe="")}
        async with session.post(direct + "/auth/token", data=form, headers=headers) as resp:
            assert resp.status == 400, await resp.text()
    assert "ignored X-SSL-Client-Cert header from 127.0.0.2" in lab.log.read_text()


async def test_nginx_refuses_revoked_and_foreign_certificates(lab: Lab) -> None:
    async with aiohttp.ClientSession() as session:
        for name in ("ven-2", "stranger"):  # on the CRL; issued by another CA
            async with session.get(lab.url + "/programs", ssl=lab.ctx(name)) as resp:
                assert resp.status == 400, name
                assert "SSL certificate error" in await resp.text()
        status, _ = await _token(session, lab.url, lab.ctx("ven-1"))
        assert status == 200
