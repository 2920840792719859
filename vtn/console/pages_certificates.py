"""Certificate requests (admins): the CSRs clients submitted (docs/onboarding.md) that wait for a decision.

Read-only on purpose: approving signs with the CA private key, which by design only the operator's
`vtn ca approve` loads (vtn/pki/onboarding.py); the VTN process reads the request store only.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from shared.enums import OperatorRole
from vtn.console.auth import Session, guarded
from vtn.console.view import render
from vtn.core.state import state
from vtn.pki.onboarding import OnboardingStore
from vtn.pki.records import CertificateRequest


def _pending(directory: str) -> list[CertificateRequest]:
    return OnboardingStore(directory).pending()


@guarded(OperatorRole.ADMIN)
async def certificate_requests(request: web.Request, session: Session) -> web.StreamResponse:
    directory = state(request).config.ca_dir
    pending = await asyncio.to_thread(_pending, directory) if directory else None
    return render(
        request, session, "certificates.html", page="certificates", pending=pending, ca_dir=directory
    )
