"""EiRegisterParty: admission by venName, venID = ven object id, re-registration, cancellation."""

from __future__ import annotations

from datetime import timedelta

from support.oadr20b import SIDE_TABLES, Lab, bl_ven, register

from shared.oadr20b import messages as m
from shared.oadr20b.parts import EiResponse


async def test_query_answers_vtn_facts_without_ids(lab: Lab) -> None:
    answer = await lab.ven.send(m.QueryRegistration(request_id="q1"))
    assert isinstance(answer, m.CreatedPartyRegistration)
    assert answer.response == EiResponse(code=200, description="OK", request_id="q1")
    assert (answer.registration_id, answer.ven_id) == (None, None)
    assert answer.vtn_id == "EnergyCoordinationVTN"
    assert answer.profiles == (("2.0b", ("simpleHttp",)),)
    assert answer.poll_freq == timedelta(seconds=10)


async def test_unknown_ven_name_is_refused_with_463_and_nothing_written(lab: Lab) -> None:
    before = await lab.count("vens", *SIDE_TABLES)
    answer = await lab.ven.send(m.CreatePartyRegistration(request_id="r1", ven_name="stranger"))
    assert isinstance(answer, m.CreatedPartyRegistration)
    assert answer.response.code == 463
    assert answer.response.request_id == "r1"
    assert answer.ven_id is None and answer.registration_id is None
    assert await lab.count("vens", *SIDE_TABLES) == before


async def test_ven_object_created_by_bl_admits_the_ven_and_its_id_is_the_ven_id(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    answer = await register(lab, "ven-a")
    assert answer.ven_id == ven["id"]
    assert answer.registration_id
    assert answer.vtn_id == "EnergyCoordinationVTN"
    polled = await lab.ven.send(m.Poll(ven_id=ven["id"]))
    assert isinstance(polled, m.Response)
    assert (polled.response.code, polled.ven_id) == (200, ven["id"])


async def test_reregistration_issues_a_new_registration_id(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    first = await register(lab, "ven-a")
    again = await lab.ven.send(
        m.CreatePartyRegistration(
            request_id="r2", ven_name="ven-a", ven_id=ven["id"], registration_id=first.registration_id
        )
    )
    assert isinstance(again, m.CreatedPartyRegistration)
    assert again.response.code == 200
    assert again.ven_id == ven["id"] and again.registration_id not in (None, first.registration_id)


async def test_wrong_registration_id_or_ven_id_gets_452(lab: Lab) -> None:
    await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    wrong_reg = await lab.ven.send(
        m.CreatePartyRegistration(request_id="r3", ven_name="ven-a", registration_id="not-ours")
    )
    wrong_ven = await lab.ven.send(
        m.CreatePartyRegistration(request_id="r4", ven_name="ven-a", ven_id="other")
    )
    assert isinstance(wrong_reg, m.CreatedPartyRegistration) and wrong_reg.response.code == 452
    assert isinstance(wrong_ven, m.CreatedPartyRegistration) and wrong_ven.response.code == 452


async def test_cancel_registration_then_the_ven_is_no_longer_served(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    reg = await register(lab, "ven-a")
    assert reg.registration_id is not None
    answer = await lab.ven.send(
        m.CancelPartyRegistration(request_id="c1", registration_id=reg.registration_id, ven_id=ven["id"])
    )
    assert isinstance(answer, m.CanceledPartyRegistration)
    assert (answer.response.code, answer.registration_id, answer.ven_id) == (
        200,
        reg.registration_id,
        ven["id"],
    )
    polled = await lab.ven.send(m.Poll(ven_id=ven["id"]))
    assert isinstance(polled, m.Response) and polled.response.code == 463
    # The ven object is BL's and stays.
    assert (await lab.bl.get(f"/vens/{ven['id']}")).status == 200


async def test_cancel_with_unknown_registration_id_gets_452(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    answer = await lab.ven.send(
        m.CancelPartyRegistration(request_id="c2", registration_id="x", ven_id=ven["id"])
    )
    assert isinstance(answer, m.CanceledPartyRegistration) and answer.response.code == 452


async def test_open_registration_creates_a_ven_object_visible_to_bl(open_lab: Lab) -> None:
    answer = await register(open_lab, "newcomer")
    resp = await open_lab.bl.get("/vens", params={"venName": "newcomer"})
    found = await resp.json()
    assert [v["id"] for v in found] == [answer.ven_id]


async def test_vtn_requested_reregistration_and_cancellation_travel_by_poll(lab: Lab) -> None:
    from vtn.oadr20b import registration

    ven = await bl_ven(lab, "ven-a")
    reg = await register(lab, "ven-a")
    await lab.service.run(lambda ctx: registration.request_reregistration(ctx, ven["id"]))
    await lab.service.run(lambda ctx: registration.request_cancellation(ctx, ven["id"]))
    first = await lab.ven.send(m.Poll(ven_id=ven["id"]))
    assert first == m.RequestReregistration(ven_id=ven["id"])
    second = await lab.ven.send(m.Poll(ven_id=ven["id"]))
    assert isinstance(second, m.CancelPartyRegistration) and second.registration_id == reg.registration_id
    done = await lab.ven.send(
        m.CanceledPartyRegistration(
            response=EiResponse(request_id=second.request_id),
            registration_id=reg.registration_id,
            ven_id=ven["id"],
        )
    )
    assert isinstance(done, m.Response) and done.response.code == 200
    assert isinstance(polled := await lab.ven.send(m.Poll(ven_id=ven["id"])), m.Response)
    assert polled.response.code == 463


async def test_unknown_ven_id_in_poll_gets_452(lab: Lab) -> None:
    polled = await lab.ven.send(m.Poll(ven_id="nobody"))
    assert isinstance(polled, m.Response) and polled.response.code == 452
