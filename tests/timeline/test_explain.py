"""POST /timeline/api/explain: the same facts and decision as the hook, its schema, limits,
authorisation (the card link's token) and a log that holds no patient data."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from security.jwt_helpers import BASE_URL, ClientKeys

from cds_service import samples, schemas
from cds_service.app import create_app
from cds_service.services import SERVICES

PV = SERVICES["rrmm-relapse-guidance"]
FIXED_NOW = datetime(2026, 3, 15, 14, 30, tzinfo=UTC)  # the service's clock in these tests
TODAY = FIXED_NOW.date()
KEY = "k" * 40


def hook_request(persona_id: str) -> dict[str, Any]:
    return samples.hook_request(samples.persona(persona_id), "patient-view", TODAY, prefetch_templates=PV.prefetch)


def explain_body(persona_id: str) -> dict[str, Any]:
    request = hook_request(persona_id)
    return {"patientId": request["context"]["patientId"], "resources": request["prefetch"]}


def timeline_link(cards: list[dict[str, Any]], topic: str) -> dict[str, Any] | None:
    for card in cards:
        if card["source"]["topic"]["code"] == topic:
            return next((link for link in card.get("links", []) if link["type"] == "smart"), None)
    return None


@pytest.fixture
def client(test_settings):
    return create_app(test_settings, clock=lambda: FIXED_NOW).test_client()


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


def production_settings(test_settings, keys, tmp_path, **overrides: Any):
    return dataclasses.replace(test_settings, env="production", auth="required", public_base_url=BASE_URL,
                               trusted_issuers=str(keys.write(tmp_path)), **overrides)


@pytest.fixture
def production_app(test_settings, keys, tmp_path):
    clock = {"now": FIXED_NOW}
    app = create_app(production_settings(test_settings, keys, tmp_path, timeline_key=KEY), clock=lambda: clock["now"])
    app.config["clock"] = clock
    app.config["keys"] = keys
    return app


def hook_cards(client, persona_id: str) -> list[dict[str, Any]]:
    keys = client.application.config["keys"]
    path = f"/cds-services/{PV.id}"
    response = client.post(path, json=hook_request(persona_id),
                           headers={"Authorization": f"Bearer {keys.token(BASE_URL + path)}"})
    assert response.status_code == 200
    return response.get_json()["cards"]


def token_from_hook(client, persona_id: str) -> str:
    cards = hook_cards(client, persona_id)
    link = timeline_link(cards, "treatment-recommendation")
    assert link is not None
    return link["appContext"]


# -- the answer ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", [p.id for p in samples.personas()])
def test_every_persona_answer_follows_the_schema(client, persona):
    response = client.post("/timeline/api/explain", json=explain_body(persona))
    assert response.status_code == 200
    body = response.get_json()
    assert schemas.problems("timeline-explain", body) == []
    assert body["schemaVersion"] == "1.0.0"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_answer_is_the_hooks_decision(client):
    cards = client.post(f"/cds-services/{PV.id}", json=hook_request("penta-refractory")).get_json()["cards"]
    body = client.post("/timeline/api/explain", json=explain_body("penta-refractory")).get_json()
    treatment = body["decision"]["treatment"]
    recommended = next(o["regimenId"] for o in treatment["options"] if o["recommended"])
    summary = next(c["summary"] for c in cards if c["source"]["topic"]["code"] == "treatment-recommendation")
    assert recommended in summary
    assert treatment["excluded"], "a penta-refractory patient has regimens passed over"
    facts = {f["name"]: f["value"] for f in body["facts"]}
    assert facts["penta_refractory"] is True
    assert len(body["lines"]) >= facts["prior_lines"]
    refractory = {x["drug"] for line in body["lines"] for x in line["exposures"] if x["refractory"]}
    assert {"lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab"} <= refractory
    assert [e["date"] for e in body["events"]["progressions"]]
    assert body["series"]["serumMProtein"] and all(p["evidence"] for p in body["series"]["serumMProtein"])


def test_a_bundle_and_a_list_are_read_like_the_prefetch_map(client):
    by_key = client.post("/timeline/api/explain", json=explain_body("len-refractory")).get_json()
    request = hook_request("len-refractory")
    entries = [e for value in request["prefetch"].values() if value
               for e in (value.get("entry", []) if value["resourceType"] == "Bundle" else [{"resource": value}])]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    as_bundle = client.post("/timeline/api/explain",
                            json={"patientId": request["context"]["patientId"], "resources": bundle}).get_json()
    as_list = client.post("/timeline/api/explain",
                          json={"patientId": request["context"]["patientId"],
                                "resources": [e["resource"] for e in entries]}).get_json()
    assert as_bundle["facts"] == by_key["facts"] == as_list["facts"]
    assert as_bundle["decision"] == by_key["decision"]


def test_another_patients_resources_are_ignored(client):
    body = explain_body("len-refractory")
    body["patientId"] = "someone-else"
    answer = client.post("/timeline/api/explain", json=body).get_json()
    own = client.post("/timeline/api/explain", json=explain_body("len-refractory")).get_json()
    assert answer["resourceCount"] < own["resourceCount"] // 10  # shared Medications only
    assert answer["lines"] == [] and answer["series"]["serumMProtein"] == []
    assert answer["decision"]["status"] == "no-myeloma"


# -- limits and errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"resources": {}}, 400),
        ({"patientId": 7, "resources": {}}, 400),
        ({"patientId": "a/b", "resources": {}}, 400),
        ({"patientId": "p", "resources": "x"}, 400),
        ([1, 2], 400),
    ],
)
def test_bad_bodies_get_an_operation_outcome(client, body, status):
    response = client.post("/timeline/api/explain", json=body)
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_not_json_and_wrong_content_type(client):
    assert client.post("/timeline/api/explain", data=b"{", content_type="application/json").status_code == 400
    assert client.post("/timeline/api/explain", data=b"{}", content_type="text/plain").status_code == 415


def test_the_hooks_size_limit_applies(test_settings):
    app = create_app(dataclasses.replace(test_settings, max_request_bytes=10_000), clock=lambda: FIXED_NOW)
    response = app.test_client().post("/timeline/api/explain", json=explain_body("penta-refractory"))
    assert response.status_code == 413
    assert response.get_json()["issue"][0]["code"] == "too-costly"


def test_the_hooks_resource_limit_applies(test_settings):
    app = create_app(dataclasses.replace(test_settings, max_resources=5), clock=lambda: FIXED_NOW)
    response = app.test_client().post("/timeline/api/explain", json=explain_body("penta-refractory"))
    assert response.status_code == 413


def test_the_resource_limit_counts_the_entries_of_every_page(test_settings):
    app = create_app(dataclasses.replace(test_settings, max_resources=5), clock=lambda: FIXED_NOW)
    page = {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": {"resourceType": "Observation", "id": str(i)}} for i in range(3)]}
    client = app.test_client()
    assert client.post("/timeline/api/explain", json={"patientId": "p", "resources": {"labs": [page]}}).status_code == 200
    assert client.post("/timeline/api/explain",
                       json={"patientId": "p", "resources": {"labs": [page, page]}}).status_code == 413
    assert client.post("/timeline/api/explain", json={"patientId": "p", "resources": [page, page]}).status_code == 413


def test_an_internal_failure_is_a_4xx_without_patient_data(client, monkeypatch, caplog):
    module = importlib.import_module("cds_service.timeline.explain")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("patient Quillborough")

    monkeypatch.setattr(module, "read_series", broken)
    with caplog.at_level(logging.INFO):
        response = client.post("/timeline/api/explain", json=explain_body("len-refractory"))
    assert response.status_code == 422
    assert "Quillborough" not in response.get_data(as_text=True)
    assert "Quillborough" not in caplog.text
    # Told apart from a refused input in the request log.
    outcomes = [getattr(r, "outcome", None) for r in caplog.records if getattr(r, "event", None) == "request"]
    assert outcomes == ["error 422"]


# -- authorisation --------------------------------------------------------------------------------------
def test_production_needs_the_links_token(production_app):
    client = production_app.test_client()
    body = explain_body("penta-refractory")
    refused = client.post("/timeline/api/explain", json=body)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    token = token_from_hook(client, "penta-refractory")
    ok = client.post("/timeline/api/explain", json=body, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


def test_explain_calls_with_one_token_are_rate_limited(test_settings, keys, tmp_path):
    settings = production_settings(test_settings, keys, tmp_path, timeline_key=KEY, rate_limit_per_s=0.01, rate_burst=3)
    app = create_app(settings, clock=lambda: FIXED_NOW)
    app.config["keys"] = keys
    client = app.test_client()
    token = token_from_hook(client, "penta-refractory")
    headers = {"Authorization": f"Bearer {token}"}
    body = explain_body("penta-refractory")
    statuses = [client.post("/timeline/api/explain", json=body, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/timeline/api/explain", json=body, headers=headers)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["issue"][0]["code"] == "throttled"
    # Made-up tokens are refused as such, before any bucket is spent.
    assert client.post("/timeline/api/explain", json=body, headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    # Another card's token has its own bucket.
    other = token_from_hook(client, "len-refractory")
    assert client.post("/timeline/api/explain", json=explain_body("len-refractory"),
                       headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_a_token_opens_only_its_patient(production_app):
    client = production_app.test_client()
    token = token_from_hook(client, "penta-refractory")
    other = explain_body("len-refractory")
    response = client.post("/timeline/api/explain", json=other, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["issue"][0]["code"] == "login"


def test_an_expired_token_is_refused(production_app):
    client = production_app.test_client()
    token = token_from_hook(client, "penta-refractory")
    production_app.config["clock"]["now"] = FIXED_NOW + timedelta(seconds=1801)
    response = client.post("/timeline/api/explain", json=explain_body("penta-refractory"),
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer x.y.z", "Basic abc", "Bearer ", "Bearer " + "a" * 300])
def test_malformed_tokens_are_refused(production_app, header):
    response = production_app.test_client().post("/timeline/api/explain", json=explain_body("len-refractory"),
                                                 headers={"Authorization": header})
    assert response.status_code == 401


def test_a_token_signed_with_another_key_is_refused(production_app):
    from cds_service.timeline.token import TimelineTokens

    forged = TimelineTokens("z" * 40, 1800).mint(explain_body("len-refractory")["patientId"], FIXED_NOW)
    response = production_app.test_client().post("/timeline/api/explain", json=explain_body("len-refractory"),
                                                 headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_production_without_a_key_offers_no_link_and_refuses(test_settings, keys, tmp_path):
    app = create_app(production_settings(test_settings, keys, tmp_path), clock=lambda: FIXED_NOW)
    app.config["keys"] = keys
    client = app.test_client()
    cards = hook_cards(client, "penta-refractory")
    assert timeline_link(cards, "treatment-recommendation") is None
    assert client.post("/timeline/api/explain", json=explain_body("penta-refractory")).status_code == 401


def test_development_accepts_calls_without_a_token_but_not_bad_ones(client):
    body = explain_body("len-refractory")
    assert client.post("/timeline/api/explain", json=body).status_code == 200
    assert client.post("/timeline/api/explain", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401


# -- the link -------------------------------------------------------------------------------------------
def test_treatment_and_referral_cards_link_to_the_timeline(production_app):
    client = production_app.test_client()
    cards = hook_cards(client, "penta-refractory")
    assert schemas.problems("response", {"cards": cards}) == []
    for topic in ("treatment-recommendation", "referral"):
        link = timeline_link(cards, topic)
        assert link is not None, topic
        assert link["url"] == f"{BASE_URL}/timeline/launch.html"
        assert link["label"] == "Open the relapse timeline"
    others = [c for c in cards if c["source"]["topic"]["code"] not in ("treatment-recommendation", "referral")]
    assert others and all(not any(link["type"] == "smart" for link in c.get("links", [])) for c in others)


def test_the_link_token_holds_no_patient_id(production_app):
    import base64

    client = production_app.test_client()
    token = token_from_hook(client, "penta-refractory")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert explain_body("penta-refractory")["patientId"] not in json.dumps(payload)
    assert payload["exp"] - payload["iat"] == 1800


# -- logs -----------------------------------------------------------------------------------------------
def test_the_log_holds_no_patient_data(production_app, monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    from cds_service.logging_json import configure_logging

    configure_logging(production_app.extensions["rrmm_cds"].settings)
    client = production_app.test_client()
    body = explain_body("penta-refractory")
    token = token_from_hook(client, "penta-refractory")
    client.post("/timeline/api/explain", json=body, headers={"Authorization": f"Bearer {token}"})
    client.post("/timeline/api/explain", json=body)
    client.post("/timeline/api/explain", json={**body, "patientId": 5})
    text = log.getvalue()
    assert "/timeline/api/explain" in text, "the request log line is written"
    assert body["patientId"] not in text
    assert token not in text and token.split(".")[1] not in text
    resource_ids = {e["resource"]["id"] for v in body["resources"].values() if v for e in v.get("entry", [])}
    assert not [rid for rid in resource_ids if f'"{rid}"' in text]


def test_a_missing_vendor_folder_is_named(client, monkeypatch):
    import cds_service.timeline as module

    monkeypatch.setattr(module, "VENDOR_DIR", module.STATIC_DIR / "no-such-vendor-folder")
    response = client.get("/timeline/vendor/plot.umd.min.js")
    assert response.status_code == 404
    assert "rrmm-cds timeline vendor" in response.get_json()["issue"][0]["diagnostics"]


def test_the_app_pages_are_served_with_a_strict_script_policy(client):
    for path in ("/timeline/", "/timeline/launch.html", "/timeline/app.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert client.get("/timeline/../app.py").status_code == 404
    config = client.get("/timeline/config.json").get_json()
    assert config["clientId"] == "rrmm-cds-timeline" and "patient/*.rs" in config["scopes"]["ehr"]


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"RRMM_CDS_TIMELINE_KEY": "short"}, "at least 32"),
        ({"RRMM_CDS_ENV": "production", "RRMM_CDS_TIMELINE_AUTH": "optional"}, "not allowed"),
        ({"RRMM_CDS_TIMELINE_AUTH": "sometimes"}, "required' or 'optional"),
        ({"RRMM_CDS_TIMELINE_AUTH": "required"}, "needs RRMM_CDS_TIMELINE_KEY"),
        ({"RRMM_CDS_TIMELINE_TOKEN_TTL_S": "0"}, "RRMM_CDS_TIMELINE_TOKEN_TTL_S"),
        ({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": "https://ehr.example.org/path"}, "FRAME_ANCESTORS"),
        ({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": "http://ehr.example.org"}, "FRAME_ANCESTORS"),
        ({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": "https://a.example; script-src *"}, "FRAME_ANCESTORS"),
        ({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": " , "}, "FRAME_ANCESTORS"),
        ({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": "'none' https://a.example"}, "cannot be combined"),
    ],
)
def test_bad_timeline_settings_stop_start_up(environ, problem):
    from cds_service.config import ConfigError, Settings

    with pytest.raises(ConfigError, match=problem):
        Settings.from_env(environ)


def test_timeline_settings_from_the_environment():
    from cds_service.config import Settings

    settings = Settings.from_env({"RRMM_CDS_TIMELINE_KEY": KEY, "RRMM_CDS_TIMELINE_TOKEN_TTL_S": "600",
                                  "RRMM_CDS_TIMELINE_CLIENT_ID": "ehr-assigned-id"})
    assert (settings.timeline_key, settings.timeline_token_ttl_s, settings.timeline_client_id) == (
        KEY, 600, "ehr-assigned-id")
    assert not settings.timeline_auth_required
    assert Settings.from_env({"RRMM_CDS_TIMELINE_AUTH": "required", "RRMM_CDS_TIMELINE_KEY": KEY}
                             ).timeline_auth_required


def test_the_origins_allowed_to_frame_the_app_are_the_deployments_choice(test_settings):
    from cds_service.config import Settings

    assert Settings.from_env({}).timeline_frame_ancestors == ("*",)
    origins = "https://ehr.example.org, https://*.epic.example:8443 http://localhost:3000"
    chosen = Settings.from_env({"RRMM_CDS_TIMELINE_FRAME_ANCESTORS": origins}).timeline_frame_ancestors
    assert chosen == ("https://ehr.example.org", "https://*.epic.example:8443", "http://localhost:3000")
    app = create_app(dataclasses.replace(test_settings, timeline_frame_ancestors=chosen))
    for path in ("/timeline/", "/timeline/launch.html"):
        policy = app.test_client().get(path).headers["Content-Security-Policy"]
        directive = next(part.strip() for part in policy.split(";") if part.strip().startswith("frame-ancestors"))
        assert directive == "frame-ancestors https://ehr.example.org https://*.epic.example:8443 http://localhost:3000"


def test_an_unconfirmed_rise_is_reported_with_its_source(client):
    body = explain_body("penta-refractory")
    latest = max(p["date"] for p in client.post("/timeline/api/explain", json=body).get_json()["series"]["serumMProtein"])
    code = {"coding": [{"system": "http://loinc.org", "code": "33358-3"}]}
    rise = {"resourceType": "Observation", "id": "unconfirmed-rise", "status": "final", "code": code,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "subject": {"reference": f"Patient/{body['patientId']}"},
            "effectiveDateTime": TODAY.isoformat(),  # after every value on file, not after "now"
            "valueQuantity": {"value": 4.0, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}}
    assert date.fromisoformat(latest) < TODAY
    body["resources"]["extra"] = rise
    answer = client.post("/timeline/api/explain", json=body).get_json()
    assert schemas.problems("timeline-explain", answer) == []
    [unconfirmed] = answer["events"]["unconfirmedRises"]
    assert unconfirmed["analyte"] == "serum-m-protein"
    assert "Observation" in {e["resourceType"] for e in unconfirmed["evidence"]}
    assert "unconfirmed-rise" in {e["id"] for e in unconfirmed["evidence"]}
