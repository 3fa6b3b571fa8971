"""``rrmm-cds report [--json] [--since DATE]``: feedback analytics for the governance committee.

Per card topic and per rule id: cards shown, accepted, overridden, and the override reasons with
their counts, read from the store (DATABASE_URL). ``--json`` prints one object whose
``cards_total`` and ``feedback_total`` are integers, with ``topics`` and ``rules`` maps.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cds_service.commands._arguments import database_url
from cds_service.commands.db import DatabaseProblem, database_url_from, describe_database_error, open_store

if TYPE_CHECKING:
    from cds_service.store.report import FeedbackReport, OutcomeCounts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="feedback analytics per topic and rule")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")
    parser.add_argument(
        "--since",
        type=parse_since,
        default=None,
        help="only cards shown / feedback received from this date or ISO 8601 time (UTC if no offset)",
    )
    parser.add_argument("--database-url", type=database_url, default=None,
                        help="store URL (default: DATABASE_URL)")
    parser.set_defaults(func=run)


def parse_since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url_from(args)
    try:
        store = open_store(url)
    except DatabaseProblem as problem:
        print(f"rrmm-cds report: {problem}", file=sys.stderr)
        return 2
    try:
        if store.current_revision() is None:
            print("rrmm-cds report: the store has no schema yet; run `rrmm-cds db upgrade`", file=sys.stderr)
            return 2
        report = store.feedback_report(args.since)
    except SQLAlchemyError as error:
        # Host, port and a reason only: messages can carry the database URL (and its password).
        print(f"rrmm-cds report: {describe_database_error(url, error)}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    if args.json:
        sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_text(report))
    return 0


def render_text(report: FeedbackReport) -> str:
    since = f" since {report.since.isoformat()}" if report.since else ""
    lines = [
        f"RRMM CDS feedback report{since}",
        f"cards shown: {report.cards_total}   feedback received: {report.feedback_total}",
        "",
    ]
    for title, groups in (("By topic", report.topics), ("By rule", report.rules)):
        lines += _table(title, groups)
    return "\n".join(lines) + "\n"


def _table(title: str, groups: dict[str, OutcomeCounts]) -> list[str]:
    lines = [title, f"  {'':<28} {'shown':>7} {'accepted':>9} {'overridden':>11}"]
    if not groups:
        lines.append("  (none)")
    for name, counts in sorted(groups.items()):
        lines.append(f"  {name:<28} {counts.shown:>7} {counts.accepted:>9} {counts.overridden:>11}")
        reasons: list[dict[str, Any]] = counts.as_dict()["override_reasons"]
        for reason in reasons:
            lines.append(f"      override: {reason['display']} ({reason['code']}): {reason['count']}")
    lines.append("")
    return lines
