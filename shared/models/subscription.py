"""Subscription: where and for what the VTN sends notifications."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.enums import ObjectType, Operation
from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import ClientId, ProgramId


class ObjectOperation(WireModel):
    objects: list[ObjectType]
    operations: list[Operation]
    callback_url: str = Field(alias="callbackUrl")
    bearer_token: str | None = Field(default=None, alias="bearerToken")

    @field_validator("operations", mode="before")
    @classmethod
    def _accept_verbs(cls, value: object) -> object:
        # Deployed 3.0 clients send GET/POST/PUT; store the 3.1 names.
        if isinstance(value, list):
            return [Operation.parse(v) if isinstance(v, str) else v for v in value]
        return value


class SubscriptionRequest(WireModel):
    """Writable body of POST/PUT /subscriptions. `secret` is our write-only extension (HMAC key)."""

    client_name: str = Field(alias="clientName")
    program_id: ProgramId | None = Field(default=None, alias="programID")
    object_operations: list[ObjectOperation] = Field(alias="objectOperations")
    targets: list[str] | None = None
    secret: str | None = None


class Subscription(SubscriptionRequest, ObjectMetadata):
    object_type: Literal["SUBSCRIPTION"] = Field(default="SUBSCRIPTION", alias="objectType")
    # Write-only: kept by the VTN for signing, never returned.
    secret: str | None = Field(default=None, exclude=True)
    client_id: ClientId = Field(alias="clientID")
