"""The cyclic collector is paused while a hook call runs and resumed once its request is freed."""

from __future__ import annotations

import gc

import pytest

from cds_service import gc_pause


@pytest.fixture(autouse=True)
def _collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pause_and_resume_restore_the_collector() -> None:
    pause = gc_pause.pause()
    assert not gc.isenabled()
    pause.resume()
    assert gc.isenabled()
    pause.resume()  # idempotent
    assert gc.isenabled() and gc_pause.active_calls() == 0


def test_overlapping_calls_resume_with_the_last_one() -> None:
    first, second = gc_pause.pause(), gc_pause.pause()
    first.resume()
    assert not gc.isenabled()
    second.resume()
    assert gc.isenabled()


def test_a_collector_disabled_elsewhere_stays_disabled() -> None:
    gc.disable()
    gc_pause.pause().resume()
    assert not gc.isenabled()


def test_resumed_when_an_unclosed_response_is_freed() -> None:
    class Owner:
        pass

    owner = Owner()
    gc_pause.pause().resume_with(owner)
    assert not gc.isenabled()
    del owner
    assert gc.isenabled()


def _request(patient_id: str = "p1") -> dict:
    from cds_service.services import PREFETCH

    prefetch = {key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in PREFETCH}
    prefetch["patient"] = {"resourceType": "Patient", "id": patient_id, "birthDate": "1960-01-01"}
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": patient_id},
        "prefetch": prefetch,
    }


def test_service_call_pauses_until_its_response_is_closed(test_settings, fixed_clock, monkeypatch) -> None:
    from cds_service.app import create_app

    seen: list[bool] = []
    app = create_app(test_settings, clock=fixed_clock)
    pipeline = app.extensions["rrmm_cds"].pipeline
    run = pipeline.run

    def observed(*args, **kwargs):
        seen.append(gc.isenabled())
        return run(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run", observed)
    response = app.test_client().post("/cds-services/rrmm-relapse-guidance", json=_request())
    assert response.status_code == 200 and seen == [False]
    response.close()
    assert gc.isenabled() and gc_pause.active_calls() == 0


def test_refused_call_resumes_at_once(test_settings, fixed_clock) -> None:
    from cds_service.app import create_app

    client = create_app(test_settings, clock=fixed_clock).test_client()
    response = client.post("/cds-services/rrmm-relapse-guidance", json={"hook": "patient-view"})
    assert response.status_code == 400
    assert gc.isenabled() and gc_pause.active_calls() == 0
