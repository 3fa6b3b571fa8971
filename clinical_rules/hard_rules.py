"""Hard rules H1–H6 (03 §2), applied to every suggested regimen in every hook.

``drug_exclusion`` judges one drug (H1 refractoriness incl. class-wide anti-CD38 and ixazomib after
PI-refractory disease, H2 lenalidomide, H3 venetoclax, H6 withdrawn products);
``exclusion_reason`` judges a regimen of a row's list (the drug rules plus H4's doublet rule and
the selinexor-dexamethasone label population). H4's "triplets with >= 2 agents the patient is not
refractory to" holds by construction: H1 removes every regimen with a refractory agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts

Exclusion = tuple[str, str]  # (rule id, reason)


def drug_exclusion(drug: str, facts: PatientFacts, kb: KnowledgeBase) -> Exclusion | None:
    """Why ``drug`` may not be suggested to this patient, or None."""
    rules = kb.hard_rules
    if drug in rules["withdrawn"]:
        return "H6", f"{drug} is withdrawn and never suggested"
    if drug in rules["refractory_exempt"]:
        return None
    if drug == "lenalidomide" and (facts.lenalidomide_refractory or facts.is_refractory(drug)):
        return "H2", "lenalidomide-refractory (including progression on lenalidomide maintenance)"
    if facts.is_refractory(drug):
        return "H1", f"refractory to {drug}"
    for class_name, members in rules["class_wide_refractoriness"].items():
        if drug in members and _class_refractory(class_name, members, facts):
            return "H1", f"{class_name}-refractory: {drug} excluded with the whole class"
    if drug in rules["pi_refractory_excludes"] and facts.pi_refractory:
        return "H1", f"PI-refractory: no switch to {drug}"
    if drug in rules["requires_t11_14"] and not facts.t11_14_positive:
        return "H3", f"{drug} only with t(11;14) documented positive"
    return None


def exclusion_reason(regimen_id: str, row_id: str, facts: PatientFacts, kb: KnowledgeBase) -> Exclusion | None:
    """Why ``regimen_id`` drops out of row ``row_id``'s list for this patient, or None."""
    regimen = kb.regimens[regimen_id]
    for drug in regimen["drugs"]:
        excluded = drug_exclusion(drug, facts, kb)
        if excluded is not None:
            return excluded
    requires = regimen.get("requires", ())
    if "xd-label" in requires and not in_xd_label_population(facts, kb):
        label = kb.hard_rules["xd_label"]
        return "H4", (
            f"{regimen_id} only for its label population (≥ {label['min_prior_lines']} prior lines, refractory to "
            f"≥ {label['min_refractory_pi']} PIs, ≥ {label['min_refractory_imid']} IMiDs and an anti-CD38 antibody)"
        )
    if "t11_14" in requires and not facts.t11_14_positive:
        return "H3", f"{regimen_id} only with t(11;14) documented positive"
    if (
        regimen["kind"] == "doublet"
        and row_id in kb.hard_rules["doublets_frail_only_rows"]
        and not facts.frail
    ):
        return "H4", f"{regimen_id} is a doublet: only for frail patients in {row_id}"
    return None


def in_xd_label_population(facts: PatientFacts, kb: KnowledgeBase) -> bool:
    label = kb.hard_rules["xd_label"]
    refractory = [h for h in facts.drug_histories if h.refractory]
    pis = sum(1 for h in refractory if "PI" in h.classes)
    imids = sum(1 for h in refractory if "IMiD" in h.classes)
    return (
        facts.prior_lines >= label["min_prior_lines"]
        and pis >= label["min_refractory_pi"]
        and imids >= label["min_refractory_imid"]
        and (facts.anti_cd38_refractory or not label["anti_cd38_refractory"])
    )


def _class_refractory(class_name: str, members: list[str], facts: PatientFacts) -> bool:
    if class_name == "anti-CD38" and facts.anti_cd38_refractory:
        return True
    return any(facts.is_refractory(member) for member in members)
