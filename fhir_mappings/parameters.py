"""The numbers the derivations of spec 02 apply: windows, thresholds, proxies.

They are clinical content, so their values in force come from the knowledge base
(``clinical_rules`` builds a :class:`DerivationParameters` from it and passes it to
``build_facts``); ``fhir_mappings`` imports nothing from ``clinical_rules``. The defaults here are
the data contract's own values, used when a caller (a test, a benchmark) passes none.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class DerivationParameters:
    # Drug exposures and lines of therapy (02 §2.2, §2.5)
    exposure_merge_gap_days: int = 60  # records of one drug this close form one exposure
    line_join_window_days: int = 60  # an exposure this soon after a line's start joins it
    asct_line_window_days: int = 365  # an ASCT this soon after a line's start belongs to it
    conditioning_window_days: int = 14  # melphalan this soon before the ASCT is its conditioning
    mobilisation_window_days: int = 60  # cyclophosphamide this soon before the ASCT is mobilisation
    maintenance_window_days: int = 180  # a line drug restarted this soon after the ASCT is maintenance
    # Medication-source reconciliation (docs/medication-reconciliation.md): an active order with
    # no administration, dispense or statement after it for longer than its expected supply (this
    # many days when it gives none) ends at its last evidence + that supply.
    stale_order_days: int = 180
    # Refractoriness (02 §2.6)
    refractory_window_days: int = 60  # progression within [start, end + this] = refractory
    penta_refractory_drugs: tuple[str, ...] = ("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib")
    # Progression events (02 §2.4)
    event_merge_window_days: int = 30  # events this close chain into one
    imwg_min_relative_increase: float = 0.25  # over the nadir, every analyte
    serum_min_increase_g_dl: float = 0.5
    serum_high_nadir_g_dl: float = 5.0  # from this nadir on, the larger absolute increase applies
    serum_high_nadir_min_increase_g_dl: float = 1.0
    urine_min_increase_mg_24h: float = 200.0
    flc_min_increase_mg_l: float = 100.0  # strictly more than this
    serum_measurable_g_dl: float = 1.0  # below this (and urine below its own) FLC decides
    urine_measurable_mg_24h: float = 200.0
    # Presentation (02 §2.1)
    pcl_plasma_cell_percent: float = 5.0  # circulating plasma cells at or above this = PCL
    plasma_cells_recent_days: int = 90
    # Cytogenetics (02 §2.7)
    high_risk_abnormalities: tuple[str, ...] = ("del17p", "t4_14", "t14_16", "gain1q")
    # Patient state (02 §2.8)
    creatinine_recent_days: int = 90  # also eGFR and measured CrCl
    weight_recent_days: int = 90
    igg_recent_days: int = 90
    heart_failure_lvef_below: float = 40.0
    frail_min_ecog: int = 2
    frail_min_age: int = 80
    transplant_max_age: int = 70
    transplant_max_ecog: int = 1

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> DerivationParameters:
        """Build from plain data (lists become tuples); an unknown name is an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown derivation parameter(s): {', '.join(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def days(self, name: str) -> timedelta:
        """``self.<name>`` (a number of days) as a timedelta."""
        return timedelta(days=getattr(self, name))


DEFAULT_PARAMETERS = DerivationParameters()
