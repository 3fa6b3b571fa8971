"""Developer aid: print the facts derived for each public vignette next to its ``why`` text.

    .venv/bin/python tests/mappings/dev_print_vignette_facts.py [substring]

Read the output against each case's explanation; the tests never assert vignette answers.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from fhir_mappings import ResourceIndex, build_facts
from fhir_mappings.facts import PatientFacts

VIGNETTES = Path("/work/shared/vignettes/public")


def summary(facts: PatientFacts) -> str:
    out = [
        f"age={facts.age} sex={facts.sex} MM={facts.myeloma.present} PCL={facts.plasma_cell_leukaemia.present} "
        f"EMD={facts.extramedullary.present}",
        "exposures: " + ", ".join(f"{e.drug}[{e.start}..{e.end}{' ongoing' if e.ongoing else ''}"
                                  f"{' stop-prog' if e.stopped_for_progression else ''} n={len(e.evidence)}]"
                                  for e in facts.exposures),
        "transplants: " + ", ".join(f"{t.date}" for t in facts.transplants)
        + f"  months ASCT->prog={facts.months_asct_to_progression}",
        "events: " + " | ".join(f"{e.date} {e.kinds} {e.description}" for e in facts.progression_events),
        f"possible: {facts.possible_progression and facts.possible_progression.description}",
        "lines: " + " | ".join(f"L{line.number} {line.start} {line.drugs} asct={line.includes_asct} "
                               f"maint={line.maintenance_drugs}" for line in facts.lines),
        f"prior_lines={facts.prior_lines} at_relapse={facts.at_relapse} new_line={facts.new_line_after_progression}",
        "refractory: " + ", ".join(h.drug for h in facts.drug_histories if h.refractory)
        + f" | lenR={facts.lenalidomide_refractory} imidR={facts.imid_refractory} piR={facts.pi_refractory} "
        f"cd38exp={facts.anti_cd38_exposed} cd38R={facts.anti_cd38_refractory} TCR={facts.triple_class_refractory} "
        f"penta={facts.penta_refractory}",
        "cyto: " + ", ".join(f"{c.abnormality}{'+' if c.positive else '-'}" for c in facts.cytogenetics)
        + f" HR={facts.high_risk} t1114={facts.t11_14_positive} missing={facts.missing_cytogenetics}",
        f"renal: crcl={facts.renal.crcl_ml_min} {facts.renal.method} dialysis={facts.renal.dialysis} "
        f"notes={facts.renal.notes}",
        f"HF={facts.heart_failure.present} LVEF={facts.lvef_percent and facts.lvef_percent.value} "
        f"PN={facts.neuropathy.present} VTE={facts.vte_history.present} ECOG={facts.ecog and facts.ecog.value} "
        f"frail={facts.frail} TE={facts.transplant_eligible}",
        f"height={facts.height_cm and facts.height_cm.value} weight={facts.weight_kg and round(facts.weight_kg.value, 1)} "
        f"BSA={facts.bsa_m2} IgG={facts.igg_mg_dl and facts.igg_mg_dl.value}",
        "current: " + ", ".join(sorted(facts.current_drugs())),
        "notes: " + " | ".join(n.text for n in facts.notes),
    ]
    return "\n  ".join(out)


def main(pattern: str = "") -> None:
    for path in sorted(VIGNETTES.glob("*.json")):
        if pattern not in path.name:
            continue
        case = json.loads(path.read_text())
        data = case["data"]
        index = ResourceIndex(data["patientId"])
        index.add_any(data["resources"])
        facts = build_facts(index, data["patientId"], date.fromisoformat(case["asOf"]))
        print(f"=== {case['id']} (asOf {case['asOf']})\nWHY: {case['why']}\n  {summary(facts)}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
