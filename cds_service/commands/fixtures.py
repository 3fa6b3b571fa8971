"""``rrmm-cds fixtures``: the sample patients (``cds_service/samples``) for integration work.

- ``fixtures list`` — the personas, their patient ids and what the service should say.
- ``fixtures load --fhir-server URL [--token T]`` — upload every persona (or ``--only`` some) to a
  FHIR R4 server as ``transaction`` Bundles. Entries are ``PUT Type/id``, so loading again
  overwrites instead of duplicating. Dates are shifted to today (or ``--date``) on the way. A
  persona larger than ``--max-entries`` (default 50: Medplum refuses transactions with more
  updates) goes in several transactions, Patient first; the entries never reference each other by
  ``urn:uuid``, so splitting is safe.
- ``fixtures request ID --hook HOOK`` — print a CDS Hooks request for a persona (prefetch filled
  from the chart unless ``--no-prefetch``), ready for ``rrmm-cds call -`` or ``curl``.
- ``fixtures check [--only ID ...]`` — run every persona through the pipeline offline (prefetch,
  patient-view and order-sign) and compare the cards with what the persona expects; exit 1 on
  any difference. A quick end-to-end check after changing rules, cards or mappings.

The token is sent as ``Authorization: Bearer`` and never printed; ``RRMM_CDS_FIXTURES_TOKEN``
may hold it instead of the command line (which other users of the machine can see).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cds_service import samples
from cds_service.commands._arguments import iso_date
from cds_service.services import SERVICES

if TYPE_CHECKING:
    import requests

# requests is imported where it is used: `rrmm-cds --help` imports every command module.

TOKEN_ENV = "RRMM_CDS_FIXTURES_TOKEN"
UPLOAD_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_ENTRIES = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fixtures", help="list sample patients, upload them to a FHIR server")
    actions = parser.add_subparsers(dest="fixtures_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the sample patients")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=run_list)

    load = actions.add_parser("load", help="upload the sample patients to a FHIR R4 server (idempotent)")
    load.add_argument("--fhir-server", required=True, help="FHIR base URL, e.g. http://127.0.0.1:8103/fhir (Medplum)")
    load.add_argument("--token", default=None, help=f"bearer token for the FHIR server (or env {TOKEN_ENV})")
    load.add_argument("--only", nargs="+", metavar="ID", help="load only these personas")
    load.add_argument("--date", type=iso_date, default=None,
                      help="shift the charts to this date YYYY-MM-DD (default: today, UTC)")
    load.add_argument("--max-entries", type=int, default=DEFAULT_MAX_ENTRIES,
                      help=f"entries per transaction (default {DEFAULT_MAX_ENTRIES})")
    load.set_defaults(func=run_load)

    request = actions.add_parser("request", help="print a CDS Hooks request for one sample patient")
    request.add_argument("persona", help="persona id (see `rrmm-cds fixtures list`)")
    request.add_argument("--hook", choices=samples.HOOKS, default="patient-view")
    request.add_argument("--no-prefetch", action="store_true", help="send no prefetch: the service fetches")
    request.add_argument("--fhir-server", default=None, help="fhirServer to put in the request")
    request.add_argument("--token", default=None, help=f"fhirAuthorization access token (or env {TOKEN_ENV})")
    request.add_argument("--date", type=iso_date, default=None,
                         help="shift the chart to this date YYYY-MM-DD (default: today, UTC)")
    request.set_defaults(func=run_request)

    check = actions.add_parser("check", help="run the personas offline and compare with their expected cards")
    check.add_argument("--only", nargs="+", metavar="ID", help="check only these personas")
    check.set_defaults(func=run_check)


def run_list(args: argparse.Namespace) -> int:
    rows = samples.personas()
    if args.json:
        print(json.dumps([{"id": p.id, "patientId": p.patient_id, "title": p.title, "summary": p.summary,
                           "expect": p.expect, "draft": p.draft_label} for p in rows], indent=1))
        return 0
    width = max(len(p.id) for p in rows)
    for p in rows:
        print(f"{p.id:<{width}}  {p.patient_id:<32}  {p.title}")
    print(f"\n{len(rows)} personas; dates are shifted from {samples.anchor().isoformat()} to the load date.")
    return 0


def _selected(only: list[str] | None) -> list[samples.Persona] | None:
    if not only:
        return list(samples.personas())
    chosen = []
    for persona_id in only:
        try:
            chosen.append(samples.persona(persona_id))
        except samples.UnknownPersona:
            print(f"rrmm-cds fixtures: unknown persona {persona_id!r} (see `rrmm-cds fixtures list`)",
                  file=sys.stderr)
            return None
    return chosen


def _base_url(raw: str) -> str | None:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        print("rrmm-cds fixtures: --fhir-server must be an http(s) URL", file=sys.stderr)
        return None
    return raw.rstrip("/")


def run_load(args: argparse.Namespace) -> int:
    import requests

    base = _base_url(args.fhir_server)
    chosen = _selected(args.only)
    if base is None or chosen is None:
        return 2
    if args.max_entries < 1:
        print("rrmm-cds fixtures: --max-entries must be at least 1", file=sys.stderr)
        return 2
    token = args.token or os.environ.get(TOKEN_ENV)
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    today = args.date or samples.utc_today()
    failures = 0
    with requests.Session() as session:
        for persona in chosen:
            entries = samples.bundle(persona, today)["entry"]
            for start in range(0, len(entries), args.max_entries):
                transaction = {"resourceType": "Bundle", "type": "transaction",
                               "entry": entries[start:start + args.max_entries]}
                try:
                    response = session.post(base, data=json.dumps(transaction), headers=headers,
                                            timeout=UPLOAD_TIMEOUT_SECONDS)
                except requests.RequestException as exc:
                    print(f"FAIL {persona.id}: cannot reach the FHIR server ({type(exc).__name__})",
                          file=sys.stderr)
                    return 1
                if not response.ok:
                    failures += 1
                    print(f"FAIL {persona.id}: HTTP {response.status_code} {_diagnostics(response)}",
                          file=sys.stderr)
                    break
            else:
                print(f"loaded {persona.id:<24} {len(entries):>4} resources  Patient/{persona.patient_id}")
    return 1 if failures else 0


def _diagnostics(response: requests.Response) -> str:
    """The FHIR server's own explanation (OperationOutcome), shortened for one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list):
        texts = [str(i.get("diagnostics") or i.get("details", {}).get("text") or i.get("code"))
                 for i in issues if isinstance(i, dict)]
        return "; ".join(texts)[:300]
    return json.dumps(body)[:300]


