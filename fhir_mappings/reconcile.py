"""Medication-source reconciliation (02 §2.2 extended; docs/medication-reconciliation.md).

EHRs leave orders ``active`` for years, and the same drug is often told differently by an order,
a statement, administrations and dispenses. Before exposures are merged, every *open* record (no
end, status active / in-progress / on-hold) is checked against the other records of its drug:

1. **The most recent assertion wins.** A MedicationStatement or MedicationRequest of the drug
   that says it is finished (``completed`` / ``stopped``, with its end) and was asserted later
   (``dateAsserted`` / ``authoredOn``) than the open record ends the open record at that end.
2. **A stale order ends.** An open MedicationRequest whose drug the record does follow up
   (administrations, dispenses or statements at or after the order's start) but with none for
   longer than its expected supply (``dispenseRequest.expectedSupplyDuration`` x fills;
   ``stale_order_days`` when it gives none) ends at that last evidence + the supply. An order
   that is the only record of its course stays ongoing, as the data contract says: nothing
   tells whether it is still taken (home medications are often recorded so).

Each change is kept on the record (shown in the exposure's evidence) and returned as a
``DataNote`` (drug and dates only). Linear after one grouping by drug: each open record looks at
its own drug's records once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

from fhir_mappings.facts import DataNote
from fhir_mappings.medication import MedicationRecord
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters

_ASSERTING = frozenset({"MedicationStatement", "MedicationRequest", "MedicationUsage"})
_FINISHED = frozenset({"completed", "stopped"})
# What shows that an order is still being taken: a dose given, a fill handed over, a statement.
_SUPPORTING = frozenset({"MedicationAdministration", "MedicationDispense", "MedicationStatement", "MedicationUsage"})
_TYPE_WORDS = {"MedicationStatement": "statement", "MedicationUsage": "statement", "MedicationRequest": "order",
               "MedicationAdministration": "administration", "MedicationDispense": "dispense"}


def _asserted(record: MedicationRecord) -> date:
    return record.asserted or record.start


def _last_day(record: MedicationRecord) -> date:
    return record.end or record.start


def _later_finish(record: MedicationRecord, others: list[MedicationRecord]) -> MedicationRecord | None:
    # Only a finished course that reaches into this record's course can end it: an earlier course
    # documented late (induction recorded after maintenance began) says nothing about this one.
    finishing = [o for o in others if o.resource_type in _ASSERTING and o.status in _FINISHED and o.end is not None
                 and o.end >= record.start and _asserted(o) > _asserted(record)]
    return max(finishing, key=lambda o: (_asserted(o), o.end)) if finishing else None


def _reconciled(record: MedicationRecord, others: list[MedicationRecord], evaluation_date: date,
                params: DerivationParameters) -> tuple[date, str] | None:
    """(new end, why) for one open record and its drug's other records; None to leave it open."""
    finish = _later_finish(record, others)
    if finish is not None:
        end = max(finish.end or finish.start, record.start)
        return end, (f"open {_TYPE_WORDS.get(record.resource_type, 'record')} ended {end.isoformat()}: a later "
                     f"{finish.status} {_TYPE_WORDS.get(finish.resource_type, 'record')} "
                     f"(asserted {_asserted(finish).isoformat()}) wins")
    if record.resource_type != "MedicationRequest":
        return None
    evidence = [_last_day(o) for o in others if o.resource_type in _SUPPORTING and _last_day(o) >= record.start]
    if not evidence:
        # The order is the only source of this course: nothing says whether it is still taken, so
        # the data contract's rule stands (active = ongoing). Home medications are often recorded
        # as an order and nothing else.
        return None
    last = max(evidence)
    supply = record.supply_days if record.supply_days is not None else params.stale_order_days
    if (evaluation_date - last).days <= supply:
        return None
    end = last + timedelta(days=supply)
    return end, (f"active order treated as ended {end.isoformat()} (last administration, dispense or statement "
                 f"{last.isoformat()}; {supply} days' supply)")


def reconcile(records: list[MedicationRecord], evaluation_date: date,
              params: DerivationParameters = DEFAULT_PARAMETERS) -> tuple[list[MedicationRecord], list[DataNote]]:
    """The records with every open record reconciled against its drug's other records."""
    by_drug: dict[str, list[MedicationRecord]] = defaultdict(list)
    for record in records:
        for drug in record.drugs:
            by_drug[drug.generic].append(record)
    out: list[MedicationRecord] = []
    notes: list[DataNote] = []
    for record in records:
        if record.end is not None:
            out.append(record)
            continue
        decisions = [_reconciled(record, [o for o in by_drug[d.generic] if o is not record], evaluation_date, params)
                     for d in record.drugs]
        if not decisions or any(d is None for d in decisions):
            out.append(record)  # still supported for one of its drugs: stays open
            continue
        end, why = max(decisions, key=lambda d: d[0])  # type: ignore[arg-type, return-value]
        out.append(replace(record, end=end, reconciliation=why))
        names = ", ".join(d.generic for d in record.drugs)
        notes.append(DataNote("medication-reconciled", f"{names}: {why}"))
    return out, notes
