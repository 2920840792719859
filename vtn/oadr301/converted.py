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

Reports and vens of a page are remembered by their id with the input beside them (`checked`): the
input is compared with the one read, not hashed (a page's texts are new strings on each read, and
hashing 50 reports' cost more than comparing them). A ven's input is its text and its resources'
stamp (Reads.ven_rows: a new one whenever one of its resources is written) in place of their
texts, so a ven answered before is answered without reading its resources (`known_vens`). Their
page's JSON list is remembered too (`joined`), and sent again when the page is made of the very
same answers: no copy of ~100 KB, and no fresh allocation of it, per request. With it the page's
rows (`same_page`): a page read again with equal rows (texts and extras, in order, compared as one
list in C) is answered that list without looking at each row (~10 µs of 50 rows' look-ups).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from operator import is_
from typing import Any

from aiohttp import web

from shared.enums import ObjectType
from shared.wire.oadr3_json import encode_loaded, joined_encoded, load_stored
from vtn.core.queries import ReportRow, VenResources, VenRow
from vtn.oadr301 import outbound

Doc = dict[str, Any]
# An object of a page as the page statement gives it (Reads.report_rows, Reads.ven_rows: no copy
# per row): its stored text, a flag not read here, its id, and what else its conversion reads (a
# report's programID, a ven's resources' stamp).
Row = tuple[str, Any, str, Hashable]
MAX_CHARS = 32 << 20  # ~64 MB at most (keys are str, ASCII: a byte per character; answers bytes)


class Converted:
    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self._max = max_chars
        self._chars = 0
        self._texts: dict[Hashable, bytes] = {}
        # (kind, scope) -> id -> (text, extra, answer): `checked`'s.
        self._checked: dict[Hashable, dict[str, tuple[str, Hashable, bytes]]] = {}
        # A page's key -> (the answers it joined, the joined list, the rows they were made of):
        # `joined`'s and `same_page`'s.
        self._pages: dict[Hashable, tuple[list[bytes], bytes, Sequence[Row]]] = {}

    def text(self, key: Hashable, size: int, convert: Callable[..., Any], *args: Any) -> bytes:
        """The JSON text (json.dumps' spelling, compact, encoded) of `convert(*args)`, remembered
        under `key`, which must hold all `convert` reads; `size`: the characters of the stored
        text(s) in it."""
        found = self._texts.get(key)
        if found is None:
            found = encode_loaded(convert(*args))
            self._count(size + len(found))
            self._texts[key] = found
        return found

    def known(self, kind: ObjectType, rows: Sequence[Row], scope: str | None = None) -> list[bytes | None]:
        """What `checked` remembered of each row under (kind, scope) and its id, where it was
        converted from an equal text and extra; None for the others."""
        memo = self._checked.get((kind, scope))
        if memo is None:
            return [None] * len(rows)
        get = memo.get
        out: list[bytes | None] = []
        for text, _, object_id, extra in rows:
            found = get(object_id)
            out.append(found[2] if found is not None and found[0] == text and found[1] == extra else None)
        return out

    def checked(
        self, kind: ObjectType, scope: str | None, row: Row, convert: Callable[..., Any], *args: Any
    ) -> bytes:
        """`text` of `convert(*args)`, remembered under (kind, scope) and the row's id with its text
        and extra (which must hold all `convert` reads, with `scope`): `known` gives it again for
        an equal text and extra only (the last one converted under that key)."""
        text, _, object_id, extra = row
        memo = self._checked.setdefault((kind, scope), {})
        found = memo.get(object_id)
        if found is not None and found[0] == text and found[1] == extra:
            return found[2]
        answer = encode_loaded(convert(*args))
        self._count(len(text) + len(answer))
        self._checked.setdefault((kind, scope), {})[object_id] = (text, extra, answer)
        return answer

    def same_page(self, key: Hashable, rows: Sequence[Row]) -> bytes | None:
        """The list `joined` last gave under `key`, if it was made of rows equal to `rows` (so of
        the same answers: each is a function of its row and the scope, which `key` holds); else
        None."""
        found = self._pages.get(key)
        return found[1] if found is not None and found[2] == rows else None

    def joined(self, key: Hashable, answers: list[bytes], rows: Sequence[Row]) -> bytes:
        """joined_encoded(answers), the same bytes again when `key`'s last page joined these very
        answers (the same objects, in order: `known` gives the objects it keeps), so a page answered
        before is not copied, nor another ~100 KB allocated, again; remembered with the `rows`
        the answers were made of (`same_page`). Any key is correct: it only says which page to
        compare with."""
        found = self._pages.get(key)
        if found is not None and len(found[0]) == len(answers) and all(map(is_, found[0], answers)):
            self._pages[key] = (found[0], found[1], rows)
            return found[1]
        body = joined_encoded(answers)
        self._count(len(body) + sum(len(row[0]) for row in rows))
        self._pages[key] = (answers, body, rows)
        return body

    def _count(self, added: int) -> None:
        if self._chars + added > self._max:
            self._texts.clear()
            self._checked.clear()
            self._pages.clear()
            self._chars = 0
        self._chars += added


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


def _each(
    conv: Converted, kind: ObjectType, texts: Sequence[str], to_301: Callable[[Doc], Doc]
) -> list[bytes]:
    return [conv.text((kind, t), len(t), _convert, to_301, t) for t in texts]


def _convert(to_301: Callable[[Doc], Doc], text: str) -> Doc:
    return to_301(load_stored(text))


def programs(conv: Converted, texts: Sequence[str]) -> list[bytes]:
    return _each(conv, ObjectType.PROGRAM, texts, outbound.program_doc)


def events(conv: Converted, texts: Sequence[str]) -> list[bytes]:
    return _each(conv, ObjectType.EVENT, texts, outbound.event_doc)


def subscriptions(conv: Converted, texts: Sequence[str]) -> list[bytes]:
    return _each(conv, ObjectType.SUBSCRIPTION, texts, outbound.subscription_doc)


def resources(conv: Converted, texts: Sequence[str]) -> list[bytes]:
    return _each(conv, ObjectType.RESOURCE, texts, outbound.resource_doc)


def reports(conv: Converted, rows: Sequence[ReportRow]) -> bytes:
    """The JSON list of reports with the programIDs of their events (3.0.1 requires it, 3.1 has none)."""
    kind = ObjectType.REPORT
    key = _page_key(kind, None, rows)
    same = conv.same_page(key, rows)
    if same is not None:
        return same
    found = conv.known(kind, rows)
    if None in found:
        found = [
            done if done is not None else report(conv, row) for row, done in zip(rows, found, strict=True)
        ]
    return conv.joined(key, found, rows)  # type: ignore[arg-type]


def report(conv: Converted, row: ReportRow) -> bytes:
    """One report of `reports`."""
    return conv.checked(ObjectType.REPORT, None, row, _report, row[0], row[3])


def _page_key(kind: ObjectType, scope: str | None, rows: Sequence[Row]) -> Hashable:
    return (kind, scope, len(rows), rows[0][2], rows[-1][2]) if rows else (kind, scope, 0)


def _report(text: str, program_id: str | None) -> Doc:
    return outbound.report_doc(load_stored(text), program_id)


def same_vens(conv: Converted, rows: Sequence[VenRow], scope: str | None) -> bytes | None:
    """`vens` of these rows as answered before, if the page's rows are all as they were then."""
    return conv.same_page(_page_key(ObjectType.VEN, scope, rows), rows)


def known_vens(conv: Converted, rows: Sequence[VenRow], scope: str | None) -> list[bytes | None]:
    """The vens `rows` converted before with their resources as they are now (the same stamp), for
    a caller who sees the resources of client `scope` (None: everyone's); None for the others."""
    return conv.known(ObjectType.VEN, rows, scope)


def vens(conv: Converted, rows: Sequence[VenRow], scope: str | None, answers: list[bytes]) -> bytes:
    """The JSON list of the vens `rows` converted (`answers`: known_vens' and ven's)."""
    return conv.joined(_page_key(ObjectType.VEN, scope, rows), answers, rows)


def ven(conv: Converted, ven_id: str, text: str, scope: str | None, resources: VenResources) -> bytes:
    """Ven `ven_id` stored as `text`, embedding `resources` (those client `scope` sees, None:
    everyone's), remembered by its resources' stamp, or by their texts where there is none."""
    res = tuple(resources.docs)
    if resources.stamp is None:
        size = len(text) + sum(len(r) for r in res)
        return conv.text((ObjectType.VEN, text, res), size, _ven, text, res)
    row = (text, None, ven_id, resources.stamp)
    return conv.checked(ObjectType.VEN, scope, row, _ven, text, res)


def _ven(text: str, resources: tuple[str, ...]) -> Doc:
    return outbound.ven_doc(load_stored(text), [load_stored(r) for r in resources])
