"""The endpoint sweep's plan (bench/sweep_plan.py): what it selects and the requests it builds.

No server and no timing: the measuring itself is `bench/run.py --scenario sweep`.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import sweep_plan as plan
from bench.load import write_requests
from bench.seed import Manifest
from bench.sweep import selected


def _world(vens: int = 5) -> plan.World:
    m = Manifest(
        url="sqlite:///unused.db",
        spec={},
        key="k",
        client_ids=[f"ven-bench-{i:06d}" for i in range(vens)],
        ven_ids=[f"ven-{i}" for i in range(vens)],
        ven_names=[f"bench-ven-{i:06d}" for i in range(vens)],
        program_id="prog-1",
        untargeted_event_ids=[f"ev-{k}" for k in range(10)],
        targeted_event_ids=[f"tev-{k}" for k in range(10)],
        resource_ids_sample=[f"res-{i}" for i in range(vens)],
        bl_client_id="bl-bench",
    )
    tokens = [f"tok-{i}" for i in range(vens)]
    return plan.World(m, tokens, "bl-tok", "bl-sweep", "s3cret", ["rep-0", "rep-1"], ["sub-0"])


def test_every_step_has_one_label_and_the_quick_form_names_existing_steps() -> None:
    labels = [s.label for s in plan.steps()]
    assert len(labels) == len(set(labels))
    assert set(labels) >= plan.QUICK_OFF | plan.QUICK_ON


def test_only_selects_by_substring_or_regex_and_quick_runs_the_short_form() -> None:
    by_text = selected("3.1.0 GET /events", quick=False)[False]
    assert {s.label for s in by_text} == {
        "3.1.0 GET /events VEN",
        "3.1.0 GET /events BL",
        "3.1.0 GET /events/{id} VEN",
        "3.1.0 GET /events/{id} BL",
    }
    by_regex = selected(r"^3\.0\.1 DELETE .* VEN$", quick=False)[False]
    assert by_regex and all(s.api == "3.0.1" and s.method == "DELETE" and s.role == "VEN" for s in by_regex)
    quick = selected(None, quick=True)
    assert {s.label for s in quick[False]} == plan.QUICK_OFF
    assert {s.label for s in quick[True]} == plan.QUICK_ON


def test_creates_are_new_objects_and_updates_and_deletes_use_the_creators_token(tmp_path: Path) -> None:
    w = _world()
    for step in plan.steps():
        if step.kind != "create":
            continue
        a, b = plan.create_request(step, w, 1), plan.create_request(step, w, 2)
        assert a != b and a[0] == "POST"
        write_requests(tmp_path / "x.req", [a, b])  # single-line bodies
        expected = w.ven_tokens[1] if step.role == plan.VEN else w.bl_token
        assert a[2] == expected
        obj = ("obj-1", "ven-bench-000003", "ven-3")
        put = plan.update_request(
            plan.Step(step.api, "PUT", step.path, step.role, "update", step.collection), w, obj, 0
        )
        gone = plan.delete_request(
            plan.Step(step.api, "DELETE", step.path, step.role, "delete", step.collection), w, obj
        )
        owner = w.ven_tokens[3] if step.role == plan.VEN else w.bl_token
        assert put[2] == gone[2] == owner
        assert put[1] == gone[1] and put[1].endswith("/obj-1")
        json.loads(put[3])


def test_targets_follow_the_issue() -> None:
    by_label = {s.label: s for s in plan.steps()}
    assert plan.target(by_label["3.1.0 GET /vens/{id} BL"], cache_on=False) is not None
    assert plan.target(by_label["3.1.0 GET /vens/{id} BL"], cache_on=True) is None
    cached = plan.target(by_label["3.1.0 GET /events VEN"], cache_on=True)
    assert cached is not None and cached[1] == plan.EVENTS_CACHED_RATIO
    posted = plan.target(by_label["3.1.0 POST /reports VEN"], cache_on=True)
    assert posted is not None and posted[1] == plan.POST_REPORTS_RATIO
    assert plan.target(by_label["2.0b POST OadrPoll:oadrPoll VEN"], cache_on=False) is None


def test_the_cache_on_pass_runs_only_what_the_read_cache_can_change() -> None:
    passes = selected(None, quick=False)
    off, on = {s.label for s in passes[False]}, {s.label for s in passes[True]}
    assert off == {s.label for s in plan.steps()}  # every step once, with the cache off
    assert on == {s.label for s in plan.steps() if plan.cache_dependent(s)}
    # Cached list answers (both roles), a VEN's cached grants, the 2.0b poll cache's marker:
    for label in (
        "3.1.0 GET /events VEN",
        "3.1.0 GET /events BL",
        "3.0.1 GET /programs BL",
        "3.1.0 GET /programs/{id} VEN",
        "3.0.1 GET /events/{id} VEN",
        "3.1.0 POST /reports VEN",
        "3.0.1 PUT /subscriptions/{id} VEN",
        "2.0b POST OadrPoll:oadrPoll VEN",
    ):
        assert label in on, label
    # BL reads by id and BL writes never read grants; other collections are not cached.
    for label in (
        "3.1.0 GET /events/{id} BL",
        "3.1.0 POST /reports BL",
        "3.1.0 DELETE /reports/{id} VEN",
        "3.1.0 GET /vens VEN",
        "3.1.0 POST /auth/token VEN",
        "2.0b POST EiEvent:oadrRequestEvent VEN",
        "3.1.0 POST /events BL",
    ):
        assert label not in on, label
    assert all(plan.passes(s) == ((False, True) if s.label in on else (False,)) for s in plan.steps())


def test_one_pass_by_name_and_the_quick_form() -> None:
    only_on = selected("3.1.0 GET /vens", quick=False, cache="on")
    assert not only_on[False]
    assert {s.label for s in only_on[True]} == {  # asked for by name: every selected step
        "3.1.0 GET /vens VEN",
        "3.1.0 GET /vens BL",
        "3.1.0 GET /vens/{id} VEN",
        "3.1.0 GET /vens/{id} BL",
    }
    only_off = selected("3.1.0 GET /events", quick=False, cache="off")
    assert len(only_off[False]) == 4 and not only_off[True]
    assert all(plan.cache_dependent(s) for s in plan.steps() if s.label in plan.QUICK_ON)


def test_write_bodies_are_new_per_request_and_valid_json() -> None:
    w = _world()
    for step in plan.steps():
        if step.kind != "create" or step.collection not in ("events", "reports"):
            continue
        bodies = [json.loads(plan.create_request(step, w, n)[3]) for n in range(40)]
        names = {b.get("eventName") or b.get("reportName") for b in bodies}
        assert len(names) == 40 and all(n and n.startswith("sweep-") for n in names)
        assert "@sweep" not in json.dumps(bodies)  # every mark replaced
        if step.collection == "reports" and step.role == plan.VEN:
            assert bodies[1]["clientName"] == w.m.ven_names[1]
