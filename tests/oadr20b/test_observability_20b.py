"""2.0b traffic in the metrics: oadrPoll requests counted (docs/observability.md)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from support.oadr20b import Ven20, lab_config

from shared.oadr20b import messages as m
from vtn.app import build_app
from vtn.oadr20b.routes import SERVICE
from vtn.storage import open_store


async def test_polls_are_counted(db_url: str) -> None:
    store = open_store(db_url)
    try:
        config = lab_config(db_url)
        config = type(config)(**{**config.__dict__, "oadr20b_open_registration": True})
        app = await build_app(config, store)
        async with TestClient(TestServer(app)) as client:
            ven = Ven20(client, app[SERVICE].codec)
            registered = await ven.send(m.CreatePartyRegistration(request_id="reg-1", ven_name="ven-20b"))
            assert isinstance(registered, m.CreatedPartyRegistration) and registered.ven_id
            for _ in range(3):
                answer = await ven.send(m.Poll(ven_id=registered.ven_id))
                assert isinstance(answer, m.Response) and answer.response.code == 200
            text = await (await client.get("/metrics")).text()
    finally:
        await store.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("vtn_oadr20b_polls_total", ())] == 3
    labels = (("method", "POST"), ("route", "/OpenADR2/Simple/2.0b/OadrPoll"), ("status", "200"))
    assert samples[("vtn_http_request_duration_seconds_count", labels)] == 3
