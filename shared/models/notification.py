"""Notification: the message a subscriber receives when an object changes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.enums import ObjectType, Operation
from shared.models.base import WireModel
from shared.models.event import Event
from shared.models.program import Program
from shared.models.report import Report
from shared.models.subscription import Subscription
from shared.models.ven import Resource, Ven

AnyObject = Annotated[
    Program | Event | Report | Subscription | Ven | Resource, Field(discriminator="object_type")
]


class Notification(WireModel):
    object_type: ObjectType = Field(alias="objectType")
    operation: Operation
    object: AnyObject
    targets: list[str] | None = None
