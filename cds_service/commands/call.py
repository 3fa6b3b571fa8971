"""``rrmm-cds call FILE|-``: run one CDS Hooks request through the pipeline offline.

The same validation, prefetch resolution (including fhirServer fetches, if the request names an
allow-listed one) and clinical handlers as the HTTP service; the response JSON goes to stdout.
Errors print their OperationOutcome and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import orjson

from cds_service.commands._arguments import iso_date
from cds_service.config import Settings
from cds_service.errors import CdsHttpError
from cds_service.services import SERVICES

DEFAULT_SERVICE_FOR_HOOK = {service.hook: service.id for service in SERVICES.values()}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "call", help="run one CDS Hooks request JSON offline and print the response"
    )
    parser.add_argument("file", help="request JSON file, or - for stdin")
    parser.add_argument(
        "--service", default=None, help="service id (default: the service for the request's hook)"
    )
    parser.add_argument(
        "--date",
        type=iso_date,
        default=None,
        help="evaluation date YYYY-MM-DD (default: today, UTC)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    raw = sys.stdin.buffer.read() if args.file == "-" else _read_file(args.file)
    if raw is None:
        return 1
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _fail(CdsHttpError(400, "request is not valid JSON", code="structure"))
    service_id = args.service or _service_for(document)
    if service_id is None:
        print(f"rrmm-cds call: {_no_service_message(document)}", file=sys.stderr)
        return 2
    if service_id not in SERVICES:
        print(f"rrmm-cds call: unknown service {service_id!r} (services: {', '.join(SERVICES)})", file=sys.stderr)
        return 2
    from cds_service.pipeline import build_pipeline  # heavy: after the request's checks, not for --help

    pipeline = build_pipeline(settings)
    evaluation_date = args.date or datetime.now(UTC).date()
    try:
        result = pipeline.run(service_id, document, evaluation_date)
    except CdsHttpError as exc:
        return _fail(exc)
    sys.stdout.write(orjson.dumps(result.response, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        print(f"rrmm-cds call: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


def _service_for(document: object) -> str | None:
    hook = document.get("hook") if isinstance(document, dict) else None
    return DEFAULT_SERVICE_FOR_HOOK.get(hook) if isinstance(hook, str) else None


def _no_service_message(document: object) -> str:
    hook = document.get("hook") if isinstance(document, dict) else None
    served = ", ".join(f"{hook} ({service})" for hook, service in DEFAULT_SERVICE_FOR_HOOK.items())
    if not isinstance(hook, str) or not hook:
        return f"the request names no hook; hooks served here: {served}"
    return f"no service here answers the hook {hook!r}; hooks served here: {served}"


def _fail(exc: CdsHttpError) -> int:
    print(f"HTTP {exc.status}", file=sys.stderr)
    sys.stdout.write(orjson.dumps(exc.outcome(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 1
