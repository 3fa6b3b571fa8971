"""Named checks the knowledge base attaches texts to: treatment notes, source disagreements,
data gaps (``when: high-risk``). Each answers None (does not hold) or the values of its text's
slots. A new note or gap in the YAML is one entry here when no existing check fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinical_rules.decisions import TreatmentDecision
    from clinical_rules.kb import KnowledgeBase
    from clinical_rules.tcr_eligibility import Eligibility
    from fhir_mappings.facts import PatientFacts

Values = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Situation:
    """What a check may look at: the facts, the knowledge base and, once decided, the treatment
    (None before it is decided or when its rule failed)."""

    facts: PatientFacts
    kb: KnowledgeBase
    treatment: TreatmentDecision | None = None
    drafted: tuple[str, ...] = ()  # order hooks: the drafted drugs
    hook_orders: bool = False  # judged for an order hook (drafted drugs, not the relapse decision)
    eligibility: Eligibility | None = None  # the label populations, when the caller has judged them

    def label_eligibility(self) -> Eligibility:
        from clinical_rules.tcr_eligibility import label_eligibility  # the referral family's own rule

        return self.eligibility if self.eligibility is not None else label_eligibility(self.facts, self.kb)

    @property
    def recommended_drugs(self) -> tuple[str, ...]:
        recommended = self.treatment.recommended if self.treatment is not None else None
        return recommended.drugs if recommended is not None else ()


@dataclass(frozen=True, slots=True)
class Check:
    slots: tuple[str, ...]
    test: Callable[[Situation], Values | None]


def _when(condition: Callable[[Situation], bool]) -> Callable[[Situation], Values | None]:
    return lambda s: {} if condition(s) else None


def _list_emptied(s: Situation) -> Values | None:
    return {"row": s.treatment.row_id} if s.treatment is not None and s.treatment.list_emptied else None


def _tcr_preferred(s: Situation) -> bool:
    return s.label_eligibility().preferred


def _neuropathy_every_option_bortezomib(s: Situation) -> bool:
    """Peripheral neuropathy, and the modifier could not apply: every option has its drug."""
    if s.treatment is None or not s.treatment.options or not s.facts.neuropathy.present:
        return False
    avoid = set(s.kb.modifiers.neuropathy_avoid)
    return all(avoid & set(o.drugs) for o in s.treatment.options)


def _not_studied_in_esrd(drugs: tuple[str, ...], s: Situation) -> bool:
    renal, mods = s.facts.renal, s.kb.modifiers
    end_stage = renal.dialysis or (renal.crcl_ml_min is not None and renal.crcl_ml_min < mods.end_stage_renal_crcl_below)
    return end_stage and bool(set(mods.not_studied_in_esrd) & set(drugs))


def _offered_drugs(s: Situation) -> tuple[str, ...]:
    return tuple(d for o in s.treatment.options for d in o.drugs) if s.treatment is not None else ()


def _bispecific_without_igg(s: Situation) -> bool:
    """A bispecific is drafted or eligible by label, and no IgG within the IgG window (D31)."""
    drafted = any("bispecific" in s.kb.classes_of(d) for d in s.drafted)
    if not drafted and (s.hook_orders or not s.label_eligibility().bispecific_eligible):
        return False
    igg = s.facts.igg_mg_dl
    recent = s.facts.evaluation_date - s.kb.derivation_parameters.days("igg_recent_days")
    return igg is None or igg.date < recent


def _asct_too_recent(s: Situation) -> Values | None:
    months = s.facts.months_asct_to_progression
    if s.facts.transplants and months is not None and months < s.kb.salvage_transplant.min_months_after_asct:
        return {"months": f"{months:.0f}"}
    return None


def _renally_dosed(s: Situation) -> tuple[str, ...]:
    return tuple(d for d in s.recommended_drugs if d in s.kb.renally_dosed)


def _renal_unknown_for_recommended(s: Situation) -> Values | None:
    drugs = _renally_dosed(s)
    return {"drugs": ", ".join(drugs)} if drugs and not s.facts.renal.known else None


def _recommended_renally_dosed(s: Situation) -> Values | None:
    drugs = _renally_dosed(s)
    return {"drugs": ", ".join(drugs)} if drugs else None


def _on_lenalidomide_maintenance(s: Situation) -> bool:
    return s.facts.lenalidomide_refractory and any("lenalidomide" in line.maintenance_drugs for line in s.facts.lines)


def _incomplete_cytogenetics(s: Situation) -> Values | None:
    if not s.facts.cytogenetics_on_file or not s.facts.missing_cytogenetics:
        return None
    names = s.kb.facts.abnormalities
    return {"missing": ", ".join(names[a] for a in s.facts.missing_cytogenetics)}


def _asct_undated(s: Situation) -> bool:
    facts = s.facts
    return (bool(facts.transplants) and facts.months_asct_to_progression is None
            and facts.prior_lines <= s.kb.salvage_transplant.max_prior_lines)


def _recommended_units(s: Situation) -> set[str]:
    recommended = s.treatment.recommended if s.treatment is not None else None
    return {d.unit for d in recommended.doses} if recommended is not None else set()


CHECKS: Mapping[str, Check] = {
    "always": Check((), lambda s: {}),
    "list-emptied": Check(("row",), _list_emptied),
    "high-risk": Check((), _when(lambda s: bool(s.facts.high_risk))),
    "frail": Check((), _when(lambda s: s.facts.frail)),
    "t-cell-redirecting-preferred": Check((), _when(_tcr_preferred)),
    "neuropathy-every-option-bortezomib": Check((), _when(_neuropathy_every_option_bortezomib)),
    "selinexor-end-stage-renal": Check((), _when(lambda s: _not_studied_in_esrd(_offered_drugs(s), s))),
    "drafted-not-studied-in-esrd": Check((), _when(lambda s: _not_studied_in_esrd(s.drafted, s))),
    "bispecific-without-recent-igg": Check((), _when(_bispecific_without_igg)),
    "asct-too-recent": Check(("months",), _asct_too_recent),
    "renal-unknown-for-recommended": Check(("drugs",), _renal_unknown_for_recommended),
    "progressed-on-lenalidomide-maintenance": Check((), _when(_on_lenalidomide_maintenance)),
    # data gaps
    "renal-function-unknown": Check((), _when(lambda s: not s.facts.renal.known)),
    "recommended-renally-dosed": Check(("drugs",), _recommended_renally_dosed),
    "no-response-measurements": Check((), _when(lambda s: not s.facts.response_measurements_on_file)),
    "no-cytogenetics": Check((), _when(lambda s: not s.facts.cytogenetics_on_file)),
    "incomplete-cytogenetics": Check(("missing",), _incomplete_cytogenetics),
    "no-birth-date": Check((), _when(lambda s: s.facts.age is None)),
    "no-ecog": Check((), _when(lambda s: s.facts.ecog is None)),
    "no-prior-line": Check((), _when(lambda s: s.facts.prior_lines == 0)),
    "asct-undated": Check((), _when(_asct_undated)),
    "no-bsa-for-recommended": Check((), _when(lambda s: "mg/m2" in _recommended_units(s) and s.facts.bsa_m2 is None)),
    "no-weight-for-recommended": Check((), _when(lambda s: "mg/kg" in _recommended_units(s) and s.facts.weight_kg is None)),
}


def evaluate(name: str, situation: Situation) -> Values | None:
    return CHECKS[name].test(situation)
