"""Cross references the models cannot check alone: every drug, regimen, row, service, check,
text slot and knowledge-base value a section names must exist. Each problem names its place."""

from __future__ import annotations

import typing
from collections.abc import Iterable

from clinical_rules.kbmodel.common import DoseUnit, PeriodUnit, Route, Topic
from clinical_rules.kbmodel.coverage import unrecorded
from clinical_rules.kbmodel.document import KnowledgeBaseDocument
from clinical_rules.kbmodel.loading import entries, templates
from clinical_rules.predicates import CHECKS
from fhir_mappings.facts import CytogeneticAbnormality, Renal
from fhir_mappings.terminology import DrugCatalog

_ABNORMALITIES = frozenset(typing.get_args(CytogeneticAbnormality))
_RENAL_METHODS = frozenset(typing.get_args(typing.get_args(typing.get_type_hints(Renal)["method"])[0]))
_RENAL_VALUE_KINDS = frozenset(typing.get_args(typing.get_args(typing.get_type_hints(Renal)["last_kind"])[0]))


def suggestable(doc: KnowledgeBaseDocument) -> frozenset[str]:
    """The regimens some row lists (the others are only recognised in drafted orders)."""
    return frozenset(r for row in doc.rows for r in (*row.list, *row.frail_list))


def never_suggested(document: KnowledgeBaseDocument) -> list[str]:
    """H6 and the products outside this rule set are in no regimen: enforced here, so the rule is
    in force (a regimen with one of them does not load)."""
    rules = document.hard_rules
    never = {*rules.withdrawn, *rules.not_in_rule_set}
    return [f"{regimen.kb_path}.drugs: {drug} is never suggested in this knowledge base (rules.yaml hard_rules)"
            for regimen in document.regimens.values() for drug in regimen.drugs if drug in never]


def already_catalogued(names: Iterable[str]) -> list[str]:
    return [f"drugs.yaml: drug_additions: {name!r} is already in the drug catalogue" for name in names]


def problems(doc: KnowledgeBaseDocument, catalog: DrugCatalog) -> list[str]:
    with unrecorded():
        checker = _Checker(doc, catalog)
        checker.run()
        return checker.problems


