"""OpenAPI 3.1 description of the service, served at ``GET /openapi.json``.

Built once from the same JSON Schemas that validate requests (``cds_service/schemas/``), so the
document cannot drift from what the service enforces.  Those schemas are JSON Schema 2020-12,
which OpenAPI 3.1 accepts as-is; their local ``$defs`` are lifted into ``components/schemas`` so
that every ``$ref`` resolves from the document root.  The fuzz tests (tests/fuzz/) drive
schemathesis with this document.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from flask import Flask, Response

from cds_service import schemas

OPENAPI_PATH = "/openapi.json"
_JSON = "application/json"


def _lift(name: str, schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move ``$defs`` into components as ``<Name>_<def>`` and point the refs there."""
    prefix = name.title().replace("-", "")
    schema = copy.deepcopy(schema)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    defs = schema.pop("$defs", {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (f"#/components/schemas/{prefix}_{value.removeprefix('#/$defs/')}"
                      if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                      else rewrite(value))
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    for def_name, definition in defs.items():
        components[f"{prefix}_{def_name}"] = rewrite(definition)
    components[prefix] = rewrite(schema)
    return {"$ref": f"#/components/schemas/{prefix}"}


_OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                },
            },
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}}


def build_document(service_ids: Sequence[str], version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI document for a service offering ``service_ids``."""
    components: dict[str, Any] = {"OperationOutcome": _OPERATION_OUTCOME}
    request_ref = _lift("request", schemas.schema("request"), components)
    feedback_ref = _lift("feedback", schemas.schema("feedback"), components)
    response_ref = _lift("response", schemas.schema("response"), components)
    explain_request_ref = _lift("timeline-explain-request", schemas.schema("timeline-explain-request"), components)
    explain_ref = _lift("timeline-explain", schemas.schema("timeline-explain"), components)
    service_id = {
        "name": "service_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(service_ids)},
    }
    unauthorized = _error("Missing or invalid client JWT (CDS Hooks 'Trusting CDS Clients'); the body "
                          "never says which check failed")
    too_large = _error("Request body over RRMM_CDS_MAX_REQUEST_BYTES")
    wrong_type = _error("Content-Type is not application/json")
    not_found = _error("Unknown service id")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rrmm-cds: CDS Hooks 2.0 service for relapsed/refractory multiple myeloma",
            "version": version,
            "description": "HL7 CDS Hooks 2.0 discovery, service calls and feedback. Every /cds-services "
                           "request needs a client JWT unless the service runs with RRMM_CDS_AUTH=disabled.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"clientJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                                "timelineToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                                  "description": "The appContext of the card's timeline link"}},
        },
        "paths": {
            "/cds-services": {
                "get": {
                    "operationId": "discovery",
                    "summary": "CDS Hooks discovery",
                    "security": [{"clientJwt": []}],
                    "responses": {
                        "200": {"description": "The services offered",
                                "content": {_JSON: {"schema": {"type": "object", "required": ["services"],
                                                               "properties": {"services": {"type": "array"}}}}}},
                        "401": unauthorized,
                    },
                }
            },
            "/cds-services/{service_id}": {
                "post": {
                    "operationId": "callService",
                    "summary": "Call a CDS service (a hook fired)",
                    "security": [{"clientJwt": []}],
                    "parameters": [service_id],
                    "requestBody": {"required": True, "content": {_JSON: {"schema": request_ref}}},
                    "responses": {
                        "200": {"description": "Cards (possibly none)", "content": {_JSON: {"schema": response_ref}}},
                        "400": _error("The request is malformed or the hook does not match the service"),
                        "401": unauthorized,
                        "404": not_found,
                        "412": _error("Required data is missing and cannot be fetched"),
                        "413": too_large,
                        "415": wrong_type,
                    },
                }
            },
            "/cds-services/{service_id}/feedback": {
                "post": {
                    "operationId": "feedback",
                    "summary": "Report what happened to cards",
                    "security": [{"clientJwt": []}],
                    "parameters": [service_id],
                    "requestBody": {"required": True, "content": {_JSON: {"schema": feedback_ref}}},
                    "responses": {
                        "200": {"description": "Feedback stored (duplicates are accepted idempotently)"},
                        "400": _error("The feedback is malformed"),
                        "401": unauthorized,
                        "404": not_found,
                        "413": too_large,
                        "415": wrong_type,
                    },
                }
            },
            "/timeline/api/explain": {
                "post": {
                    "operationId": "timelineExplain",
                    "summary": "The relapse timeline: what the relapse guidance concludes from the posted resources",
                    "security": [{"timelineToken": []}],
                    "requestBody": {"required": True, "content": {_JSON: {"schema": explain_request_ref}}},
                    "responses": {
                        "200": {"description": "Facts, series, events, lines and the decision trace (docs/timeline.md)",
                                "content": {_JSON: {"schema": explain_ref}}},
                        "400": _error("The body is malformed"),
                        "401": _error("Missing, expired or another patient's timeline token (production)"),
                        "413": _error("Request body over RRMM_CDS_MAX_REQUEST_BYTES, or too many resources"),
                        "415": wrong_type,
                        "422": _error("The record could not be explained"),
                    },
                }
            },
            "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness",
                                 "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"operationId": "readyz", "summary": "Readiness (knowledge base, store)",
                                "responses": {"200": {"description": "Ready"},
                                              "503": {"description": "Not ready"}}}},
        },
    }


@cache
def _rendered(service_ids: tuple[str, ...]) -> bytes:
    return orjson.dumps(build_document(service_ids))


def register_openapi(app: Flask, service_ids: Sequence[str]) -> None:
    """Serve the document at ``/openapi.json`` (no authentication: it describes, it reveals nothing)."""
    body = _rendered(tuple(service_ids))

    @app.get(OPENAPI_PATH)
    def openapi_document() -> Response:
        return Response(body, mimetype=_JSON)
