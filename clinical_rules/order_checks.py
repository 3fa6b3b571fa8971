"""Order-entry safety checks O1–O12 and the 03 §4 supportive-care triggers (03 §6).

Pure decisions: drafted orders (already read by ``fhir_mappings.draft_orders``) + the patient's
facts + the knowledge base -> findings. Nothing here parses FHIR or builds cards; the parameters
(refractoriness exemptions, withdrawn products, t(11;14) requirement, doses, supportive care,
card texts, override reasons) come from the knowledge base, and doses / supportive care / the
recommended regimen come from the same functions patient-view uses, so the two never disagree.

order-select judges only the selected drafts, with the whole draft as context (a prophylaxis
drafted beside counts); order-sign judges every draft.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from clinical_rules.decisions import Dose, FactUsed, Indicator, RelapseDecision, SupportiveMeasure
from clinical_rules.doses import starting_dose
from clinical_rules.hard_rules import drug_exclusion
from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.relapse import decide
from clinical_rules.supportive import supportive_measures
from fhir_mappings.draft_orders import DraftOrder
from fhir_mappings.facts import Evidence, PatientFacts

FixKind = Literal["delete", "update", "create"]
# Supportive-care groups that have their own order check; the others are 03 §4 triggers ("S4").
_GROUP_CHECKS = {"vte-prophylaxis": "O3", "zoster-prophylaxis": "O4", "antiemetic": "O5"}
# Handled as O7 (an update of the drafted dexamethasone), not as a supportive-care card.
_DEX_REDUCTION_GROUP = "dexamethasone-reduction"
# A drafted schedule counts as "more frequent" than the renal dose only when it gives at least
# this many times more administrations per day: cycle notations ("days 1, 8, 15" vs weekly)
# differ by less, a daily order instead of every 48 hours by twice.
_FREQUENCY_RATIO = 1.5
_WEEKLY_PER_DAY = 1 / 7
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class DraftChange:
    """A correction of one draft (``update``): whatever is not None replaces the draft's."""

    dose: Dose | None = None
    route: Literal["oral", "subcutaneous", "intravenous"] | None = None
    description: str = ""
    # Only the amount changes (O7): keep the drafted schedule and route.
    amount_only: bool = False


@dataclass(frozen=True, slots=True)
class Fix:
    """One suggestion of a finding: delete or update a draft, or create a supportive measure."""

    kind: FixKind
    label: str
    draft: DraftOrder | None = None
    change: DraftChange | None = None
    measure: SupportiveMeasure | None = None


@dataclass(frozen=True, slots=True)
class OrderFinding:
    """One card's worth of order check: what was found, why, and how to fix it."""

    check_id: str  # "O1" ... "O12", or "S4" for the other 03 §4 triggers
    # ``rule_id``: the check and the rule it applies, comma-separated ("O1, H2", "O3, SC-VTE").
    title: str
    topic: str
    indicator: Indicator
    summary: str
    reasons: tuple[str, ...]  # sentences for the card detail
    facts_used: tuple[FactUsed, ...]
    rule_id: str
    seeds: tuple[str, ...]
    kb_version: str
    override_reasons: tuple[tuple[str, str], ...]  # (code, display) in the project's code system
    drafts: tuple[DraftOrder, ...] = ()
    fixes: tuple[Fix, ...] = ()
    alternatives: bool = False  # the fixes are alternatives: choose at most one
    links: tuple[tuple[str, str], ...] = ()  # (label, absolute URL)


def selected_drafts(drafts: Sequence[DraftOrder], selections: Any) -> tuple[DraftOrder, ...]:
    """The drafts ``context.selections`` names ("MedicationRequest/<id>", absolute URLs allowed).
    Selections absent or unreadable: every draft (judging more is the safe side)."""
    if not isinstance(selections, list) or not any(isinstance(s, str) and s for s in selections):
        return tuple(drafts)
    wanted: set[str] = set()
    for selection in selections:
        if isinstance(selection, str) and selection:
            parts = [p for p in selection.split("/") if p]
            if len(parts) >= 2 and parts[-2] != "MedicationRequest":
                continue
            wanted.add(parts[-1])
    return tuple(d for d in drafts if d.resource_id in wanted)


