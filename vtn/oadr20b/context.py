"""What every 2.0b message handler gets: transaction, side-table store, settings, codec and caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.enums import Operation
from shared.models import Report as Report31
from shared.models import Ven
from shared.oadr20b import Oadr20bCodec
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from vtn.core.core import Changes, Core
from vtn.core.oadr20b_records import Registration
from vtn.core.queries import Oadr20bStore, Tx
from vtn.oadr20b.admission import LAB, Caller
from vtn.oadr20b.answers import StampedVens
from vtn.oadr20b.mapping import DecodedDocs, Shapes
from vtn.oadr20b.settings import Oadr20bSettings


@dataclass
class Ctx:
    tx: Tx
    st: Oadr20bStore
    settings: Oadr20bSettings
    codec: Oadr20bCodec
    core: Core
    changes: Changes  # what this unit of work changed, settled by the core's write path
    now: datetime
    caller: Caller = LAB
    shapes: Shapes | None = None  # the service's memo of mapped event versions (mapping.py)
    docs: DecodedDocs | None = None  # the service's memo of decoded events and resources (mapping.py)
    known: StampedVens | None = None  # oadrRequestEvent: vens, registrations, grants as of its stamps

    async def notify(self, operation: Operation, report: Report31) -> None:
        """Tell 3.1 subscribers (BL) about a report written on behalf of a 2.0b VEN."""
        await self.core.notify(self.tx, self.changes, operation, report)

    def ven_created(self) -> None:
        """A ven object was created: the core moves the grants stamp and drops cached grants."""
        self.changes.grants = True


async def check_owner(ctx: Ctx, ven: Ven) -> None:
    """A caller identified by certificate may only act for ven objects of its own client, and a
    ven object whose client registered a certificate fingerprint only for a caller presenting it."""
    owner = ctx.caller.client_id
    if owner is not None and ven.client_id != owner:
        raise Oadr20bError(
            ResponseCode.NOT_REGISTERED_OR_AUTHORIZED,
            f"venID {ven.id!r} does not belong to the client of this certificate",
        )
    if owner is None:
        record = await ctx.tx.clients.get(ven.client_id)
        if record is not None and record.cert_fingerprint:
            raise Oadr20bError(
                ResponseCode.NOT_REGISTERED_OR_AUTHORIZED,
                f"venID {ven.id!r} belongs to a client with a registered certificate: present it",
            )


async def registered_ven(ctx: Ctx, ven_id: str | None) -> tuple[Ven, Registration]:
    """The ven object and registration behind a message's venID, or a 463/452 error."""
    if not ven_id:
        raise Oadr20bError(ResponseCode.INVALID_ID, "the message carries no venID")
    if ctx.known is not None and (found := ctx.known.ven(ven_id, ctx.caller.client_id)) is not None:
        return found
    ven = await ctx.tx.vens.get(ven_id)
    if ven is None:
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown venID {ven_id!r}")
    await check_owner(ctx, ven)
    reg = await ctx.st.registration(ven_id)
    if reg is None:
        raise Oadr20bError(ResponseCode.NOT_REGISTERED_OR_AUTHORIZED, f"venID {ven_id!r} is not registered")
    if ctx.known is not None:
        ctx.known.keep_ven(ctx.caller.client_id, ven, reg)
    return ven, reg
