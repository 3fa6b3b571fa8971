"""Value types written to the store, and the patient-id hashing rule."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class AuditCard(NamedTuple):
    """One emitted card as the audit trail keeps it (no clinical text, no patient data)."""

    uuid: str
    topic: str | None
    rule_ids: Sequence[str]
    indicator: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one CDS response recommended, for the governance committee and incident review."""

    service_id: str
    hook_instance: str
    patient_hash: str | None
    kb_version: str | None
    # AuditCard values or plain (uuid, topic, rule_ids, indicator) tuples.
    cards: Sequence[AuditCard | tuple[str, str | None, Sequence[str], str | None]] = ()
    duration_ms: float = 0.0
    created_at: datetime | None = None  # None: the time of writing


def hash_patient_id(patient_id: str, salt: str | bytes) -> str:
    """Keyed hash (HMAC-SHA256, hex) of a patient id: joinable across rows, not reversible.

    A plain hash of a short MRN-like id could be brute-forced; keying it with a secret salt
    prevents that as long as the salt stays out of the database.
    """
    key = salt.encode() if isinstance(salt, str) else salt
    return hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()


def resolve_audit_salt(configured_salt: str | None, database_url: str) -> str:
    """The salt for ``hash_patient_id``: ``RRMM_CDS_AUDIT_SALT`` when set.

    Development fallback: derived from the database URL, so hashes stay stable for one store
    across restarts. It is not secret (anyone who knows the URL can recompute it): production
    deployments set RRMM_CDS_AUDIT_SALT from a Secret (see deploy/k8s).
    """
    if configured_salt:
        return configured_salt
    return hashlib.sha256(f"rrmm-cds development audit salt|{database_url}".encode()).hexdigest()
