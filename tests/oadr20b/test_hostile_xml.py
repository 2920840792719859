"""Hostile XML is rejected with a 2.0b error (454), never expanded or fetched, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.oadr20b import SIDE_TABLES, Lab, bl_ven, register

from shared.oadr20b import SafeXmlParser, XmlLimits, XmlRejected
from shared.oadr20b import messages as m
from shared.oadr20b.namespaces import EI, OADR

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def poll_doc(ven_id: str, doctype: str = "") -> bytes:
    return (
        f'{HEAD}{doctype}<oadr:oadrPayload xmlns:oadr="{OADR}" xmlns:ei="{EI}">'
        f'<oadr:oadrSignedObject oadr:Id="oadrSignedObject"><oadr:oadrPoll ei:schemaVersion="2.0b">'
        f"<ei:venID>{ven_id}</ei:venID></oadr:oadrPoll></oadr:oadrSignedObject></oadr:oadrPayload>"
    ).encode()


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return poll_doc("&lol9;", f"<!DOCTYPE oadrPayload [{''.join(entities)}]>")


@pytest.fixture
async def listener() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording every request: external entities must never reach it."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text='<!ENTITY x "fetched">')

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    server = TestServer(app)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}", hits
    finally:
        await server.close()


async def _refused(lab: Lab, data: bytes) -> m.Response:
    content_type, body = await lab.ven.raw("OadrPoll", data)
    assert content_type == "application/xml"
    answer = lab.ven.codec.parse(body)
    assert isinstance(answer, m.Response)
    assert answer.response.code == 454, answer.response
    assert b"root:" not in body and b"fetched" not in body
    return answer


@pytest.fixture
async def ready(lab: Lab) -> tuple[Lab, str, dict[str, int]]:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    return lab, ven["id"], await lab.count("vens", "reports", *SIDE_TABLES)


async def test_billion_laughs(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, _, before = ready
    answer = await _refused(lab, billion_laughs())
    assert "declarations" in (answer.response.description or "")
    assert await lab.count("vens", "reports", *SIDE_TABLES) == before


async def test_external_entity_file(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, _, before = ready
    await _refused(lab, poll_doc("&xxe;", '<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'))
    assert await lab.count("vens", "reports", *SIDE_TABLES) == before


async def test_external_entity_and_dtd_over_network(
    ready: tuple[Lab, str, dict[str, int]], listener: tuple[str, list[str]]
) -> None:
    lab, _, before = ready
    url, hits = listener
    await _refused(lab, poll_doc("&xxe;", f'<!DOCTYPE p [<!ENTITY xxe SYSTEM "{url}/entity">]>'))
    await _refused(lab, poll_doc("v", f'<!DOCTYPE oadrPayload SYSTEM "{url}/evil.dtd">'))
    await _refused(lab, poll_doc("v", f'<!DOCTYPE p [<!ENTITY % ext SYSTEM "{url}/param.dtd"> %ext;]>'))
    assert hits == []
    assert await lab.count("vens", "reports", *SIDE_TABLES) == before


async def test_plain_internal_dtd(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, ven_id, _ = ready
    await _refused(lab, poll_doc(ven_id, "<!DOCTYPE oadrPayload [<!ELEMENT oadrPayload ANY>]>"))


async def test_five_megabytes(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, ven_id, before = ready
    answer = await _refused(lab, poll_doc(ven_id + " " * (5 * 1024 * 1024)))
    assert "exceeds the limit" in (answer.response.description or "")
    assert await lab.count("vens", "reports", *SIDE_TABLES) == before


async def test_ten_thousand_levels_deep(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, _, before = ready
    await _refused(lab, poll_doc("<ei:x>" * 10_000 + "v" + "</ei:x>" * 10_000))
    assert await lab.count("vens", "reports", *SIDE_TABLES) == before


async def test_not_xml_and_wrong_content_type(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, ven_id, _ = ready
    await _refused(lab, b"this is not xml")
    await _refused(lab, b"")
    _, body = await lab.ven.raw("OadrPoll", poll_doc(ven_id), content_type="application/json")
    answer = lab.ven.codec.parse(body)
    assert isinstance(answer, m.Response) and answer.response.code == 454


async def test_schema_invalid_message_gets_454(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, _, _ = ready
    invalid = poll_doc("v").replace(b"<ei:venID>v</ei:venID>", b"<ei:bogus>v</ei:bogus>")
    answer = await _refused(lab, invalid)
    description = answer.response.description or ""
    assert "not valid OpenADR 2.0b" in description
    # Where, and what was expected, with prefixes rather than {namespace-uri} names.
    assert "at /oadr:oadrPayload/oadr:oadrSignedObject/oadr:oadrPoll/ei:bogus (line 2)" in description
    assert "Expected is ( ei:venID )" in description


async def test_text_xml_is_accepted_and_answered_as_text_xml(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, ven_id, _ = ready
    content_type, body = await lab.ven.raw("OadrPoll", poll_doc(ven_id), content_type="text/xml")
    assert content_type == "text/xml"
    answer = lab.ven.codec.parse(body)
    assert isinstance(answer, m.Response) and answer.response.code == 200


async def test_message_on_the_wrong_service_gets_453(ready: tuple[Lab, str, dict[str, int]]) -> None:
    lab, ven_id, _ = ready
    _, body = await lab.ven.raw("EiEvent", poll_doc(ven_id))
    answer = lab.ven.codec.parse(body)
    assert isinstance(answer, m.Response) and answer.response.code == 453


# ----------------------------------------------------------------------------- the parser alone


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(billion_laughs(), id="billion-laughs"),
        pytest.param(poll_doc("&xxe;", '<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'), id="xxe"),
        pytest.param(poll_doc("v").decode().encode("utf-16"), id="utf-16"),
        pytest.param(poll_doc("v").replace(b"UTF-8", b"ISO-8859-1"), id="latin-1"),
        pytest.param(b"<a>" * 50 + b"</a>" * 50, id="depth-50"),
        pytest.param(b"<a>&undefined;</a>", id="undefined-entity"),
        pytest.param(b"<a>" + b"<b/>" * 200, id="unclosed"),
    ],
)
def test_parser_rejects(data: bytes) -> None:
    with pytest.raises(XmlRejected) as caught:
        SafeXmlParser().parse(data)
    assert caught.value.code == 454


def test_parser_limits_are_per_instance() -> None:
    tight = SafeXmlParser(XmlLimits(max_bytes=100, max_depth=3, max_elements=10))
    with pytest.raises(XmlRejected, match="exceeds"):
        tight.parse(b"<a>" + b" " * 200 + b"</a>")
    with pytest.raises(XmlRejected, match="nesting"):
        tight.parse(b"<a><b><c><d/></c></b></a>")
    with pytest.raises(XmlRejected, match="elements"):
        tight.parse(b"<a>" + b"<b/>" * 11 + b"</a>")
    assert SafeXmlParser().parse(b"<a><b><c><d/></c></b></a>").tag == "a"
