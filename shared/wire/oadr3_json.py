"""OpenADR 3 JSON codec: bytes <-> models, with schema validation on the way in.

Pure (no I/O). Decoding order: parse JSON, drop null members (the spec treats an optional field
sent as null as absent), validate against the named schema, then build the typed model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

import orjson
from pydantic import ValidationError

from shared.errors import BadRequest, SchemaViolation
from shared.models.base import WireModel
from shared.validation import SchemaRegistry, ValuesMapKind, strip_nulls

M = TypeVar("M", bound=WireModel)


# Real OpenADR documents nest about eight levels; anything far deeper is an attack on the parser.
MAX_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


# Where orjson's answer may differ from json.loads': integers beyond 64 bits (orjson makes them
# floats). A body with a run of 19 digits takes the stdlib path, which decides as it always has;
# found by spelling every digit 0 and looking for 19 zeros (a regex took twice orjson's time).
_DIGITS_AS_ZERO = bytes(b"0"[0] if chr(b).isdigit() and b < 128 else b for b in range(256))
_LONG_RUN = b"0" * 19


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; malformed or hostile input is a 400 that says what is wrong."""
    doc = _fast_parse(body)
    if doc is _NOT_PARSED:
        doc = _stdlib_parse(body)
    if not _shallow_and_plain(body):
        _check_document(doc)  # the walk over every member, which also names what is wrong
    return doc


_NOT_PARSED = object()


def parse_stored(text: str) -> Any:
    """A stored document (JSON the VTN wrote) parsed as json.loads parses it, by orjson where
    that surely gives the same (not, e.g., for integers beyond 64 bits)."""
    doc = _fast_parse(text.encode())
    return json.loads(text) if doc is _NOT_PARSED else doc


def _fast_parse(body: bytes) -> Any:
    """orjson's parse where it surely equals json.loads' (_NOT_PARSED otherwise).

    orjson refuses whatever json.loads might accept differently (a BOM, UTF-16, lone surrogates,
    NaN, out-of-range floats, deep nesting): all of it goes to the stdlib path, whose answer and
    error messages stay the reference.
    """
    if _LONG_RUN in body.translate(_DIGITS_AS_ZERO):
        return _NOT_PARSED
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_PARSED


