"""Audit trail of every hook response: what was recommended, never to whom.

The audit row keeps service, hook instance, a keyed hash of the patient id, KB version, timing,
and per card its uuid, topic, rule ids and indicator (no clinical text). Feedback later joins
to it by card uuid (``rrmm-cds report``).

Where the card facts come from (cds_cards builds every card):
- topic: ``source.topic.code``;
- rule ids and KB version: the card's provenance extension (``org.rrmm-cds.provenance``:
  ``ruleIds``, ``kbVersion``), the same provenance object the card's last detail line is written
  from — never parsed back out of the text; a card without one gives no rule ids and its
  ``source.label`` ("… · KB 2026.1") gives the version.

Every answered call has its audit row: when the row cannot be written the call fails (503, or 400
when the database refuses a value of the request); errors are logged (type only) and counted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DataError

from cds_cards.provenance import PROVENANCE_KEY
from cds_service.observability import metrics
from cds_service.store import AuditCard, AuditEntry, Store, hash_patient_id

if TYPE_CHECKING:
    from cds_service.pipeline import HookResult

log = logging.getLogger(__name__)

_LABEL_KB = re.compile(r"\bKB\s+(?P<kb>[^\s·]+)")


def card_provenance(card: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """(rule ids, KB version) of one emitted card; empty/None when the card does not say."""
    extension = card.get("extension")
    body = extension.get(PROVENANCE_KEY) if isinstance(extension, Mapping) else None
    if isinstance(body, Mapping):
        rule_ids = body.get("ruleIds")
        rules = [str(rule) for rule in rule_ids if rule] if isinstance(rule_ids, list) else []
        version = body.get("kbVersion")
        if version:
            return rules, str(version)
        return rules, _label_version(card)
    return [], _label_version(card)


def _label_version(card: Mapping[str, Any]) -> str | None:
    source = card.get("source")
    label = source.get("label") if isinstance(source, Mapping) else None
    match = _LABEL_KB.search(label) if isinstance(label, str) else None
    return match.group("kb") if match else None


def audit_entry_for_response(
    *,
    service_id: str,
    hook_instance: str,
    patient_id: str | None,
    salt: str,
    cards: Sequence[Mapping[str, Any]],
    duration_ms: float,
    created_at: datetime | None = None,
    fallback_kb_version: str | None = None,
) -> AuditEntry:
    audit_cards: list[AuditCard] = []
    versions: list[str] = []
    for card in cards:
        rule_ids, card_kb = card_provenance(card)
        if card_kb:
            versions.append(card_kb)
        audit_cards.append(
            AuditCard(
                uuid=str(card.get("uuid", "")),
                topic=metrics.card_topic(card),
                rule_ids=rule_ids,
                indicator=card.get("indicator") if isinstance(card.get("indicator"), str) else None,
            )
        )
    return AuditEntry(
        service_id=service_id,
        hook_instance=hook_instance,
        patient_hash=hash_patient_id(patient_id, salt) if patient_id else None,
        kb_version=_most_common(versions) or fallback_kb_version,
        cards=audit_cards,
        duration_ms=duration_ms,
        created_at=created_at,
    )


AUDIT_WRITTEN = "written"
AUDIT_REFUSED = "refused"  # the database refused a value of the request (DataError): a 400
AUDIT_UNAVAILABLE = "unavailable"  # the database did not take the row: a 503, try again


def write_response_audit(store: Store | None, **entry_fields: Any) -> str:
    """Build and write the audit row for one response: AUDIT_WRITTEN, AUDIT_REFUSED or
    AUDIT_UNAVAILABLE (a failure is logged by type and counted; the caller fails the call)."""
    if store is None:
        return AUDIT_UNAVAILABLE
    service_id = entry_fields.get("service_id")
    try:
        store.record_audit(audit_entry_for_response(**entry_fields))
        return AUDIT_WRITTEN
    except Exception as error:  # noqa: BLE001 - classified below, never raised
        metrics.AUDIT_WRITE_FAILURES.inc()
        refused = isinstance(error, DataError)
        log.error(
            "audit write failed; the call is refused" if refused else "audit write failed; the call fails",
            extra={"event": "audit_error", "service": service_id, "error_type": type(error).__name__},
        )
        return AUDIT_REFUSED if refused else AUDIT_UNAVAILABLE


def record_response_audit(store: Store | None, **entry_fields: Any) -> bool:
    """Build and write the audit row for one response; False (logged, counted) on any failure."""
    return write_response_audit(store, **entry_fields) == AUDIT_WRITTEN


def _most_common(values: Iterable[str]) -> str | None:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def record_hook_response(
    store: Store | None, audit_salt: str, result: HookResult, *, kb_version: str | None = None
) -> str:
    """After a hook call: count its cards and fetch errors, and write its audit row (the outcome
    of :func:`write_response_audit`: an answer without its audit row must not be sent).

    ``kb_version`` is the loaded knowledge base's version, recorded even when no card was
    returned; the cards' own provenance wins when they name one.
    """
    service_id = result.service.id
    cards = result.response.get("cards", [])
    metrics.record_cards(service_id, cards)
    if result.gather.fetch_errors:
        metrics.record_fetch_errors(service_id, result.gather.fetch_errors)
    return write_response_audit(
        store,
        service_id=service_id,
        hook_instance=result.hook_instance,
        patient_id=result.patient_id,
        salt=audit_salt,
        cards=cards,
        duration_ms=result.gather_ms + result.rules_ms,
        fallback_kb_version=kb_version,
    )
