"""Program: the container of events, written by BL only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import IntervalPeriod, PayloadDescriptor, ProgramDescription, ValuesMap


class ProgramRequest(WireModel):
    """Writable body of POST/PUT /programs."""

    program_name: str = Field(alias="programName")
    interval_period: IntervalPeriod | None = Field(default=None, alias="intervalPeriod")
    program_descriptions: list[ProgramDescription] | None = Field(default=None, alias="programDescriptions")
    payload_descriptors: list[PayloadDescriptor] | None = Field(default=None, alias="payloadDescriptors")
    attributes: list[ValuesMap] | None = None
    targets: list[str] | None = None


class Program(ProgramRequest, ObjectMetadata):
    object_type: Literal["PROGRAM"] = Field(default="PROGRAM", alias="objectType")