class _Checker:
    def __init__(self, doc: KnowledgeBaseDocument, catalog: DrugCatalog) -> None:
        self.doc = doc
        self.catalog = catalog
        self.classes = {c for drug in catalog for c in drug.classes}
        self.problems: list[str] = []

    def run(self) -> None:
        for section in (self._drugs, self._regimens, self._doses, self._hard_rules, self._rows, self._supportive,
                        self._order_checks, self._cards, self._data_gaps, self._vocabularies, self._sources,
                        self._templates):
            section()

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def known_drugs(self, where: str, drugs: Iterable[str]) -> None:
        for drug in drugs:
            if drug not in self.catalog:
                self.fail(where, f"unknown drug {drug!r} (not in the drug catalogue nor drugs.yaml drug_additions)")

    def known_classes(self, where: str, classes: Iterable[str]) -> None:
        for cls in classes:
            if cls not in self.classes:
                self.fail(where, f"unknown drug class {cls!r}")

    def known(self, where: str, names: Iterable[str], table: Iterable[str], what: str) -> None:
        known = set(table)
        for name in names:
            if name not in known:
                self.fail(where, f"unknown {what} {name!r}")

    # -- sections ----------------------------------------------------------------------------
    def _drugs(self) -> None:
        seen: set[str] = set()
        for addition in self.doc.drug_additions:
            if addition.generic in seen:
                self.fail(addition.kb_path, f"{addition.generic!r} is added twice")
            seen.add(addition.generic)
        self.known_drugs("derivation.yaml: derivation_parameters.penta_refractory_drugs",
                         self.doc.derivation_parameters.penta_refractory_drugs)  # type: ignore[attr-defined]
        for abnormality in self.doc.derivation_parameters.high_risk_abnormalities:  # type: ignore[attr-defined]
            if abnormality not in _ABNORMALITIES:
                self.fail("derivation.yaml: derivation_parameters.high_risk_abnormalities",
                          f"unknown abnormality {abnormality!r} (known: {', '.join(sorted(_ABNORMALITIES))})")

    def _regimens(self) -> None:
        listed = suggestable(self.doc)
        for regimen_id, regimen in self.doc.regimens.items():
            where = regimen.kb_path
            self.known_drugs(f"{where}.drugs", regimen.drugs)
            self.known(f"{where}.requires", regimen.requires, self.doc.populations, "population")
            if regimen_id not in listed:
                continue  # recognised in drafted orders only: no doses of its own are suggested
            if not regimen.seeds:
                self.fail(where, "a regimen a row lists names its sources (seeds)")
            for drug in regimen.drugs:
                dose = self.doc.doses.get(drug)
                if dose is None:
                    self.fail(f"{where}.drugs", f"no dose for {drug} in doses.yaml")
                    continue
                specific, standard = regimen_id in dose.regimens, regimen_id in dose.standard_in
                if specific == standard:
                    self.fail(f"{where}.drugs", f"the dose of {drug} in {regimen_id} must be chosen in doses.yaml: "
                              f"add {regimen_id} to {drug}.standard_in or give {drug}.regimens.{regimen_id}"
                              if not specific else f"{drug} has both a standard and a specific dose in {regimen_id}")

    def _doses(self) -> None:
        for drug, dose in self.doc.doses.items():
            self.known_drugs(dose.kb_path, [drug])
            for key, names in (("standard_in", dose.standard_in), ("regimens", list(dose.regimens))):
                for regimen_id in names:
                    regimen = self.doc.regimens.get(regimen_id)
                    if regimen is None:
                        self.fail(f"{dose.kb_path}.{key}", f"unknown regimen {regimen_id!r}")
                    elif drug not in regimen.drugs:
                        self.fail(f"{dose.kb_path}.{key}", f"{regimen_id} does not contain {drug}")

    def _hard_rules(self) -> None:
        rules, where = self.doc.hard_rules, self.doc.hard_rules.kb_path
        self.known_drugs(f"{where}.refractory_exempt", rules.refractory_exempt)
        self.known_drugs(f"{where}.pi_refractory_excludes", rules.pi_refractory_excludes)
        self.known_classes(f"{where}.class_wide_refractoriness", rules.class_wide_refractoriness)
        self.known_drugs(f"{where}.drug_populations", rules.drug_populations)
        self.known(f"{where}.drug_populations", rules.drug_populations.values(), self.doc.populations, "population")
        decisions = {entry.id for entry in self.doc.decision_log}
        for key in ("withdrawn", "not_in_rule_set"):
            table = getattr(rules, key)
            self.known_drugs(f"{where}.{key}", table)
            self.known(f"{where}.{key}", table.values(), decisions, "decision-log entry")
        self.known(f"{where}.doublets_frail_only_rows", rules.doublets_frail_only_rows,
                   [row.id for row in self.doc.rows], "row")
        self.known_drugs(self.doc.modifiers.kb_path, (*self.doc.modifiers.heart_failure_avoid,
                                                      *self.doc.modifiers.neuropathy_avoid))
        texts = self.doc.cards.populations
        self.known("cards.yaml: cards.populations", texts, self.doc.populations, "population")
        for name, population in self.doc.populations.items():
            text = texts.get(name)
            if text is None:
                self.fail(population.kb_path, "no text in cards.yaml cards.populations")
                continue
            for field in text.placeholders:
                if field in text.slots and field not in population.when:
                    self.fail(text.path, f"{{{field}}} is not a fact of the population's `when`")
        if self.doc.relapse_workup.decision not in decisions:
            self.fail(f"{self.doc.relapse_workup.kb_path}.decision", "unknown decision-log entry")

    def _rows(self) -> None:
        rows = {row.id: row for row in self.doc.rows}
        if len(rows) != len(self.doc.rows):
            self.fail("rules.yaml: rows", "row ids must be unique")
        reasons = set(type(self.doc.cards.referral.reasons).model_fields)
        for row in self.doc.rows:
            for key in ("list", "frail_list"):
                self.known(f"{row.kb_path}.{key}", getattr(row, key), self.doc.regimens, "regimen")
            if row.lists_of is not None:
                for target in (row.lists_of.anti_cd38_naive, row.lists_of.anti_cd38_exposed):
                    if target not in rows or rows[target].lists_of is not None:
                        self.fail(f"{row.kb_path}.lists_of", f"{target!r} is not a row with its own lists")
            if row.referral is not None and row.referral not in reasons:
                self.fail(f"{row.kb_path}.referral", f"unknown referral reason {row.referral!r} "
                          f"(cards.yaml referral.reasons: {', '.join(sorted(reasons))})")

    def _supportive(self) -> None:
        for need in self.doc.supportive_care.values():
            where = need.kb_path
            for key in ("options", "prior_vte_options"):
                for drug in getattr(need, key):
                    self.known_drugs(f"{where}.{key}", [drug])
                    if drug not in self.doc.doses:
                        self.fail(f"{where}.{key}", f"no dose for option {drug!r} in doses.yaml")
            self.known(f"{where}.services", need.services, self.doc.services, "service")
            self.known(f"{where}.trigger_regimens", need.trigger_regimens, self.doc.regimens, "regimen")
            self.known_drugs(f"{where}.trigger_drugs", need.trigger_drugs)
            for combination in need.trigger_combinations:
                self.known_drugs(f"{where}.trigger_combinations", (*combination.any_of, *combination.with_))
            for key in ("trigger_classes", "covered_by_classes", "skip_if_exposed_to_classes"):
                self.known_classes(f"{where}.{key}", getattr(need, key))

    def _order_checks(self) -> None:
        reasons = self.doc.override_reasons
        checks = self.doc.order_checks
        for check in checks.by_id().values():
            self.known(f"{check.kb_path}.override_reasons", check.override_reasons, reasons, "override reason")
        for check in (checks.O3, checks.O4, checks.O5):
            self.known(f"{check.kb_path}.need", [check.need], self.doc.supportive_care, "supportive need")
            if (check.caution_when is None) != (check.caution is None):
                self.fail(check.kb_path, "caution_when and caution go together")
            elif check.caution_when is not None:
                self.known(f"{check.kb_path}.caution_when", [check.caution_when], CHECKS, "check")
        self.known_drugs(checks.O7.kb_path, [checks.O7.drug])
        self.known_drugs(checks.O8.kb_path, checks.O8.drugs)
        self.known_drugs(checks.O9.kb_path, [checks.O9.drug])
        self.known_drugs(checks.O11.kb_path, [checks.O11.drug, *checks.O11.needs])
        self.known(f"{checks.O10.kb_path}.link", [checks.O10.link], self.doc.links, "link")

    def _cards(self) -> None:
        from clinical_rules.patient_view import FAMILIES

        cards = self.doc.cards
        reasons = self.doc.override_reasons
        self.known(f"{cards.aggressive.kb_path}.override_reasons", cards.aggressive.override_reasons, reasons,
                   "override reason")
        self.known(f"{cards.data_gap.kb_path}.override_reasons", cards.data_gap.override_reasons, reasons,
                   "override reason")
        self.known(f"{cards.referral.kb_path}.links", cards.referral.links, self.doc.links, "link")
        if sorted(cards.family_order) != sorted(family.name for family in FAMILIES):
            self.fail(f"{cards.kb_path}.family_order",
                      f"must list each card family once: {', '.join(family.name for family in FAMILIES)}")
        self._exactly("cards.yaml: cards.topics", cards.topics, typing.get_args(Topic), "topic")
        workup = self.doc.relapse_workup
        self.known(self.doc.salvage_transplant.kb_path, [self.doc.salvage_transplant.service], self.doc.services,
                   "service")
        referral = self.doc.referral
        self.known(referral.kb_path, [referral.service], self.doc.services, "service")
        self.known_drugs(f"{referral.kb_path}.bcma_directed", referral.bcma_directed)
        self.known_drugs(f"{referral.kb_path}.products", referral.products)
        decisions = {entry.id for entry in self.doc.decision_log}
        for product in referral.products.values():
            self.known(f"{product.kb_path}.sources", product.sources, self.doc.sources, "source")
            self.known(f"{product.kb_path}.decision", [product.decision], decisions, "decision-log entry")
        texts = cards.referral
        self._exactly("cards.yaml: cards.referral.evidence", texts.evidence, referral.products, "product")
        self._exactly("cards.yaml: cards.referral.kinds", texts.kinds,
                      {f"{p.kind}-{p.target}" for p in referral.products.values()}, "kind of product")
        self.known("cards.yaml: cards.referral.criteria",
                   {n for p in referral.products.values() for n in p.when}, texts.criteria, "criterion text for")
        self._exactly("cards.yaml: cards.referral.services", texts.services, ("car-t", "bispecific", "trial"),
                      "referral service")
        self.known(f"{texts.kb_path}.override_reasons", texts.override_reasons, reasons, "override reason")
        wanted = [*workup.fish.values(), workup.marrow_sample, workup.imaging]
        self.known(workup.kb_path, wanted, self.doc.services, "service")
        self.known(workup.kb_path, wanted, cards.workup.services, "work-up text (cards.yaml workup.services)")
        self.known("cards.yaml: cards.workup.services", cards.workup.services, wanted, "work-up service")
        for table in (cards.treatment.notes_when, cards.treatment.disagreements_when):
            for name, text in table.items():
                self._check_text(text.path, name, [text])

    def _data_gaps(self) -> None:
        for item in self.doc.data_gaps.items.values():
            self._check_text(item.kb_path, item.when, [item.text, item.record])
            if item.blocking_when is not None and item.blocking_text is not None:
                self._check_text(item.kb_path, item.blocking_when, [item.blocking_text])
        self._dose_labs()

    def _dose_labs(self) -> None:
        from clinical_rules.dose_labs import LABS

        decisions = {entry.id for entry in self.doc.decision_log}
        renally_dosed = {drug for drug, dose in self.doc.doses.items() if dose.renal}
        for code, lab in self.doc.data_gaps.dose_labs.items():
            where = lab.kb_path
            if code not in LABS:
                self.fail(where, f"unknown lab {code!r} (clinical_rules.dose_labs: {', '.join(LABS)})")
            self.known_drugs(f"{where}.drugs", lab.drugs)
            self.known(f"{where}.decision", [lab.decision], decisions, "decision-log entry")
            if code == "renal-function":
                self._exactly(f"{where}.lab_names", lab.lab_names, _RENAL_VALUE_KINDS, "kind of renal value")
                self.known(f"{where}.drugs", lab.drugs, renally_dosed, "drug with renal bands in doses.yaml:")
        # A drug whose dose a creatinine clearance decides is never drafted without asking for one.
        renal = self.doc.data_gaps.dose_labs.get("renal-function")
        listed = set(renal.drugs) if renal is not None else set()
        for drug, dose in self.doc.doses.items():
            if any(band.crcl_below is not None for band in dose.renal) and drug not in listed:
                self.fail(f"{dose.kb_path}.renal", f"{drug} has creatinine-clearance bands but is not in "
                          "data_gaps.yaml dose_labs.renal-function.drugs")

    def _check_text(self, where: str, check: str, texts: list) -> None:
        known = CHECKS.get(check)
        if known is None:
            self.fail(where, f"unknown check {check!r} (clinical_rules.predicates: {', '.join(CHECKS)})")
            return
        for text in texts:
            for field in text.placeholders:
                if field in text.slots and field not in known.slots:
                    self.fail(text.path, f"{{{field}}} is not filled by the check {check!r} "
                              f"(it fills {', '.join(known.slots) or 'nothing'})")

    def _vocabularies(self) -> None:
        self._exactly("doses.yaml: routes", self.doc.routes, typing.get_args(Route), "route")
        self._exactly("doses.yaml: units", self.doc.units, typing.get_args(DoseUnit), "unit")
        self._exactly("doses.yaml: timing_texts.unit_words", self.doc.timing_texts.unit_words,
                      typing.get_args(PeriodUnit), "time unit")
        self._exactly("facts.yaml: fact_texts.abnormalities", self.doc.fact_texts.abnormalities, _ABNORMALITIES,
                      "abnormality")
        self._exactly("facts.yaml: fact_texts.renal_methods", self.doc.fact_texts.renal_methods, _RENAL_METHODS,
                      "renal method")

    def _exactly(self, where: str, table: Iterable[str], expected: Iterable[str], what: str) -> None:
        table, expected = set(table), set(expected)
        for name in sorted(expected - table):
            self.fail(where, f"missing {what} {name!r}")
        for name in sorted(table - expected):
            self.fail(where, f"unknown {what} {name!r}")

    def _sources(self) -> None:
        sources = self.doc.sources
        for node, path in entries(self.doc):
            seeds = getattr(node, "seeds", None) if not isinstance(node, dict) else None
            if isinstance(seeds, tuple):
                self.known(f"{path}.seeds", seeds, sources, "source")

    def _templates(self) -> None:
        for template in templates(self.doc):
            for field in template.kb_values:
                try:
                    value = template.resolve(field)
                except (KeyError, AttributeError, IndexError, TypeError):
                    self.fail(template.path, f"{{{field}}} names no knowledge-base value")
                    continue
                if isinstance(value, bool) or not isinstance(value, str | int | float | tuple):
                    self.fail(template.path, f"{{{field}}} is not a value a sentence can state")
