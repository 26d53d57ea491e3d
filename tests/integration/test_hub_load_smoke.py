"""The hub load benchmark's core (backstage_testing.loadsim) on the session lab, with 2 people, so it cannot rot."""

from __future__ import annotations

import json

import pytest
from backstage_testing.loadsim import (
    CPU_PARTS,
    STEPS,
    LoadResult,
    ProcessSampler,
    provision,
    result_record,
    run_person,
    simulate,
    summary_lines,
)

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def test_two_people_sign_in_spawn_run_code_and_stop_under_the_benchmark(lab):
    names = ["loadsmoke0", "loadsmoke1"]
    passwords = provision(lab, names)
    result = simulate(lab, names, passwords, ramp=1, concurrency=2, time_limit=300)

    assert [(p.name, p.failed_step, p.reason) for p in result.people] == [(n, None, None) for n in names]
    for person in result.people:
        assert set(person.seconds) == set(STEPS), person.seconds
        assert all(0 < s < 300 for s in person.seconds.values()), person.seconds
    sampler = result.sampler
    assert sampler.samples >= 2
    assert sampler.hub_peak > 30 * MB and sampler.proxy_peak > 10 * MB, (sampler.hub_peak, sampler.proxy_peak)
    assert sampler.servers_peak >= 1 and sampler.servers_rss_peak > 30 * MB
    # every server was really stopped by its person
    for name in names:
        assert lab.api("GET", f"/users/{name}").json()["servers"] == {}

    # where each start's CPU went (issue 16): the server's own start, with no subprocess (JupyterLab's
    # yarn registry lookup and build check are gone), the first kernel, the hub's and proxy's share
    for person in result.people:
        assert set(person.cpu) == set(CPU_PARTS), person.cpu
        assert 0.2 < person.cpu["server start"] < 30, person.cpu
        assert person.cpu["server subprocesses"] < 0.1, person.cpu
        assert person.cpu["first kernel"] > 0.1, person.cpu
    assert sampler.cpu_used["hub"] > 0

    lines = summary_lines(result)
    assert lines[-1] == "held: 2 users, failures: 0"
    assert any(line.startswith("start CPU per person: ") for line in lines), lines
    assert any(line.strip().startswith("server start: ") for line in lines), lines
    assert any(line.startswith("server ready time (after sign-in): p50 ") for line in lines)
    assert any(line.startswith("ready p95: ") for line in lines), lines
    assert any(line.startswith("execute time: p50 ") for line in lines)
    assert any(line.startswith("hub peak memory (RSS): ") for line in lines)
    record = json.loads(json.dumps(result_record(result)))
    assert record["held"] == 2 and [p["name"] for p in record["people"]] == names


def test_a_refused_sign_in_is_a_counted_failure_with_its_reason_not_a_crash(lab):
    person = run_person(lab, "loadsmoke-nobody", "not-the-password")
    assert person.failed_step == "login"
    assert "refused" in person.reason and "loadsmoke-nobody" in person.reason
    assert person.seconds == {}

    sampler = ProcessSampler(lab.process.pid)
    sampler.sample()
    lines = summary_lines(LoadResult([person], sampler, wall=1.0, in_flight_peak=1, ramp=0, concurrency=1))
    assert "failures: 1" in lines
    assert any("loadsmoke-nobody at login: AssertionError: login of 'loadsmoke-nobody' refused" in line
               for line in lines), lines
    assert lines[-1] == "held: 0 users, failures: 1"
