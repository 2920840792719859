"""3.0.1 documents converted from stored 3.1 ones, remembered by the stored text they came from.

Why: a 3.0.1 answer is another document than the stored 3.1 one, so each read parsed and rewrote
every document of the page (~30 µs for an event of 24 intervals, a BL events list ~0.8 ms); the
3.1 API sends the stored text as it is. A conversion is a pure function of its input, the stored
text (and for reports the event's programID, for vens their resources' texts), so what it gave is
remembered under that input itself: it can never be stale (a changed object has another text), and
nothing needs invalidating. Not a read cache: the documents are read from the store every time
(which objects, which targets hidden), only their spelling in 3.0.1 is remembered. Bounded by the
characters held (keys and answers); past the bound all is dropped at once (cheap to rebuild).
One per app (add_routes), in `app[CONVERTED]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import Any

from aiohttp import web

from shared.enums import ObjectType
from shared.wire.oadr3_json import encode_loaded, load_stored
from vtn.oadr301 import outbound

Doc = dict[str, Any]
MAX_CHARS = 32 << 20  # ~64 MB of str at most (keys and answers are ASCII: a byte per character)


class Converted:
    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self._max = max_chars
        self._chars = 0
        self._texts: dict[Hashable, str] = {}

    def text(self, key: Hashable, size: int, convert: Callable[[], Any]) -> str:
        """The JSON text (json.dumps' spelling, compact) of `convert()`, remembered under `key`,
        which must hold all `convert` reads; `size`: the characters of the stored text(s) in it."""
        found = self._texts.get(key)
        if found is None:
            found = encode_loaded(convert()).decode()
            added = size + len(found)
            if self._chars + added > self._max:
                self._texts.clear()
                self._chars = 0
            self._texts[key] = found
            self._chars += added
        return found


CONVERTED = web.AppKey("oadr301_converted", Converted)


_DECODER = json.JSONDecoder()


def member(text: str, name: str) -> Any:
    """The value of the top-level member `name` of stored document `text`, without parsing all of it
    where the name appears once: `"name":` spelled so is a member name (a quote inside a string is
    escaped), and the kinds read so (reports' eventID, vens' id, resources' venID) have no member of
    that name below the top level. Otherwise the document is parsed."""
    spelled = f'"{name}":'
    at = text.find(spelled)
    if at >= 0 and text.find(spelled, at + 1) < 0:
        return _DECODER.raw_decode(text, at + len(spelled))[0]
    return load_stored(text)[name]


def _each(conv: Converted, kind: ObjectType, texts: Sequence[str], to_301: Callable[[Doc], Doc]) -> list[str]:
    known = conv._texts.get  # a converted text is never empty: `or` converts only what is not known
    return [known((kind, t)) or conv.text((kind, t), len(t), partial(_convert, to_301, t)) for t in texts]


def _convert(to_301: Callable[[Doc], Doc], text: str) -> Doc:
    return to_301(load_stored(text))


def programs(conv: Converted, texts: Sequence[str]) -> list[str]:
    return _each(conv, ObjectType.PROGRAM, texts, outbound.program_doc)


def events(conv: Converted, texts: Sequence[str]) -> list[str]:
    return _each(conv, ObjectType.EVENT, texts, outbound.event_doc)


def subscriptions(conv: Converted, texts: Sequence[str]) -> list[str]:
    return _each(conv, ObjectType.SUBSCRIPTION, texts, outbound.subscription_doc)


def resources(conv: Converted, texts: Sequence[str]) -> list[str]:
    return _each(conv, ObjectType.RESOURCE, texts, outbound.resource_doc)


def reports(conv: Converted, texts: Sequence[str], program_ids: Sequence[str | None]) -> list[str]:
    """Reports with the programIDs of their events (3.0.1 requires it, 3.1 has none)."""
    return [
        conv.text((ObjectType.REPORT, t, p), len(t), partial(_convert, partial(_report, program_id=p), t))
        for t, p in zip(texts, program_ids, strict=True)
    ]


def _report(doc: Doc, program_id: str | None) -> Doc:
    return outbound.report_doc(doc, program_id)


def vens(conv: Converted, texts: Sequence[str], resources_of: Mapping[str, Sequence[str]]) -> list[str]:
    """Vens embedding their resources (`resources_of`: venID -> the resources' stored texts)."""
    out: list[str] = []
    for t in texts:
        res = tuple(resources_of[member(t, "id")])
        size = len(t) + sum(len(r) for r in res)

        out.append(conv.text((ObjectType.VEN, t, res), size, partial(_ven, t, res)))
    return out


def _ven(text: str, resources: tuple[str, ...]) -> Doc:
    return outbound.ven_doc(load_stored(text), [load_stored(r) for r in resources])
