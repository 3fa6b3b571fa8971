"""The referral card (03 §3, §8.1): T-cell redirecting therapy (CAR-T, bispecific antibodies) and
clinical trials. It appears when a product's US label population holds, for triple-class or
penta-refractory disease, after enough prior lines, or when the row's list emptied. It lists the
eligible products with the facts that make them so (or says which criterion is missing), notes
prior BCMA-directed therapy, and is a warning shown before the treatment card when T-cell
redirecting therapy is the preferred next step. Its suggestions are ServiceRequest referrals only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import InfoCard, Provenance, Sentence, ServiceProposal, say
from clinical_rules.kb import KnowledgeBase
from clinical_rules.patient_view.common import referral_service
from clinical_rules.patient_view.treatment import matching_row
from clinical_rules.tcr_eligibility import Eligibility, ProductEligibility, label_eligibility, on_record

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext
    from fhir_mappings.facts import PatientFacts


def referral_reasons(facts: PatientFacts, kb: KnowledgeBase, *, list_emptied: bool, row_id: str = "",
                     eligibility: Eligibility | None = None) -> list[str]:
    """Why the patient is referred, as clauses ("penta-refractory disease"); empty: no referral."""
    texts = kb.cards.referral.reasons
    eligibility = eligibility or label_eligibility(facts, kb)
    reasons: list[str] = []
    row = matching_row(facts, kb)
    if row.referral is not None:
        reasons.append(getattr(texts, row.referral).render())
    if facts.prior_lines >= kb.referral.min_prior_lines:
        reasons.append(texts.lines.render(lines=facts.prior_lines))
    if list_emptied:
        reasons.append(texts.emptied.render())
    if eligibility.eligible and not reasons:
        reasons.append(texts.label.render())
    return reasons


def decide(ctx: FamilyContext) -> InfoCard | None:
    """The referral card; without a treatment decision (its rule failed) only the patient's own
    reasons (row, lines, label populations) can be judged."""
    facts, kb = ctx.facts, ctx.kb
    treatment = ctx.treatment.treatment if ctx.treatment is not None else None
    emptied = treatment is not None and treatment.list_emptied
    eligibility = ctx.label_eligibility()
    reasons = referral_reasons(facts, kb, list_emptied=emptied, row_id=treatment.row_id if treatment else "",
                               eligibility=eligibility)
    if not reasons:
        return None
    texts, params = kb.cards.referral, kb.referral
    lines: list[Sentence] = []
    if emptied:
        lines.append(say(texts.emptied_review))
    if not eligibility.preferred:  # (preferred: the summary and the treatment card say so)
        lines.append(say(texts.early))
    lines.append(say(texts.because, reasons="; ".join(reasons)))
    if eligibility.prior_bcma:
        lines.append(say(texts.prior_bcma, drugs=", ".join(eligibility.prior_bcma)))
    lines += product_lines(eligibility.eligible, kb)
    if not eligibility.eligible:
        lines.append(say(texts.none_eligible, missing="; ".join(missing_clauses(eligibility, facts, kb))))
    sources = [s for p in eligibility.eligible for s in p.sources]  # each product's trial and the US label
    return InfoCard(
        family="referral",
        topic="referral",
        indicator="warning" if eligibility.preferred else "info",
        summary=say(texts.summary_preferred if eligibility.preferred else texts.summary),
        reasons=tuple(lines),
        provenance=Provenance.of([params.rule_id], kb.version, [*sources, *params.seeds]),  # decisions: in the trace
        services=_services(eligibility, kb),
        # The facts are the reasons and the label criteria above (no separate list: 04 §1 length).
        links=tuple((kb.links[name].label, kb.links[name].url) for name in texts.links),
        override_reasons=(tuple((c, kb.override_reasons[c]) for c in texts.override_reasons)
                          if eligibility.preferred else ()),
        precedes="treatment" if eligibility.preferred else None,
        eligibility=eligibility,
    )


def product_lines(products: tuple[ProductEligibility, ...], kb: KnowledgeBase) -> list[Sentence]:
    """One line per kind of product with the same label population: "BCMA × CD3 bispecific:
    teclistamab (MajesTEC-1; US label 2022), elranatamab (…) — ≥ 4 prior line(s), …"."""
    texts = kb.cards.referral
    groups: dict[tuple[object, ...], list[ProductEligibility]] = {}
    for product in products:
        groups.setdefault(product.criteria, []).append(product)
    lines = []
    for criteria, group in groups.items():
        # Products of one kind next to each other share their parenthesis: "a, b (BCMA × CD3; T1, T2)".
        runs: list[list[ProductEligibility]] = []
        for p in group:
            if runs and (runs[-1][0].kind, runs[-1][0].target) == (p.kind, p.target):
                runs[-1].append(p)
            else:
                runs.append([p])
        named = ", ".join(texts.product.render(
            products=", ".join(p.product for p in run),
            kind=texts.kinds[f"{run[0].kind}-{run[0].target}"].render(),
            evidence=", ".join(texts.evidence[p.product].render() for p in run)) for run in runs)
        lines.append(say(texts.eligible, products=named, criteria=criteria_text(criteria, kb)))  # type: ignore[arg-type]
    return lines


def criteria_text(criteria: tuple[tuple[str, bool | int], ...], kb: KnowledgeBase) -> str:
    """"≥ 2 prior line(s), IMiD/PI/anti-CD38-exposed": the exposure criteria read together."""
    texts = kb.cards.referral
    exposures = [texts.criteria[name].render(value=value) for name, value in criteria if name in texts.exposures]
    parts = [texts.criteria[name].render(value=value) for name, value in criteria if name not in texts.exposures]
    if exposures:
        parts.insert(min(1, len(parts)), texts.exposed.render(classes="/".join(exposures)))
    return ", ".join(parts)


def missing_clauses(eligibility: Eligibility, facts: PatientFacts, kb: KnowledgeBase) -> list[str]:
    """"teclistamab, elranatamab, … need ≥ 4 prior line(s) (on record: 2)": products with the same
    missing criteria are named together."""
    texts = kb.cards.referral
    groups: dict[tuple[tuple[str, bool | int], ...], list[ProductEligibility]] = {}
    for product in eligibility.products:
        wanted = dict(product.criteria)
        groups.setdefault(tuple((name, wanted[name]) for name in product.missing), []).append(product)
    clauses = []
    for missing, products in groups.items():
        criteria = ", ".join(texts.missing_criterion.render(
            criterion=criteria_text(((name, value),), kb), on_record=_on_record(name, facts, kb))
            for name, value in missing)
        clauses.append(texts.missing.render(products=", ".join(p.product for p in products), criteria=criteria))
    return clauses


def _on_record(name: str, facts: PatientFacts, kb: KnowledgeBase) -> str:
    value = on_record(name, facts)
    if isinstance(value, bool):
        return (kb.facts.yes if value else kb.facts.no).render()
    return str(value)


def _services(eligibility: Eligibility, kb: KnowledgeBase) -> tuple[ServiceProposal, ...]:
    """CAR-T centre assessment and clinical trial always; the bispecific programme when a
    bispecific's label population holds. Referrals only: never a drug order."""
    texts, params = kb.cards.referral.services, kb.referral
    wanted = ["car-t", *(["bispecific"] if eligibility.bispecific_eligible else []), "trial"]
    return tuple(referral_service(f"referral-{name}", params.service, texts[name], params.rule_id, params.seeds, kb)
                 for name in wanted)
