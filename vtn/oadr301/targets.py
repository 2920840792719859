"""Targets: OpenADR 3.0.1 valuesMaps `{type, values}` <-> OpenADR 3.1 target strings.

The mapping (documented in docs/interop.md, "OpenADR 3.0.1 API"):

* 3.0.1 -> 3.1: each value of a valuesMap becomes one string. Type `GROUP` gives the value itself
  (`{"type": "GROUP", "values": ["g1"]}` -> `"g1"`); any other type gives `"TYPE:value"`
  (`{"type": "VEN_NAME", "values": ["v1"]}` -> `"VEN_NAME:v1"`).
* 3.1 -> 3.0.1: a string `"TYPE:value"` whose TYPE is an upper-case name other than GROUP
  (`^[A-Z][A-Z0-9_]*$`) and whose value is not empty becomes `{type: TYPE, values: [value]}`;
  every other string becomes a GROUP value, unchanged. Consecutive strings of one type are merged
  into one valuesMap, in order.

This is a bijection between 3.1 strings and the 3.0.1 (type, value) pairs that can be written, so an
object round-trips unchanged through either version. Inputs that have no 3.1 spelling are refused
(400): a type that is not an upper-case name, and a GROUP value that itself looks like
`"TYPE:value"` (it would come back as another type). Number and boolean values are accepted and
written as their JSON text (`{"type": "POWER_SERVICE_LOCATION", "values": [42]}` -> `"...:42"`);
they come back as strings, the one lossy case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from shared.errors import BadRequest

GROUP = "GROUP"
_TYPE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_PREFIXED = re.compile(r"([A-Z][A-Z0-9_]*):(.+)\Z", re.DOTALL)


def _value_text(value: Any, pointer: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise BadRequest("target values must be strings, numbers or booleans", pointer=pointer)


def to_strings(values_maps: Sequence[Any] | None, pointer: str = "/targets") -> list[str] | None:
    """3.0.1 target valuesMaps -> 3.1 target strings (None stays None; an empty list stays empty)."""
    if values_maps is None:
        return None
    out: list[str] = []
    for i, vm in enumerate(values_maps):
        at = f"{pointer}/{i}"
        if not isinstance(vm, dict) or not isinstance(vm.get("type"), str):
            raise BadRequest("a target is a valuesMap {type, values}", pointer=at)
        kind = vm["type"]
        if not _TYPE.match(kind):
            raise BadRequest(
                f"target type {kind!r} must be an upper-case name (A-Z, 0-9, _) to map to OpenADR 3.1",
                pointer=at + "/type",
            )
        for j, raw in enumerate(vm.get("values") or []):
            text = _value_text(raw, f"{at}/values/{j}")
            if kind == GROUP:
                found = _PREFIXED.match(text)
                if found and found.group(1) != GROUP:
                    raise BadRequest(
                        f"GROUP value {text!r} reads as a {found.group(1)} target in OpenADR 3.1; "
                        f"send it as type {found.group(1)}",
                        pointer=f"{at}/values/{j}",
                    )
                out.append(text)
            else:
                out.append(f"{kind}:{text}")
    return out


def split(target: str) -> tuple[str, str]:
    """One 3.1 target string -> its 3.0.1 (type, value)."""
    found = _PREFIXED.match(target)
    if found and found.group(1) != GROUP:
        return found.group(1), found.group(2)
    return GROUP, target


def to_values_maps(targets: Iterable[str] | None) -> list[dict[str, Any]] | None:
    """3.1 target strings -> 3.0.1 valuesMaps, merging runs of the same type."""
    if targets is None:
        return None
    out: list[dict[str, Any]] = []
    for target in targets:
        kind, value = split(target)
        if out and out[-1]["type"] == kind:
            out[-1]["values"].append(value)
        else:
            out.append({"type": kind, "values": [value]})
    return out


def query_targets(target_type: str | None, target_values: Sequence[str]) -> frozenset[str] | None:
    """`targetType` + `targetValues` query parameters -> the 3.1 `targets` filter (None: no filter).

    Without `targetType` the values are taken as GROUP values; a type alone filters nothing.
    """
    values = [v for v in target_values if v]
    if not values:
        return None
    kind = target_type or GROUP
    return frozenset(to_strings([{"type": kind, "values": values}], pointer="") or [])