def check_orders(
    drafts: Sequence[DraftOrder],
    judged: Sequence[DraftOrder],
    facts: PatientFacts,
    kb: KnowledgeBase,
) -> tuple[OrderFinding, ...]:
    """Every finding for the ``judged`` drafts, with ``drafts`` (the whole draft) as context."""
    checker = _Checker(tuple(drafts), tuple(judged), facts, kb)
    return checker.run()


class _Checker:
    def __init__(self, drafts: tuple[DraftOrder, ...], judged: tuple[DraftOrder, ...],
                 facts: PatientFacts, kb: KnowledgeBase) -> None:
        self.drafts = drafts
        self.judged = judged
        self.facts = facts
        self.kb = kb
        self.config: dict[str, Any] = kb.data["order_checks"]
        self.rules: dict[str, Any] = kb.hard_rules
        self.drafted = {g for d in drafts for g in d.generics}
        self.regimen_id = _regimen_of(drafts, kb)
        self.deleted: set[str] = set()  # draft ids a finding deletes: no other fix touches them
        self.unjudgeable: set[str] = set()  # draft ids whose hard-rule check failed: judged no further
        self._relapse_decision: RelapseDecision | None = None
        self._decided = False

    def run(self) -> tuple[OrderFinding, ...]:
        """Every check, each isolated (issue 6): a check that raises is logged (type only) and gives
        no card; the others still run. A draft whose hard-rule check (O1/O2/O12) failed is judged
        by nothing else — without knowing whether it must go, adjusting it could be a wrong card."""
        findings: list[OrderFinding] = []
        for draft in self.judged:
            deleting = isolated("O1-O2-O12", lambda d=draft: self._deleting_checks(d))
            if deleting is None:
                self.unjudgeable.add(draft.resource_id)
            else:
                findings += deleting
        for draft in self.judged:
            if draft.resource_id in self.deleted or draft.resource_id in self.unjudgeable:
                continue  # never adjust (and so re-suggest) a drug the card says to remove
            for check_id, check in (("O8", self._o8_carfilzomib_heart), ("O11", self._o11_ixazomib_alone),
                                    ("O6", self._o6_renal_dose), ("O7", self._o7_dexamethasone_elderly),
                                    ("O9", self._o9_bortezomib_iv)):
                finding = isolated(check_id, lambda c=check, d=draft: c(d))
                if finding is not None:
                    findings.append(finding)
        findings += isolated("supportive", self._supportive_findings) or []
        if not self.unjudgeable:
            doublet = isolated("O10", self._o10_doublet)
            if doublet is not None:
                findings.append(doublet)
        return tuple(findings)

    # -- O1, O2, O12: the drafted drug must go -------------------------------------------------
    def _deleting_checks(self, draft: DraftOrder) -> list[OrderFinding]:
        """O12 (H6), O1 (H1/H2), O2 (H3): the hard rules patient-view applies, judged by the same
        function (``hard_rules.drug_exclusion``), applied to the drafted drugs."""
        findings: list[OrderFinding] = []
        for drug in draft.generics:
            excluded = drug_exclusion(drug, self.facts, self.kb)
            if excluded is None:
                continue
            rule, reason = excluded
            if rule == "H6":
                findings.append(self._o12_withdrawn(draft, drug))
            elif rule in ("H1", "H2"):
                findings.append(self._o1_refractory(draft, drug, rule, reason))
            elif rule == "H3":
                findings.append(self._o2_venetoclax(draft, drug))
        if findings:
            self.deleted.add(draft.resource_id)
        return findings

    def _o1_refractory(self, draft: DraftOrder, drug: str, rule: str, reason: str) -> OrderFinding:
        recommendation = self._recommended_regimen()
        label = f"Remove {draft.label}"
        notes = [self._explain("O1", reason=_capitalise(reason), rule=rule)]
        if recommendation is not None:
            regimen_id, regimen_label = recommendation
            label += f" — recommended instead: {regimen_label}"
            notes.append(f"The relapse algorithm recommends {regimen_label} for this patient (03 §3, after H1–H6).")
        return self._finding(
            "O1", draft, rule, notes, refractory_evidence(drug, self.facts, self.kb),
            fixes=(Fix("delete", label, draft=draft),), drug=drug, rule=rule,
        )

    def _o2_venetoclax(self, draft: DraftOrder, drug: str) -> OrderFinding:
        results = [c for c in self.facts.cytogenetics if c.abnormality == "t11_14"]
        if results:
            latest = results[-1]
            detail = f"t(11;14) {'positive' if latest.positive else 'negative'}"
            used = [FactUsed(f"{detail} ({_date(latest.date)})", (latest.evidence,))]
        else:
            detail = "no t(11;14) result on file"
            used = [FactUsed("No FISH result for t(11;14) on file")]
        notes = [self._explain("O2")]
        return self._finding("O2", draft, detail, notes, used,
                             fixes=(Fix("delete", f"Remove {draft.label}", draft=draft),), drug=drug)

    def _o12_withdrawn(self, draft: DraftOrder, drug: str) -> OrderFinding:
        decision = next((d for d in self.kb.decision_log if drug in str(d.get("topic", "")).lower()
                         or drug in str(d.get("decision", "")).lower()), None)
        notes = [self._explain("O12", drug=_capitalise(drug))]
        if decision is not None:
            # Where the seeds disagree with the current status, say so (04 §1).
            notes.append(f"Knowledge-base decision {decision.get('id', '')}: {decision.get('decision', '')} "
                         f"(seeds: {decision.get('seeds', '')}).")
        return self._finding("O12", draft, "H6", notes, [FactUsed(f"Drafted: {draft.label}")],
                             fixes=(Fix("delete", f"Remove {draft.label}", draft=draft),), drug=drug)

    # -- O8, O11: warnings without a fix ---------------------------------------------------------
    def _o8_carfilzomib_heart(self, draft: DraftOrder) -> OrderFinding | None:
        if not draft.names("carfilzomib") or not self.facts.heart_failure.present:
            return None
        lvef = self.facts.lvef_percent
        if lvef is not None and lvef.value < 40:
            detail = f"LVEF {lvef.value:g} % ({_date(lvef.date)})"
        else:
            detail = "heart failure"
        used = [FactUsed("Heart failure or LVEF < 40 %", self.facts.heart_failure.evidence)]
        notes = [self._explain("O8")]
        return self._finding("O8", draft, detail, notes, used, drug="carfilzomib")

    def _o11_ixazomib_alone(self, draft: DraftOrder) -> OrderFinding | None:
        if not draft.names("ixazomib") or "lenalidomide" in self.drafted:
            return None
        drafted = ", ".join(sorted(self.drafted)) or draft.label
        notes = [self._explain("O11")]
        return self._finding("O11", draft, "", notes, [FactUsed(f"Drafted together: {drafted}")], drug="ixazomib")

    # -- O6, O7, O9: the draft should be changed -----------------------------------------------
    def _o6_renal_dose(self, draft: DraftOrder) -> OrderFinding | None:
        for drug in draft.generics:
            if drug not in self.kb.data["renally_dosed"] or draft.dose is None:
                continue
            target = starting_dose(drug, self.regimen_id, self.facts, self.kb)
            too_much = draft.dose.unit == target.unit and draft.dose.value > target.value + _EPSILON
            too_often = (draft.timing is not None
                         and draft.timing.per_day >= _FREQUENCY_RATIO * _per_day(target) - _EPSILON)
            if not (too_much or too_often):
                continue
            drafted = f"{draft.dose.value:g} {draft.dose.unit}" + (
                f" {_schedule(draft.timing.frequency, draft.timing.period, draft.timing.period_unit)}"
                if draft.timing else "")
            detail = f"{drafted} drafted; renal starting dose {target.value:g} {target.unit} {_dose_schedule(target)}"
            notes = [self._explain("O6", drafted=drafted, target=target.text)]
            used = [*_renal_facts(self.facts)]
            change = DraftChange(dose=target, description=f"Change {drug} to {target.text}")
            return self._finding("O6", draft, detail, notes, used, drug=drug,
                                 fixes=(Fix("update", f"Change to {target.value:g} {target.unit} "
                                                      f"{_dose_schedule(target)}", draft=draft, change=change),))
        return None

    def _o7_dexamethasone_elderly(self, draft: DraftOrder) -> OrderFinding | None:
        if not draft.names("dexamethasone") or draft.dose is None or draft.dose.unit != "mg":
            return None
        weekly = draft.timing is None or draft.timing.per_day <= _WEEKLY_PER_DAY + _EPSILON
        # The age rule lives in doses.yaml: the standard weekly dose for this patient says it.
        target = starting_dose("dexamethasone", None, self.facts, self.kb)
        if not weekly or draft.dose.value < 40 or target.value >= draft.dose.value - _EPSILON:
            return None
        age = self.facts.age
        detail = f"{draft.dose.value:g} mg weekly drafted at age {age}: reduce to {target.value:g} mg weekly"
        notes = [self._explain("O7", age=age, target=f"{target.value:g}", drafted=f"{draft.dose.value:g}")]
        notes += [f"Knowledge base: {a}." for a in target.adjustments]
        used = [FactUsed(f"Age {age} years" + (f" (born {self.facts.birth_date.isoformat()})"
                                                if self.facts.birth_date else ""))]
        # Keep the drafted schedule; only the amount changes.
        change = DraftChange(dose=target, amount_only=True,
                             description=f"Reduce dexamethasone to {target.value:g} mg weekly")
        return self._finding("O7", draft, detail, notes, used, drug="dexamethasone",
                             fixes=(Fix("update", f"Reduce to {target.value:g} mg weekly", draft=draft,
                                        change=change),))

    def _o9_bortezomib_iv(self, draft: DraftOrder) -> OrderFinding | None:
        if not draft.names("bortezomib") or draft.route != "intravenous" or not self.facts.neuropathy.present:
            return None
        target = starting_dose("bortezomib", self.regimen_id, self.facts, self.kb)
        notes = [self._explain("O9", target=target.text)]
        used = [FactUsed("Peripheral neuropathy", self.facts.neuropathy.evidence)]
        change = DraftChange(dose=target, route="subcutaneous", description="Give bortezomib subcutaneously")
        return self._finding("O9", draft, "", notes, used, drug="bortezomib",
                             fixes=(Fix("update", f"Give subcutaneously, {target.value:g} {target.unit} "
                                                      f"{_dose_schedule(target)}", draft=draft, change=change),))

    # -- O3, O4, O5 and the other 03 §4 triggers -------------------------------------------------
    def _supportive_findings(self) -> list[OrderFinding]:
        skipped = self.deleted | self.unjudgeable
        triggers = [g for d in self.judged if d.resource_id not in skipped for g in d.generics]
        if not triggers:
            return []
        planned = [g for d in self.drafts for g in d.generics]
        planned_classes = {c for d in self.drafts for drug in d.drugs for c in drug.classes}
        measures = supportive_measures(
            triggers, self.facts, self.kb, already_planned=planned, already_planned_classes=planned_classes
        )
        groups: dict[str, list[SupportiveMeasure]] = {}
        for measure in measures:
            if measure.group != _DEX_REDUCTION_GROUP and not self._already_covered(measure.group, planned):
                groups.setdefault(measure.group, []).append(measure)
        findings = []
        for group, options in groups.items():
            findings.append(self._supportive_finding(group, options))
        return findings

    def _supportive_finding(self, group: str, options: list[SupportiveMeasure]) -> OrderFinding:
        check_id = _GROUP_CHECKS.get(group, "S4")
        config = self.config[check_id]
        triggers = tuple(dict.fromkeys(t for m in options for t in m.trigger_drugs))
        trigger = ", ".join(triggers) or "drafted therapy"
        need = options[0].label.split(": ", 1)[0]  # the need's label ("Pneumocystis prophylaxis")
        drugs = " or ".join(m.drug for m in options if m.drug)
        names = drugs if check_id != "S4" else (f"{need}: {drugs}" if drugs else need)
        services_only = all(m.kind == "service" for m in options)
        indicator = config.get("service_indicator", config["indicator"]) if services_only else config["indicator"]
        # Medication options of one need are alternatives; tests (echo + ECG) are all wanted.
        alternatives = not services_only and len(options) > 1
        fixes = tuple(Fix("create", m.label, measure=m) for m in options)
        notes = list(dict.fromkeys(m.reason for m in options))
        used = [FactUsed(f"Drafted: {trigger}"), *_supportive_facts(group, self.facts)]
        summary = config["summary"].format(drug=_capitalise(trigger), detail=names)
        return OrderFinding(
            check_id=check_id, title=config["title"], topic=config["topic"], indicator=indicator,
            summary=summary, reasons=tuple(notes), facts_used=tuple(used),
            rule_id=options[0].rule_id if check_id == "S4" else f"{check_id}, {options[0].rule_id}",
            seeds=tuple(dict.fromkeys(s for m in options for s in m.seeds)), kb_version=self.kb.version,
            override_reasons=self._override_reasons(config), fixes=fixes, alternatives=alternatives,
            drafts=tuple(d for d in self.judged if set(d.generics) & set(triggers)),
        )

    def _already_covered(self, group: str, planned: list[str]) -> bool:
        """O3–O5 ask for the prophylaxis only when *none* is current or drafted: any of the need's
        options counts, including those of the other risk tier (aspirin drafted for a patient with
        a prior VTE is VTE prophylaxis; the card would not be "missing prophylaxis")."""
        if group not in _GROUP_CHECKS:
            return False
        need = next((n for n in self.kb.supportive_care if n["group"] == group), None)
        if need is None:
            return False
        equivalents = {*need.get("options", ()), *need.get("prior_vte_options", ())}
        return bool(equivalents & (self.facts.current_drugs() | set(planned)))

    # -- O10: regimen intensity ------------------------------------------------------------------
    def _o10_doublet(self) -> OrderFinding | None:
        antimyeloma = {g for d in self.drafts for drug in d.drugs if drug.is_antimyeloma for g in (drug.generic,)}
        steroids = {drug.generic for d in self.drafts for drug in d.drugs if drug.is_steroid}
        if len(antimyeloma) != 1 or not steroids or self.facts.frail:
            return None
        (drug,) = antimyeloma
        judged = {g for d in self.judged for g in d.generics}
        if not judged & (antimyeloma | steroids):
            return None
        # H4: in R1/R2 (triple-class or penta-refractory) Xd and VenD are allowed for anyone.
        if drug in ("selinexor", "venetoclax") and (self.facts.triple_class_refractory
                                                     or self.facts.penta_refractory):
            return None
        draft = next(d for d in self.drafts if drug in d.generics)
        triplets = self._triplet_options(drug)
        notes = [self._explain("O10")]
        if triplets:
            notes.append("Triplet options: " + "; ".join(triplets) + ".")
        frailty = (f"ECOG {self.facts.ecog.value:g}" if self.facts.ecog else "ECOG unknown") + (
            f", age {self.facts.age}" if self.facts.age is not None else "")
        used = [FactUsed(f"Not frail by the proxy (ECOG ≥ 2 or age ≥ 80): {frailty}",
                         (self.facts.ecog.evidence,) if self.facts.ecog else ()),
                FactUsed(f"Drafted: {', '.join(sorted(antimyeloma | steroids))}")]
        link = self.kb.data["links"]["triplet_options"]
        return self._finding("O10", draft, f"{drug} + {', '.join(sorted(steroids))}", notes, used, drug=drug,
                             links=((link["label"], link["url"]),))

    def _triplet_options(self, drug: str) -> list[str]:
        """Triplets to consider: the relapse algorithm's options when the patient is at relapse,
        else the knowledge base's triplets containing the drafted drug; never one with a drug
        the patient is refractory to (H1/H2)."""
        options: list[str] = []
        decision = self._decision()
        if decision is not None and decision.treatment is not None:
            options = [o.regimen_id for o in decision.treatment.options
                       if self.kb.regimens[o.regimen_id].get("kind") == "triplet"]
        if not options:
            options = [rid for rid, r in self.kb.regimens.items()
                       if r.get("kind") == "triplet" and drug in r["drugs"]]
        return [self.kb.regimen_label(rid) for rid in options
                if not any(drug_exclusion(d, self.facts, self.kb) for d in self.kb.regimens[rid]["drugs"])]

    # -- helpers ---------------------------------------------------------------------------------
    def _decision(self) -> RelapseDecision | None:
        """The patient-view decision (computed once, only when a check needs it)."""
        if not self._decided:
            self._decided = True
            try:
                self._relapse_decision = decide(self.facts, self.kb)
            except Exception:  # noqa: BLE001 - naming a regimen is a courtesy; the check stands without it
                self._relapse_decision = None
        return self._relapse_decision

    def _recommended_regimen(self) -> tuple[str, str] | None:
        """The regimen patient-view would recommend now (when at relapse), if it is safe to name."""
        decision = self._decision()
        option = decision.treatment.recommended if decision is not None and decision.treatment else None
        if option is None or any(drug_exclusion(d, self.facts, self.kb) for d in option.drugs):
            return None
        return option.regimen_id, option.label

    def _explain(self, check_id: str, **values: Any) -> str:
        """The check's explanation sentence from the knowledge base, placeholders filled."""
        return str(self.config[check_id].get("explanation", self.config[check_id]["title"])).format(**values)

    def _override_reasons(self, config: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        table: dict[str, str] = self.kb.data["override_reasons"]
        return tuple((code, table[code]) for code in config.get("override_reasons", ()) if code in table)

    def _finding(self, check_id: str, draft: DraftOrder, detail: str, notes: Iterable[str],
                 used: Iterable[FactUsed], *, drug: str, fixes: tuple[Fix, ...] = (),
                 links: tuple[tuple[str, str], ...] = (), rule: str | None = None) -> OrderFinding:
        """``rule`` names the hard rule that fired when the check's configured one is a choice
        (O1: "H1/H2" in the knowledge base, H1 or H2 for this draft)."""
        config = self.config[check_id]
        rule = rule or config.get("rule")
        summary = config["summary"].format(drug=_capitalise(drug), detail=detail)
        return OrderFinding(
            check_id=check_id, title=config["title"], topic=config["topic"], indicator=config["indicator"],
            summary=summary, reasons=tuple(notes), facts_used=tuple(used),
            rule_id=f"{check_id}, {rule}" if rule not in (None, check_id) else check_id,
            seeds=tuple(config["seeds"]), kb_version=self.kb.version,
            override_reasons=self._override_reasons(config), drafts=(draft,), fixes=fixes, links=links,
        )


def refractory_evidence(drug: str, facts: PatientFacts, kb: KnowledgeBase) -> list[FactUsed]:
    """The refractoriness behind an H1/H2 exclusion of ``drug``, with its resources: the drug's
    own progression on it, a class-wide group member's (anti-CD38), or the refractory PIs that
    exclude ixazomib."""
    history = facts.history(drug)
    if history is not None and history.refractory:
        return [_refractory_fact(drug, history)]
    facts_used: list[FactUsed] = []
    for members in kb.hard_rules["class_wide_refractoriness"].values():
        if drug in members:
            facts_used += [_refractory_fact(m, h) for m in members
                           if (h := facts.history(m)) is not None and h.refractory]
    if not facts_used and drug in kb.hard_rules["pi_refractory_excludes"]:
        facts_used += [_refractory_fact(h.drug, h) for h in facts.drug_histories
                       if h.refractory and "PI" in h.classes]
    if not facts_used and facts.latest_progression is not None:
        event = facts.latest_progression
        facts_used.append(FactUsed(f"Latest progression {event.date.isoformat()}: {event.description}",
                                   event.evidence))
    return facts_used


def _refractory_fact(drug: str, history: Any) -> FactUsed:
    event = history.refractory_event
    exposure = history.refractory_exposure
    label = f"{drug}-refractory"
    evidence: list[Evidence] = []
    if event is not None:
        label += f": progression {event.date.isoformat()}"
        if event.description:
            label += f" — {event.description}"
        evidence += event.evidence
    if exposure is not None:
        state = "ongoing" if exposure.ongoing else f"to {exposure.end.isoformat()}"
        label += f" — while on {drug} since {exposure.start.isoformat()} ({state})"
        evidence += exposure.evidence
    return FactUsed(label, tuple(evidence))


def _supportive_facts(group: str, facts: PatientFacts) -> list[FactUsed]:
    """What the patient's record says about the need (the rule itself is supportive.py's)."""
    current = sorted(facts.current_drugs())
    taking = f"current drugs on record: {', '.join(current)}" if current else "no current drugs on record"
    if group == "vte-prophylaxis":
        vte = facts.vte_history
        history = FactUsed("Prior venous thromboembolism", vte.evidence) if vte.present else FactUsed(
            "No prior venous thromboembolism on record")
        return [history, FactUsed(f"No anticoagulant or aspirin current or drafted ({taking})")]
    if group == "zoster-prophylaxis":
        return [FactUsed(f"No antiviral current or drafted ({taking})")]
    if group == "antiemetic":
        return [FactUsed(f"No 5-HT3 antiemetic current or drafted ({taking})")]
    if group == "pjp-prophylaxis":
        return [FactUsed(f"No Pneumocystis prophylaxis current or drafted ({taking})")]
    if group == "cardiac-baseline":
        lvef = facts.lvef_percent
        return [FactUsed(f"Latest LVEF {lvef.value:g} % on {lvef.date.isoformat()} (older than 6 months)",
                         (lvef.evidence,)) if lvef else FactUsed("No LVEF on record")]
    if group == "type-and-screen":
        return [FactUsed("No earlier daratumumab or isatuximab exposure on record: first anti-CD38 antibody")]
    if group == "immunoglobulin" and facts.igg_mg_dl is not None:
        igg = facts.igg_mg_dl
        return [FactUsed(f"IgG {igg.value:g} mg/dL on {igg.date.isoformat()}", (igg.evidence,))]
    return []


def _renal_facts(facts: PatientFacts) -> list[FactUsed]:
    renal = facts.renal
    if renal.dialysis:
        label = "On dialysis"
    elif renal.crcl_ml_min is not None:
        method = {"cockcroft-gault": "Cockcroft–Gault", "egfr": "eGFR", "measured-crcl": "measured"}.get(
            renal.method or "", renal.method or "")
        label = f"CrCl {renal.crcl_ml_min:.0f} mL/min ({method})"
        if renal.creatinine_mg_dl is not None:
            label += f"; creatinine {renal.creatinine_mg_dl.value:.2f} mg/dL ({_date(renal.creatinine_mg_dl.date)})"
        if renal.weight_kg is not None:
            label += f"; weight {renal.weight_kg.value:.0f} kg"
        if facts.age is not None:
            label += f"; age {facts.age}"
    else:
        label = "Renal function unknown (no creatinine in 90 days)"
    return [FactUsed(label, renal.evidence), *(FactUsed(n) for n in renal.notes)]


def _regimen_of(drafts: Sequence[DraftOrder], kb: KnowledgeBase) -> str | None:
    """The knowledge-base regimen whose drugs are exactly the drafted anti-myeloma drugs and
    steroids (some doses differ by regimen), else None."""
    drafted = {drug.generic for d in drafts for drug in d.drugs if drug.is_antimyeloma or drug.is_steroid}
    for regimen_id, regimen in kb.regimens.items():
        if set(regimen["drugs"]) == drafted:
            return regimen_id
    return None


def _per_day(dose: Dose) -> float:
    hours = {"h": 1.0, "d": 24.0, "wk": 168.0}[dose.period_unit]
    return dose.frequency * 24.0 / (dose.period * hours)


def _schedule(frequency: int, period: float, unit: str) -> str:
    names = {("h", 48.0): "every 48 hours", ("d", 1.0): "daily", ("wk", 1.0): "weekly", ("d", 2.0): "every 48 hours"}
    base = names.get((unit, period))
    if base and frequency == 1:
        return base
    unit_word = {"h": "hours", "d": "days", "wk": "weeks"}[unit]
    return f"{frequency}× per {period:g} {unit_word}"


def _dose_schedule(dose: Dose) -> str:
    return _schedule(dose.frequency, dose.period, dose.period_unit)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _date(value: Any) -> str:
    return value.isoformat() if value is not None else "date unknown"