def run_request(args: argparse.Namespace) -> int:
    chosen = _selected([args.persona])
    if chosen is None:
        return 2
    service = next(s for s in SERVICES.values() if s.hook == args.hook)
    fhir_server = _base_url(args.fhir_server) if args.fhir_server else None
    if args.fhir_server and fhir_server is None:
        return 2
    request = samples.hook_request(
        chosen[0],
        args.hook,
        args.date or samples.utc_today(),
        prefetch_templates=None if args.no_prefetch else service.prefetch,
        fhir_server=fhir_server,
        fhir_token=args.token or os.environ.get(TOKEN_ENV),
    )
    print(json.dumps(request, indent=1))
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Offline: the same pipeline as the HTTP service, with each persona's prefetch, dated today,
    compared with the persona's expectations in the knowledge base (scenarios/personas.yaml)."""
    from cds_service.scenarios import (
        load_persona_expectations,  # loads the knowledge base: only when checking
    )
    from cds_service.scenarios.personas import run_personas
    from clinical_rules.kb import load_knowledge_base

    chosen = _selected(args.only)
    if chosen is None:
        return 2
    results = run_personas(load_knowledge_base(), load_persona_expectations(), samples.utc_today(),
                           only=[p.id for p in chosen])
    for result in results:
        verdict = "FAIL" if result.problems else "PASS"
        print(f"{verdict} {result.persona} {result.hook}" + (f": {'; '.join(result.problems)}" if result.problems else ""))
    failures = sum(1 for r in results if r.problems)
    print(f"{failures} failed")
    return 1 if failures else 0
