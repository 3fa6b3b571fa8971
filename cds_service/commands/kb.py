"""``rrmm-cds kb [--decisions] [--path DIR]``: the knowledge base for clinicians.

Prints the version, sources, decision rows with their preference lists, hard-rule parameters,
regimens, starting doses with their adjustments, supportive care and the decision log (every
place the service departs from a seed). ``--path`` checks another KB directory (a reviewed
edit) and exits 1 with the validation problems when it is invalid.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clinical_rules.kb import KnowledgeBase, KnowledgeBaseError, load_knowledge_base

UNIT_TEXT = {"mg": "mg", "mg/m2": "mg/m²", "mg/kg": "mg/kg"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kb", help="print the knowledge base summary and its decision log")
    parser.add_argument("--decisions", action="store_true", help="print only the decision log")
    parser.add_argument("--path", default=None, help="knowledge-base directory to load (default: the packaged one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        kb = load_knowledge_base(args.path)
    except KnowledgeBaseError as exc:
        print(f"rrmm-cds kb: {exc}", file=sys.stderr)
        return 1
    sections = [decision_log_text(kb)] if args.decisions else summary_sections(kb)
    print("\n\n".join(sections))
    return 0


def summary_sections(kb: KnowledgeBase) -> list[str]:
    return [
        f"{kb.data['title']} — knowledge base {kb.version}",
        _sources(kb),
        _rows(kb),
        _hard_rules(kb),
        _regimens(kb),
        _doses(kb),
        _supportive(kb),
        decision_log_text(kb),
    ]


def decision_log_text(kb: KnowledgeBase) -> str:
    lines = ["DECISION LOG (where the service departs from or chooses between the seeds)"]
    for entry in kb.decision_log:
        lines.append(f"  {entry['id']}  {entry['topic']}")
        lines.append(f"       seeds:    {entry['seeds']}")
        lines.append(f"       decision: {entry['decision']}")
    return "\n".join(lines)


def _sources(kb: KnowledgeBase) -> str:
    lines = ["SOURCES"]
    lines += [f"  {key:<20} {source['title']}" for key, source in kb.data["sources"].items()]
    return "\n".join(lines)


def _rows(kb: KnowledgeBase) -> str:
    lines = ["DECISION ROWS (first match wins; lists filtered by the hard rules)"]
    for row in kb.rows:
        if "lists_of" in row:
            preference = f"as {row['lists_of']['anti_cd38_naive']} (anti-CD38 naive) / {row['lists_of']['anti_cd38_exposed']} (exposed)"
        else:
            preference = ", ".join(row["list"])
        lines.append(f"  {row['id']}  {row['state']}")
        lines.append(f"       list:  {preference}")
        if "frail_list" in row:
            lines.append(f"       frail: {', '.join(row['frail_list'])}")
        lines.append(f"       seeds: {', '.join(row['seeds'])}{'  + referral card' if row.get('referral') else ''}")
    modifiers = kb.modifiers
    lines.append(
        f"  Modifiers: heart failure avoids {', '.join(modifiers['heart_failure_avoid'])}; neuropathy avoids "
        f"{', '.join(modifiers['neuropathy_avoid'])}; up to {modifiers['max_alternatives']} alternatives"
    )
    return "\n".join(lines)


def _hard_rules(kb: KnowledgeBase) -> str:
    rules, transplant = kb.hard_rules, kb.data["salvage_transplant"]
    xd = rules["xd_label"]
    return "\n".join(
        [
            "HARD RULES AND THRESHOLDS",
            f"  refractory window: progression within {rules['refractory_window_days']} days of the last dose",
            f"  H1 exempt: {', '.join(rules['refractory_exempt'])}; class-wide: "
            + "; ".join(f"{c} -> {', '.join(m)}" for c, m in rules["class_wide_refractoriness"].items())
            + f"; after PI-refractory no {', '.join(rules['pi_refractory_excludes'])}",
            f"  H3 t(11;14) required for: {', '.join(rules['requires_t11_14'])}",
            f"  H4 doublets only for frail patients in rows {', '.join(rules['doublets_frail_only_rows'])}; Xd label: "
            f">= {xd['min_prior_lines']} prior lines, refractory to >= {xd['min_refractory_pi']} PIs, "
            f">= {xd['min_refractory_imid']} IMiDs and an anti-CD38 antibody",
            f"  H6 never suggested: {', '.join(rules['withdrawn'])}; not in this rule set: {', '.join(rules['not_in_rule_set'])}",
            f"  salvage ASCT: <= {transplant['max_prior_lines']} prior lines, >= {transplant['min_months_after_asct']:g} "
            f"months after the last ASCT (sources agree from {transplant['sources_agree_months']:g})",
            f"  referral: >= {kb.data['referral']['min_prior_lines']} prior lines, triple-class or penta-refractory",
        ]
    )


def _regimens(kb: KnowledgeBase) -> str:
    lines = ["REGIMENS"]
    for regimen_id, regimen in kb.regimens.items():
        flags = [regimen["kind"]] + (["off-label"] if regimen.get("off_label") else []) + list(regimen.get("requires", ()))
        lines.append(f"  {kb.regimen_label(regimen_id):<75} [{', '.join(flags)}] {', '.join(regimen['seeds'])}")
    return "\n".join(lines)


def _doses(kb: KnowledgeBase) -> str:
    lines = ["STARTING DOSES"]
    for drug, entry in kb.doses.items():
        lines.append(f"  {drug}: {_dose(entry['standard'])}  ({', '.join(entry['seeds'])})")
        for regimen_id, override in entry.get("regimens", {}).items():
            lines.append(f"      in {regimen_id}: {_dose({**entry['standard'], **override})}")
        for band in entry.get("renal", ()):
            when = "dialysis" if band.get("dialysis") else f"CrCl < {band['crcl_below']:g}"
            lines.append(f"      renal ({when}): {band['reason']}")
        for key in ("neuropathy", "elderly"):
            if key in entry:
                lines.append(f"      {key}: {entry[key]['reason']}")
    return "\n".join(lines)


def _dose(fields: dict[str, Any]) -> str:
    return f"{fields['value']:g} {UNIT_TEXT[fields['unit']]} {fields['route']}, {fields['schedule']}"


def _supportive(kb: KnowledgeBase) -> str:
    lines = ["SUPPORTIVE CARE"]
    for need in kb.supportive_care:
        triggers = need.get("trigger_classes", []) + need.get("trigger_drugs", []) + need.get("trigger_regimens", [])
        offer = need.get("options", []) + [kb.services[s]["display"] for s in need.get("services", [])]
        lines.append(f"  {need['label']} ({need['rule_id']}): when {', '.join(triggers)} -> {' or '.join(offer)}")
        if need.get("prior_vte_options"):
            lines.append(f"      prior VTE: {' or '.join(need['prior_vte_options'])}")
        if need.get("covered_by_classes"):
            lines.append(f"      not when already taking: {', '.join(need['covered_by_classes'])}")
    return "\n".join(lines)
