"""Whole unsigned oadrDistributeEvent payloads, remembered by what they are made of.

A VEN asking again (oadrRequestEvent) gets the same events as last time, and each answer was
built, validated against the schema and serialised anew (a 77 KB answer of 11 events × 24
intervals: about a millisecond of lxml work). Here the serialised payload is kept by its content:
the envelope (response code and description, vtnID) and each event as EventMemo keys it, with its
target. Two values differ between requests for the same content and are spliced in as text: the
requestID (in eiResponse and in the distribute itself) and the recipient's venID (in each
event's target), so VENs with the same grants share one entry.

The bytes are the full build's: an entry is a full build (validated, as every answer is) of the
message with placeholder values, cut at the placeholders; the values are escaped by lxml's own
serialiser. A message of another form (no response, a response for another requestID, an empty
requestID or venID, events for several VENs) is built in full, as before. Bounded by the
entries' bytes: cleared when full.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable

from lxml import etree

from shared.oadr20b import messages as m
from shared.oadr20b._events import event_key
from shared.oadr20b.parts import EventSignal, Target


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    signals: tuple[tuple[EventSignal, ...], ...]  # held: the key has their ids
    parts: tuple[bytes, ...]  # literal bytes, and b"" where a value goes:
    requests: tuple[int, ...]  # the requestID (at these indexes)
    vens: tuple[int, ...]  # the venID
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """An unsigned distribute's payload but for its requestID (`AnswerMemo.render` puts one in)."""

    entry: _Entry
    ven: bytes  # the recipient's venID as serialised
    generation: int  # the memo's when prepared: its entry may have left the memo since (memory only)


# Values the serialiser writes unchanged (most ids): no element built to escape them.
_PLAIN = re.compile(r"[A-Za-z0-9_.:/+=-]+")


def _escaped(value: str) -> bytes:
    """`value` as the serialiser writes it as an element's text (non-empty values only)."""
    if _PLAIN.fullmatch(value):
        return value.encode()
    el = etree.Element("x")
    el.text = value
    out: bytes = etree.tostring(el, encoding="UTF-8")
    return out[3:-4]  # <x>...</x>


def _to(target: Target, ven_id: str) -> Target:
    return dataclasses.replace(target, ven_ids=(ven_id,))


class AnswerMemo:
    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: dict[tuple[object, ...], _Entry] = {}
        self._generation = 0
        # Placeholders no real value holds (and that escape to themselves).
        token = secrets.token_hex(12)
        self._request_mark = f"zzREQUEST{token}zz"
        self._ven_mark = f"zzVEN{token}zz"

    @property
    def generation(self) -> int:
        """Moves each time the memo is cleared (full)."""
        return self._generation

    def build(self, msg: m.DistributeEvent, full: Callable[[m.DistributeEvent], bytes]) -> bytes:
        """The payload of `msg`: remembered, or built by `full` (and remembered if of the usual form)."""
        prepared = self.prepare(msg, full)
        return full(msg) if prepared is None else self.render(prepared, msg.request_id)

    def prepare(self, msg: m.DistributeEvent, full: Callable[[m.DistributeEvent], bytes]) -> Prepared | None:
        """`msg`'s payload but for its requestID, remembered or built by `full`; None for a message
        of another form (see the module's docstring), which only a full build gives."""
        keyed = self._key(msg)
        if keyed is None:
            return None
        key, ven_id = keyed
        found = self._entries.get(key)
        signals = tuple(e.signals for e in msg.events)
        if found is None or any(a is not b for a, b in zip(found.signals, signals, strict=True)):
            found = self._template(msg, signals, full)
            if found is None:
                return None
            if self._bytes + found.size > self._max_bytes:
                self._entries.clear()
                self._bytes = 0
                self._generation += 1
            self._entries[key] = found
            self._bytes += found.size
        return Prepared(found, _escaped(ven_id) if ven_id else b"", self._generation)

    @staticmethod
    def render(prepared: Prepared, request_id: str) -> bytes:
        """The payload with `request_id` (non-empty) put in."""
        entry = prepared.entry
        parts = list(entry.parts)
        value = _escaped(request_id)
        for i in entry.requests:
            parts[i] = value
        for i in entry.vens:
            parts[i] = prepared.ven
        return b"".join(parts)

    def _key(self, msg: m.DistributeEvent) -> tuple[tuple[object, ...], str] | None:
        response = msg.response
        if response is None or response.request_id != msg.request_id or not msg.request_id:
            return None
        ven_id = ""
        events: list[tuple[object, ...]] = []
        for event in msg.events:
            target = event.target
            if len(target.ven_ids) != 1 or not target.ven_ids[0] or ven_id not in ("", target.ven_ids[0]):
                return None
            ven_id = target.ven_ids[0]
            events.append((event_key(event), dataclasses.replace(target, ven_ids=())))
        return (response.code, response.description, msg.vtn_id, tuple(events)), ven_id

    def _template(
        self,
        msg: m.DistributeEvent,
        signals: tuple[tuple[EventSignal, ...], ...],
        full: Callable[[m.DistributeEvent], bytes],
    ) -> _Entry | None:
        request, ven = self._request_mark, self._ven_mark
        marked = dataclasses.replace(
            msg,
            request_id=request,
            response=dataclasses.replace(msg.response, request_id=request) if msg.response else None,
            events=tuple(dataclasses.replace(e, target=_to(e.target, ven)) for e in msg.events),
        )
        built = full(marked)
        pieces = re.split(f"({request}|{ven})".encode(), built)
        slots = pieces[1::2]
        if slots.count(request.encode()) != 2 or slots.count(ven.encode()) != len(msg.events):
            return None  # not the form this memo knows: built in full every time
        parts: list[bytes] = []
        requests: list[int] = []
        vens: list[int] = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                if piece:
                    parts.append(piece)
                continue
            (requests if piece == request.encode() else vens).append(len(parts))
            parts.append(b"")
        return _Entry(signals, tuple(parts), tuple(requests), tuple(vens), len(built))