def _stdlib_parse(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise BadRequest(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from exc


# Fast path: _check_document's answer from the raw bytes of the body (~20 µs instead of ~65 for a
# 24-interval report). Conservative: any doubt takes the walk, which decides and names the problem.

# What can put a NUL or a lone surrogate into parsed text: the escapes \u0000 and \uD800-\uDFFF,
# or raw UTF-8-encoded surrogates (json.loads decodes bytes with "surrogatepass").
_RISKY_TEXT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')


def _shallow_and_plain(body: bytes) -> bool:
    """True if the parsed `body` surely passes _check_document (no deep nesting, no bad text).

    Without a NUL byte the body is UTF-8 (UTF-16/32 JSON always has NUL bytes), where _RISKY_TEXT
    finds whatever could decode to a NUL or a lone surrogate, and a quote byte is always a quote.
    Without an escaped quote, the pieces between quotes then alternate between outside and inside
    a string, so the brackets outside strings are the structure. Each round deletes every empty
    `[]`, then every empty `{}`, i.e. at most two levels: a structure gone within MAX_DEPTH // 2
    rounds nests at most MAX_DEPTH brackets, so no member lies deeper than MAX_DEPTH.
    """
    if b"\x00" in body:
        return False
    # A one-byte search is memchr; CPython's two-byte ones cost ~3 µs each over a 2 KB report, and
    # both need a backslash, which most bodies do not hold.
    escapes = b"\\" in body
    if escapes and b'\\"' in body:
        return False
    if ((escapes and b"\\u" in body) or b"\xed" in body) and _RISKY_TEXT.search(body) is not None:
        return False
    # Quotes and brackets only; strings without brackets inside are then just `""` pairs.
    brackets = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:  # some string holds a bracket: cut the strings out properly
        brackets = b"".join(body.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH // 2):
        if not brackets:
            return True
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return not brackets


def _check_document(doc: Any) -> None:
    """Reject what no store can keep faithfully: deep nesting, NUL characters, lone surrogates."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                _check_text(key)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def check_text(value: str, what: str = "a string") -> None:
    """Raise BadRequest for text with NUL characters or lone surrogates (neither can be stored)."""
    if "\x00" in value:
        raise BadRequest(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{what} contains an unpaired surrogate") from exc


def _check_text(value: str) -> None:
    check_text(value)


# Request schemas whose valuesMaps are also checked against the enumerations (e.g. SIMPLE is 0..3).
_PAYLOAD_KINDS: dict[str, ValuesMapKind] = {
    "eventRequest": "event",
    "reportRequest": "report",
    "programRequest": "program",
    "venRequest": "ven",
    "resourceRequest": "resource",
}


def decode(registry: SchemaRegistry, schema: str, model: type[M], body: bytes) -> M:
    """Bytes -> validated model; raises BadRequest/SchemaViolation with a JSON pointer."""
    return model_of(model, validated(registry, schema, body))


def validated(registry: SchemaRegistry, schema: str, body: bytes) -> Any:
    """Bytes -> the parsed document, nulls dropped, valid against `schema` (what `decode` builds its
    model from); raises BadRequest/SchemaViolation with a JSON pointer."""
    # Only a body that spells `null` somewhere can hold a null member; skip the copying walk otherwise.
    return validated_doc(registry, schema, parse_json(body), nulls=b"null" in body)


def decode_doc(registry: SchemaRegistry, schema: str, model: type[M], doc: Any, *, nulls: bool = True) -> M:
    return model_of(model, validated_doc(registry, schema, doc, nulls=nulls))


def validated_doc(registry: SchemaRegistry, schema: str, doc: Any, *, nulls: bool = True) -> Any:
    if nulls:
        doc = strip_nulls(doc)
    registry.validate(schema, doc)
    kind = _PAYLOAD_KINDS.get(schema)
    if kind is not None:
        registry.validate_payloads(kind, doc)
    return doc


def model_of(model: type[M], doc: Any) -> M:
    """The typed model of a document `validated_doc` accepted."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        # The schema should have caught it; still answer 400 with a pointer, never 500.
        first = exc.errors()[0]
        pointer = "/" + "/".join(str(p) for p in first["loc"]) if first["loc"] else ""
        raise SchemaViolation(first["msg"], pointer=pointer) from exc


# What json.dumps(to_wire()) spells differently from pydantic's own JSON serializer: non-ASCII and
# DEL (json.dumps escapes them), floats below 1e-4 (1e-07 / 1e-05 there, 1e-7 / 0.00001 here).
# A JSON number follows `:`, `[` or `,` (pydantic's JSON has no spaces); ids such as "…4d0e-…"
# inside strings also hold "e-", so each "e-" is checked by walking back over the digits before it.
_NUMBER_START = frozenset(":[,")
_MANTISSA = frozenset("0123456789.")


def _has_negative_exponent(text: str) -> bool:
    """Whether a JSON number in `text` (pydantic's JSON, no spaces) has a negative exponent.

    A loop over the few "e-" of a document instead of a regex over all of it: the regex tried a
    match at every `:` and `,` and cost ~20 µs for a 24-interval report, a tenth of its write. The
    "e-" are found by literal regexes, about twice as fast as str.find of a two-character needle.
    """
    for marker in _MARKERS:
        for found in marker.finditer(text):
            at = found.start()
            i = at - 1
            while i >= 0 and text[i] in _MANTISSA:
                i -= 1
            if (
                i < at - 1
                and text[i + 1] != "."
                and i >= 0
                and (text[i] in _NUMBER_START or (text[i] == "-" and i > 0 and text[i - 1] in _NUMBER_START))
            ):
                return True
    return False


_MARKERS = (re.compile("e-"), re.compile("E-"))


def wire_json(obj: WireModel) -> str:
    """pydantic's wire JSON of `obj` (aliases, no nulls): what the store keeps as its document."""
    return obj.model_dump_json(by_alias=True, exclude_none=True)


class StoredDoc(NamedTuple):
    """A document as the store keeps it: its text (wire_json) and whether json.dumps would spell it
    the same (`canonical`), decided once when it is written."""

    text: str
    canonical: bool


class StoredDocs(list[str]):
    """Stored documents (wire_json texts) in list order; `canonical`: every one of them was marked
    canonical when written, so encode_stored_list joins them as they are, unchecked."""

    __slots__ = ("canonical",)

    def __init__(self, texts: Iterable[str] = (), canonical: bool = False) -> None:
        super().__init__(texts)
        self.canonical = canonical

    def mapped(self, change: Callable[[str], str]) -> StoredDocs:
        """`change` applied to each document (e.g. targets hidden); still canonical if each document
        it changed is (a changed one is checked: few are)."""
        changed = [change(t) for t in self]
        known = self.canonical and all(
            new is old or canonical(new) for old, new in zip(self, changed, strict=True)
        )
        return StoredDocs(changed, known)


class StoredTexts:
    """pydantic's JSON of the objects a store wrote last, by id, with the object itself so that an id
    is never mistaken for a later object's: the answer to a write is the same text (one per store)."""

    def __init__(self, max_entries: int = 128) -> None:
        # More than one group-commit batch (64) of writes awaiting their answers.
        self._max = max_entries
        self._recent: dict[int, tuple[WireModel, StoredDoc]] = {}

    def keep(self, obj: WireModel) -> StoredDoc:
        """wire_json and whether it is canonical, kept for a moment, so that encoding the answer to
        the write that stored it costs nothing more."""
        text = wire_json(obj)
        doc = StoredDoc(text, canonical(text))
        recent = self._recent
        if len(recent) >= self._max:
            recent.pop(next(iter(recent), 0), None)  # the oldest
        recent[id(obj)] = (obj, doc)
        return doc

    def take(self, obj: WireModel) -> StoredDoc | None:
        """The document kept for `obj`, once: nothing outlives its request here."""
        found = self._recent.pop(id(obj), None)
        return found[1] if found is not None and found[0] is obj else None


def _wire_text(obj: WireModel, stored: StoredTexts | None = None) -> str:
    """The wire JSON of `obj`, byte for byte what json.dumps(obj.to_wire()) gives.

    pydantic writes the same JSON straight from the model in ~1/5 of the time (no intermediate
    dicts); where its spelling could differ from json.dumps', json.dumps writes it as before.
    """
    kept = stored.take(obj) if stored is not None else None
    if kept is not None and kept.canonical:
        return kept.text
    text = kept.text if kept is not None else None
    if text is None:
        try:
            text = obj.model_dump_json(by_alias=True, exclude_none=True)
        except ValueError:  # a value pydantic's serializer refuses: json.dumps decides, as before
            text = None
    if text is None or not canonical(text):
        text = json.dumps(obj.to_wire(), separators=(",", ":"))
    return text


def canonical(text: str) -> bool:
    """Whether json.dumps(to_wire()) spells the object whose wire_json is `text` the same, so that
    `text` is its answer as it is. False where unsure: the answer is then encoded anew."""
    # Substring tests first (memchr speed); then a look at each "e-", where an exponent may hide.
    if not text.isascii() or "\x7f" in text or "0.0000" in text:
        return False
    return not _has_negative_exponent(text)


def encode(obj: WireModel, stored: StoredTexts | None = None) -> bytes:
    """The answer for `obj`; `stored`: where the store that just wrote it kept its text."""
    return _wire_text(obj, stored).encode()


def encode_stored(text: str, build: Callable[[], WireModel], known_canonical: bool = False) -> bytes:
    """The answer for an object stored as `text` (its wire_json): what encode(build()) gives,
    without building the object unless json.dumps would spell the text differently.
    `known_canonical`: `text` was found canonical when written (no need to look again)."""
    return text.encode() if known_canonical or canonical(text) else encode(build())


def encode_stored_list(texts: Sequence[str], model: type[WireModel]) -> bytes:
    """encode_list of the objects stored as `texts` (their wire_json), building none whose text
    json.dumps would spell the same; StoredDocs marked canonical are joined unchecked."""
    if isinstance(texts, StoredDocs) and texts.canonical:
        return joined(texts)
    # One check of the whole page (the documents' "e-" and ascii tests do not change when joined).
    if not canonical(",".join(texts)):
        texts = [t if canonical(t) else _wire_text(model.model_validate_json(t)) for t in texts]
    return joined(texts)


def joined(texts: Sequence[str]) -> bytes:
    """The JSON list of documents spelled as `texts`: the page joined once, then encoded (two
    copies of the page; joining then bracketing made three: ~10 % more CPU for a 95 KB page)."""
    if not texts:
        return b"[]"
    parts = [","] * (2 * len(texts) + 1)
    parts[0], parts[-1] = "[", "]"
    parts[1::2] = texts
    return "".join(parts).encode()


def joined_encoded(docs: Sequence[bytes]) -> bytes:
    """`joined` of documents already encoded, in one copy: each copy of a page of ~100 KB is a
    fresh allocation past glibc's mmap threshold, whose pages are faulted in again each time."""
    if not docs:
        return b"[]"
    parts = [b","] * (2 * len(docs) + 1)
    parts[0], parts[-1] = b"[", b"]"
    parts[1::2] = docs
    return b"".join(parts)


def encode_list(objs: Sequence[WireModel]) -> bytes:
    return ("[" + ",".join(_wire_text(o) for o in objs) + "]").encode()


def encode_doc(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def load_stored(text: str) -> Any:
    """A stored document (wire_json text) as the dict its object's to_wire() gives: orjson's parse,
    or json.loads' where a 19-digit run could be an integer beyond 64 bits (orjson makes it a float).

    Why: a front-end answering in another dialect (3.0.1) converts the stored text at the JSON level
    instead of building the typed object (pydantic's parse and to_wire cost ~5x this parse).
    """
    if _LONG_RUN in text.encode().translate(_DIGITS_AS_ZERO):
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    return orjson.loads(text)


def encode_loaded(doc: Any) -> bytes:
    """encode_doc of a document of plain JSON values (load_stored's, changed or not; no NaN or
    infinity): orjson's text where it is byte for byte json.dumps' (ASCII, no float spelled with a
    negative exponent), json.dumps' otherwise."""
    try:
        fast = orjson.dumps(doc)
    except TypeError:  # an integer beyond 64 bits, a key that is not a string
        return encode_doc(doc)
    return fast if canonical(fast.decode()) else encode_doc(doc)
