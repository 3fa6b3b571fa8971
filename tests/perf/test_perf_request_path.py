"""The request path frees a parsed request only after its response is closed (sent).

Performance change of issue 7: the service answers first and frees the request's object tree
afterwards; behaviour (status, body) is unchanged.
"""

from __future__ import annotations

import gc
import weakref

from flask import Response

from cds_service.app import _free_after_sending


class _Document(dict):
    """A dict that can be weakly referenced, standing in for a parsed request body."""


def test_document_lives_until_the_response_is_closed() -> None:
    document = _Document(hook="patient-view")
    alive = weakref.ref(document)
    response = Response(b"{}", mimetype="application/json")
    _free_after_sending(response, document)
    del document
    gc.collect()
    assert alive() is not None, "freed before the response was sent"
    response.close()
    assert alive() is None, "still held after the response was closed"


def test_document_is_freed_with_a_response_that_is_never_closed() -> None:
    document = _Document(hook="patient-view")
    alive = weakref.ref(document)
    response = Response(b"{}", mimetype="application/json")
    _free_after_sending(response, document)
    del document, response
    gc.collect()
    assert alive() is None


def test_service_call_answers_normally_and_releases_the_body_on_close(test_settings, fixed_clock) -> None:
    from cds_service.app import create_app
    from cds_service.services import PREFETCH

    prefetch = {key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in PREFETCH}
    prefetch["patient"] = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}
    request = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": prefetch,
    }
    client = create_app(test_settings, clock=fixed_clock).test_client()
    response = client.post("/cds-services/rrmm-relapse-guidance", json=request)
    assert response.status_code == 200
    assert isinstance(response.get_json()["cards"], list)
    response.close()
