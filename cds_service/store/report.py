"""Feedback analytics for the CDS governance committee (``rrmm-cds report``).

Cards shown come from the audit trail; feedback joins to it by card uuid to learn each card's
topic and rule ids. A card with several rule ids counts once under each rule. Feedback for a
card the audit trail does not know (audit write failed, card older than the audit trail) is
reported under topic/rule "unknown" rather than dropped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from cds_service.store.schema import audit_card, audit_response, feedback

UNKNOWN = "unknown"


@dataclass
class OutcomeCounts:
    shown: int = 0
    accepted: int = 0
    overridden: int = 0
    # (code, display) -> count; code "unspecified" when the EHR sent no reason
    override_reasons: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        reasons = sorted(self.override_reasons.items(), key=lambda item: (-item[1], item[0]))
        return {
            "shown": self.shown,
            "accepted": self.accepted,
            "overridden": self.overridden,
            "override_reasons": [
                {"code": code, "display": display, "count": count} for (code, display), count in reasons
            ],
        }


@dataclass
class FeedbackReport:
    since: datetime | None
    cards_total: int = 0
    feedback_total: int = 0
    topics: dict[str, OutcomeCounts] = field(default_factory=lambda: defaultdict(OutcomeCounts))
    rules: dict[str, OutcomeCounts] = field(default_factory=lambda: defaultdict(OutcomeCounts))

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "cards_total": self.cards_total,
            "feedback_total": self.feedback_total,
            "topics": {name: counts.as_dict() for name, counts in sorted(self.topics.items())},
            "rules": {name: counts.as_dict() for name, counts in sorted(self.rules.items())},
        }


def build_feedback_report(connection: Connection, since: datetime | None = None) -> FeedbackReport:
    report = FeedbackReport(since=since)
    _count_cards_shown(connection, report)
    _count_feedback(connection, report)
    return report


def _count_cards_shown(connection: Connection, report: FeedbackReport) -> None:
    query = (
        select(audit_card.c.topic, audit_card.c.rule_ids, func.count().label("n"))
        .select_from(audit_card.join(audit_response, audit_card.c.response_id == audit_response.c.id))
        .group_by(audit_card.c.topic, audit_card.c.rule_ids)
    )
    if report.since is not None:
        query = query.where(audit_response.c.created_at >= report.since)
    for topic, rule_ids, count in connection.execute(query):
        report.cards_total += count
        report.topics[topic or UNKNOWN].shown += count
        for rule_id in _rule_ids(rule_ids):
            report.rules[rule_id].shown += count


def _count_feedback(connection: Connection, report: FeedbackReport) -> None:
    # One audit row per card uuid (the latest), so feedback is never multiplied by the join even
    # if a card uuid was ever emitted twice.
    latest = (
        select(audit_card.c.card_uuid, func.max(audit_card.c.id).label("card_id"))
        .group_by(audit_card.c.card_uuid)
        .subquery()
    )
    audited = (
        select(audit_card.c.card_uuid, audit_card.c.topic, audit_card.c.rule_ids)
        .join(latest, audit_card.c.id == latest.c.card_id)
        .subquery()
    )
    query = (
        select(
            feedback.c.outcome,
            feedback.c.override_reason_code,
            feedback.c.override_reason_display,
            audited.c.topic,
            audited.c.rule_ids,
            func.count().label("n"),
        )
        .select_from(feedback.outerjoin(audited, feedback.c.card_uuid == audited.c.card_uuid))
        .group_by(
            feedback.c.outcome,
            feedback.c.override_reason_code,
            feedback.c.override_reason_display,
            audited.c.topic,
            audited.c.rule_ids,
        )
    )
    if report.since is not None:
        query = query.where(feedback.c.received_at >= report.since)
    for outcome, reason_code, reason_display, topic, rule_ids, count in connection.execute(query):
        report.feedback_total += count
        groups = [report.topics[topic or UNKNOWN]]
        groups += [report.rules[rule_id] for rule_id in _rule_ids(rule_ids) or [UNKNOWN]]
        for counts in groups:
            if outcome == "accepted":
                counts.accepted += count
            elif outcome == "overridden":
                counts.overridden += count
                reason = (reason_code or "unspecified", reason_display or reason_code or "unspecified")
                counts.override_reasons[reason] += count


def _rule_ids(stored: str | None) -> list[str]:
    if not stored:
        return []
    values = orjson.loads(stored)
    return [str(value) for value in values] if isinstance(values, list) else []
