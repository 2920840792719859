"""Ven and resource objects: a partner's gateway and the devices behind it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import ClientId, ValuesMap, VenId

BL_VEN_REQUEST = "BL_VEN_REQUEST"
VEN_VEN_REQUEST = "VEN_VEN_REQUEST"
BL_RESOURCE_REQUEST = "BL_RESOURCE_REQUEST"
VEN_RESOURCE_REQUEST = "VEN_RESOURCE_REQUEST"


class VenRequest(WireModel):
    """Body of POST/PUT /vens: the BL variant carries clientID and targets, the VEN variant neither.

    `id` is our extension: chosen on POST, kept as sent from BL, a key the VTN assigns the id from
    when a VEN sends it (vtn/core/ids.py).
    """

    object_type: Literal["BL_VEN_REQUEST", "VEN_VEN_REQUEST"] = Field(alias="objectType")
    id: VenId | None = None
    client_id: ClientId | None = Field(default=None, alias="clientID")
    ven_name: str = Field(alias="venName")
    targets: list[str] | None = None
    attributes: list[ValuesMap] | None = None


class Ven(ObjectMetadata):
    object_type: Literal["VEN"] = Field(default="VEN", alias="objectType")
    client_id: ClientId = Field(alias="clientID")
    ven_name: str = Field(alias="venName")
    targets: list[str] | None = None
    attributes: list[ValuesMap] | None = None


class ResourceRequest(WireModel):
    """Body of POST/PUT /resources (BL or VEN variant); `id` is our extension, as for vens."""

    object_type: Literal["BL_RESOURCE_REQUEST", "VEN_RESOURCE_REQUEST"] = Field(alias="objectType")
    id: str | None = None
    client_id: ClientId | None = Field(default=None, alias="clientID")
    resource_name: str = Field(alias="resourceName")
    ven_id: VenId = Field(alias="venID")
    targets: list[str] | None = None
    attributes: list[ValuesMap] | None = None


class Resource(ObjectMetadata):
    object_type: Literal["RESOURCE"] = Field(default="RESOURCE", alias="objectType")
    client_id: ClientId = Field(alias="clientID")
    resource_name: str = Field(alias="resourceName")
    ven_id: VenId = Field(alias="venID")
    targets: list[str] | None = None
    attributes: list[ValuesMap] | None = None
