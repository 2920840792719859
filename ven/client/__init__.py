"""Typed async client of the OpenADR 3.1 VTN API, for VEN agents, BL scripts and partners.

    async with VtnClient(base_url, client_id=..., client_secret=...) as vtn:
        events = await vtn.list_events(program_id, active=True)

Rejections raise the shared/errors.py classes (NotFound, Conflict, Forbidden, Unauthorized,
BadRequest, SchemaViolation with `.pointer`, ...); an unreachable VTN raises VtnUnavailable.
"""

from ven.client.api import VtnClient
from ven.client.errors import InvalidAnswer, TlsVerificationFailed, VtnUnavailable, error_from_response
from ven.client.paging import MAX_PAGE_SIZE

__all__ = [
    "MAX_PAGE_SIZE",
    "InvalidAnswer",
    "TlsVerificationFailed",
    "VtnClient",
    "VtnUnavailable",
    "error_from_response",
]
