"""``rrmm-cds kb``: the knowledge base for clinicians.

- ``kb [--decisions] [--path DIR]`` prints the version, sources, decision rows with their
  preference lists, hard rules and the derivation values in force, regimens, starting doses with
  their adjustments, supportive care and the decision log (every place the service departs from a
  seed); ``--path`` loads another directory and exits 1 with its problems when it is invalid.
- ``kb check [--path DIR] [--only ID ...]`` runs every scenario and persona of ``DIR`` (its
  ``scenarios/``) against ``DIR``'s knowledge base: which fail, and which changed against the
  packaged knowledge base. Exit 1 when any fails or the knowledge base is invalid.
- ``kb schema [--output DIR]`` writes the JSON Schemas of the YAML files (for editors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase

# Heavy modules are imported where they are used: `rrmm-cds --help` imports every command module.


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kb", help="print, check or describe the knowledge base")
    parser.add_argument("--decisions", action="store_true", help="print only the decision log")
    parser.add_argument("--path", default=None, help="knowledge-base directory to load (default: the packaged one)")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="kb_command", metavar="ACTION")
    check = actions.add_parser("check", help="run the scenarios and personas against a knowledge base")
    check.add_argument("--path", dest="check_path", default=None, help="knowledge-base directory (default: packaged)")
    check.add_argument("--only", nargs="+", metavar="ID", help="only these scenarios / personas")
    check.set_defaults(func=run_check)
    schema = actions.add_parser("schema", help="write the JSON Schema of each knowledge-base file")
    schema.add_argument("--output", default=None, help="directory (default: schema/ of the packaged knowledge base)")
    schema.set_defaults(func=run_schema)


def run(args: argparse.Namespace) -> int:
    kb = _load(args.path)
    if kb is None:
        return 1
    sections = [decision_log_text(kb)] if args.decisions else summary_sections(kb)
    print("\n\n".join(sections))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from cds_service import samples
    from cds_service.scenarios import ScenarioError, load_persona_expectations, load_scenarios, run
    from cds_service.scenarios.personas import run_personas
    from clinical_rules.kb import KB_DIR, load_knowledge_base

    directory = Path(args.check_path or args.path or KB_DIR).resolve()
    kb = _load(str(directory))
    if kb is None:
        return 1
    baseline = load_knowledge_base()
    try:
        scenarios = load_scenarios(directory)
        personas = load_persona_expectations(directory)
    except ScenarioError as exc:
        print(f"rrmm-cds kb check: {exc}", file=sys.stderr)
        return 1
    only = set(args.only or ())
    failures = changed = 0
    for scenario in scenarios:
        if only and scenario.id not in only:
            continue
        result = run(scenario, kb, baseline)
        failures += not result.passed
        changed += bool(result.changed)
        verdict = "PASS" if result.passed else "FAIL"
        print(f"{verdict} {scenario.id}" + (f": {'; '.join(result.problems)}" if result.problems else ""))
        for key, (before, after) in result.changed.items():
            print(f"     changed {key}: {_short(before)} -> {_short(after)}")
    for result in run_personas(kb, personas, samples.utc_today(), only=sorted(only) or None):
        failures += bool(result.problems)
        verdict = "FAIL" if result.problems else "PASS"
        print(f"{verdict} persona {result.persona} {result.hook}"
              + (f": {'; '.join(result.problems)}" if result.problems else ""))
    print(f"knowledge base {kb.version} in {directory}: {failures} failed, {changed} scenario(s) changed "
          f"against the packaged knowledge base")
    return 1 if failures else 0


def run_schema(args: argparse.Namespace) -> int:
    from clinical_rules.kb import KB_DIR
    from clinical_rules.kbmodel.schema import write_schemas

    output = Path(args.output) if args.output else KB_DIR / "schema"
    for path in write_schemas(output, scenario_schemas()):
        print(f"wrote {path}")
    return 0


def scenario_schemas() -> dict[str, dict[str, Any]]:
    from cds_service.scenarios.models import PersonaFile, ScenarioFile
    from clinical_rules.kbmodel.schema import model_schema

    return {"scenarios.schema.json": model_schema("RRMM knowledge base: scenarios", ScenarioFile),
            "personas.schema.json": model_schema("RRMM knowledge base: persona expectations", PersonaFile)}


def _load(path: str | None) -> KnowledgeBase | None:
    from clinical_rules.kb import KnowledgeBaseError, load_knowledge_base

    try:
        return load_knowledge_base(path)
    except KnowledgeBaseError as exc:
        print(f"rrmm-cds kb: {exc}", file=sys.stderr)
        return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


# -- the printed summary -----------------------------------------------------------------------
def summary_sections(kb: KnowledgeBase) -> list[str]:
    return [
        f"{kb.document.title} — knowledge base {kb.version}",
        _sources(kb),
        _rows(kb),
        _hard_rules(kb),
        _derivation(kb),
        _regimens(kb),
        _doses(kb),
        _supportive(kb),
        decision_log_text(kb),
    ]


def decision_log_text(kb: KnowledgeBase) -> str:
    lines = ["DECISION LOG (where the service departs from or chooses between the seeds)"]
    for entry in kb.document.decision_log:
        lines.append(f"  {entry.id}  {entry.topic}")
        lines.append(f"       seeds:    {entry.seeds}")
        lines.append(f"       decision: {entry.decision}")
    return "\n".join(lines)


def _sources(kb: KnowledgeBase) -> str:
    lines = ["SOURCES"]
    lines += [f"  {key:<20} {source.title}" for key, source in kb.sources.items()]
    return "\n".join(lines)


def _rows(kb: KnowledgeBase) -> str:
    lines = ["DECISION ROWS (first match wins; lists filtered by the hard rules)"]
    for row in kb.rows:
        if row.lists_of is not None:
            preference = (f"as {row.lists_of.anti_cd38_naive} (anti-CD38 naive) / "
                          f"{row.lists_of.anti_cd38_exposed} (exposed)")
        else:
            preference = ", ".join(row.list)
        when = ", ".join(f"{k}={str(v).lower()}" for k, v in row.when.items())
        lines.append(f"  {row.id}  {row.state}")
        lines.append(f"       when:  {when}")
        lines.append(f"       list:  {preference}")
        if row.frail_list:
            lines.append(f"       frail: {', '.join(row.frail_list)}")
        referral = f"  + referral card ({row.referral})" if row.referral else ""
        lines.append(f"       seeds: {', '.join(row.seeds)}{referral}")
    modifiers = kb.modifiers
    lines.append(
        f"  Modifiers: heart failure avoids {', '.join(modifiers.heart_failure_avoid)}; neuropathy avoids "
        f"{', '.join(modifiers.neuropathy_avoid)}; up to {modifiers.max_alternatives} alternatives"
    )
    return "\n".join(lines)


def _hard_rules(kb: KnowledgeBase) -> str:
    rules, transplant, referral = kb.hard_rules, kb.salvage_transplant, kb.referral
    populations = "; ".join(
        f"{name} ({p.rule}): " + ", ".join(f"{k}={str(v).lower()}" for k, v in p.when.items())
        for name, p in kb.populations.items()
    )
    return "\n".join([
        "HARD RULES AND THRESHOLDS",
        f"  H1 exempt: {', '.join(rules.refractory_exempt)}; class-wide: {', '.join(rules.class_wide_refractoriness)}"
        f"; after PI-refractory no {', '.join(rules.pi_refractory_excludes)}",
        "  drugs limited to a population: " + ", ".join(f"{d} -> {p}" for d, p in rules.drug_populations.items()),
        f"  populations: {populations}",
        f"  H4 doublets only for frail patients in rows {', '.join(rules.doublets_frail_only_rows)}; combinations "
        f"need >= {rules.min_non_refractory_agents} agents the patient is not refractory to",
        f"  H6 never suggested: {', '.join(f'{d} ({k})' for d, k in rules.withdrawn.items())}; not in this rule set: "
        f"{', '.join(f'{d} ({k})' for d, k in rules.not_in_rule_set.items())}",
        f"  salvage ASCT: <= {transplant.max_prior_lines} prior lines, >= {transplant.min_months_after_asct:g} "
        f"months after the last ASCT (sources agree from {transplant.sources_agree_months:g})",
        f"  referral: >= {referral.min_prior_lines} prior lines, or the row asks for it, or an emptied list",
    ])


def _derivation(kb: KnowledgeBase) -> str:
    params = kb.parameters
    lines = ["DERIVATION VALUES IN FORCE (02; passed to the mapping)"]
    for name in type(kb.document.derivation_parameters).model_fields:
        value = getattr(params, name)
        shown = ", ".join(value) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) else value
        lines.append(f"  {name:<38} {shown}")
    return "\n".join(lines)


def _regimens(kb: KnowledgeBase) -> str:
    lines = ["REGIMENS"]
    for regimen_id, regimen in kb.regimens.items():
        flags = [regimen.kind, *regimen.requires]
        lines.append(f"  {kb.regimen_label(regimen_id):<75} [{', '.join(flags)}] {', '.join(regimen.seeds)}")
    return "\n".join(lines)


def _doses(kb: KnowledgeBase) -> str:
    lines = ["STARTING DOSES"]
    for drug, entry in kb.doses.items():
        lines.append(f"  {drug}: {_dose(entry.standard.__dict__, kb)}  ({', '.join(entry.seeds)})")
        if entry.standard_in:
            lines.append(f"      standard in: {', '.join(entry.standard_in)}")
        for regimen_id, change in entry.regimens.items():
            fields = {**entry.standard.__dict__, **change.changed()}
            lines.append(f"      in {regimen_id}: {_dose(fields, kb)}")
        for band in entry.renal:
            when = "dialysis" if band.dialysis else f"CrCl < {band.crcl_below:g}"
            lines.append(f"      renal ({when}): {band.reason.source}")
        if entry.neuropathy is not None:
            lines.append(f"      neuropathy: {entry.neuropathy.reason.source}")
        if entry.elderly is not None:
            lines.append(f"      elderly (age > {entry.elderly.age_above}, x {entry.elderly.factor:g}): "
                         f"{entry.elderly.reason.source}")
    return "\n".join(lines)


def _dose(fields: dict[str, Any], kb: KnowledgeBase) -> str:
    return f"{fields['value']:g} {kb.units[fields['unit']]} {fields['route']}, {fields['schedule'].render()}"


def _supportive(kb: KnowledgeBase) -> str:
    lines = ["SUPPORTIVE CARE"]
    for need in kb.supportive_care.values():
        triggers = [*need.trigger_classes, *need.trigger_drugs, *need.trigger_regimens]
        offer = [*need.options, *(kb.services[s].display for s in need.services)]
        lines.append(f"  {need.label} ({need.rule_id}): when {', '.join(triggers)} -> {' or '.join(offer)}")
        if need.prior_vte_options:
            lines.append(f"      prior VTE: {' or '.join(need.prior_vte_options)}")
        if need.covered_by_classes:
            lines.append(f"      not when already taking: {', '.join(need.covered_by_classes)}")
    return "\n".join(lines)
