"""Certificate onboarding over the API (our extension to OpenADR 3.1; see docs/onboarding.md).

`POST {base}/certificates/requests` queues a CSR for the caller's client id; the operator signs
it with `vtn ca approve`, and `GET {base}/certificates/requests/{requestID}` then returns the
certificate and the CA chain. The API process only needs the CA directory, never the CA key:
requests and issued certificates are files (`vtn.pki.OnboardingStore`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding

from shared.errors import BadRequest, Conflict, NotFound, ServerError
from shared.tls import fingerprint_sha256
from vtn.handlers.http_io import caller, path_id, state
from vtn.pki import CertificateRequest, OnboardingStore, PkiError, load_csr
from vtn.pki.builders import check_public_key
from vtn.pki.records import validate_request_id

# An authenticated client may not fill the operator's queue (and the disk) with requests.
MAX_PENDING_PER_CLIENT = 5
NOT_CONFIGURED = "certificate onboarding is not configured"


def _ca_dir(request: web.Request) -> Path:
    directory = state(request).config.ca_dir
    if not directory:
        raise NotFound(NOT_CONFIGURED)
    return Path(directory)


def _describe(record: CertificateRequest) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "requestID": record.request_id,
        "clientID": record.client_id,
        "status": record.status,
        "created": record.created.isoformat(),
    }
    if record.decided_at is not None:
        doc["decided"] = record.decided_at.isoformat()
    return doc


async def _csr_from_body(request: web.Request) -> str:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadRequest("request body too large for a CSR") from exc
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest('expected a JSON object {"csr": "<PEM>"}') from exc
    csr = doc.get("csr") if isinstance(doc, dict) else None
    if not isinstance(csr, str) or not csr.strip():
        raise BadRequest('"csr" must be a PEM certificate signing request', pointer="/csr")
    return csr


def _submit(directory: Path, csr_pem: str, client_id: str) -> CertificateRequest:
    try:
        # Refuse what `vtn ca approve` would refuse, now rather than after the operator looks at it.
        check_public_key(load_csr(csr_pem).public_key())
        store = OnboardingStore(directory)
        pending = [r for r in store.pending() if r.client_id == client_id]
        if len(pending) >= MAX_PENDING_PER_CLIENT:
            raise Conflict(
                f"client {client_id} already has {len(pending)} pending certificate requests; "
                "wait for the operator to decide on them"
            )
        return store.get(store.submit(csr_pem, client_id))
    except PkiError as exc:
        raise BadRequest(str(exc), pointer="/csr") from exc


async def submit_request(request: web.Request) -> web.StreamResponse:
    """POST /certificates/requests: queue a CSR for the caller's client id (202, pending)."""
    directory = _ca_dir(request)
    who = caller(request)
    csr_pem = await _csr_from_body(request)
    record = await asyncio.to_thread(_submit, directory, csr_pem, who.client_id)
    location = f"{request.path.rstrip('/')}/{record.request_id}"
    return web.json_response(_describe(record), status=202, headers={"Location": location})


def _lookup(directory: Path, request_id: str) -> tuple[CertificateRequest, dict[str, Any]] | None:
    store = OnboardingStore(directory)
    try:
        record = store.get(validate_request_id(request_id))
    except PkiError:
        return None
    extra: dict[str, Any] = {}
    if record.status == "approved":
        try:
            cert = store.issued_certificate(request_id)
            chain = (directory / "ca.crt").read_text()
        except (PkiError, OSError) as exc:
            raise ServerError(f"request {request_id} was approved but its certificate is unreadable") from exc
        if cert is not None:
            extra = {
                "certificate": cert.public_bytes(Encoding.PEM).decode(),
                "caChain": chain,
                "fingerprint": fingerprint_sha256(cert),
                "notAfter": cert.not_valid_after_utc.isoformat(),
            }
    return record, extra


async def get_request(request: web.Request) -> web.StreamResponse:
    """GET /certificates/requests/{requestID}: status; with the certificate once approved."""
    directory = _ca_dir(request)
    who = caller(request)
    request_id = path_id(request, "requestID")
    found = await asyncio.to_thread(_lookup, directory, request_id)
    # Another client's request is as invisible as a missing one.
    if found is None or not (who.is_bl or found[0].client_id == who.client_id):
        raise NotFound(f"no certificate request {request_id}")
    record, extra = found
    return web.json_response({**_describe(record), **extra})
