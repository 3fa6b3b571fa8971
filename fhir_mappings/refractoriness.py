"""Refractoriness per drug and class (02 §2.6).

Refractory to a drug = a progression event within [exposure start, exposure end + the refractory
window, 60 days by default]
(ongoing exposures end at the evaluation date). Maintenance exposures count like any other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from fhir_mappings.facts import DrugExposure, DrugHistory, ProgressionEvent
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters

ANTI_CD38_CLASS = "anti-CD38"


def drug_histories(exposures: tuple[DrugExposure, ...], events: tuple[ProgressionEvent, ...],
                   params: DerivationParameters = DEFAULT_PARAMETERS) -> tuple[DrugHistory, ...]:
    """One history per anti-myeloma drug, in order of first exposure."""
    by_drug: dict[str, list[DrugExposure]] = defaultdict(list)
    for exposure in sorted(exposures, key=lambda e: e.start):
        if exposure.role == "antimyeloma":
            by_drug[exposure.drug].append(exposure)
    histories: list[DrugHistory] = []
    for drug, items in by_drug.items():
        hit = _first_refractory(items, events, params.days("refractory_window_days"))
        histories.append(DrugHistory(
            drug=drug,
            classes=items[0].classes,
            exposures=tuple(items),
            refractory=hit is not None,
            refractory_event=hit[1] if hit else None,
            refractory_exposure=hit[0] if hit else None,
        ))
    return tuple(histories)


def _first_refractory(exposures: list[DrugExposure], events: tuple[ProgressionEvent, ...], tail: timedelta
                      ) -> tuple[DrugExposure, ProgressionEvent] | None:
    # The latest qualifying pair is the most relevant to show on a card.
    found: tuple[DrugExposure, ProgressionEvent] | None = None
    for exposure in exposures:
        for event in events:
            if exposure.start <= event.date <= exposure.end + tail:
                found = (exposure, event)
    return found


@dataclass(frozen=True, slots=True)
class Refractoriness:
    lenalidomide: bool
    imid: bool
    pi: bool
    anti_cd38_exposed: bool
    anti_cd38: bool
    triple_class: bool
    penta: bool


def summarise(histories: tuple[DrugHistory, ...],
              params: DerivationParameters = DEFAULT_PARAMETERS) -> Refractoriness:
    refractory = {h.drug for h in histories if h.refractory}
    refractory_classes = {c for h in histories if h.refractory for c in h.classes}
    exposed_classes = {c for h in histories for c in h.classes}
    imid = "IMiD" in refractory_classes
    pi = "PI" in refractory_classes
    cd38 = ANTI_CD38_CLASS in refractory_classes
    return Refractoriness(
        lenalidomide="lenalidomide" in refractory,
        imid=imid,
        pi=pi,
        anti_cd38_exposed=ANTI_CD38_CLASS in exposed_classes,
        anti_cd38=cd38,
        triple_class=imid and pi and cd38,
        penta=cd38 and all(d in refractory for d in params.penta_refractory_drugs),
    )
