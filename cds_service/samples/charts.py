"""The sample patients, written as their EHR charts (source of ``cds_service/samples/*.json``).

Run ``python -m cds_service.samples.charts`` to regenerate the JSON files after editing this
module; ``tests/integration/test_samples.py`` fails when the files and this source disagree.

What the service should say about each persona, and why, is knowledge-base data
(``clinical_rules/kb/scenarios/personas.yaml``), not Python: a preference change needs no edit
here. The ``draft`` is the regimen the preview page and the order hooks send as
``context.draftOrders``: each line is one draft MedicationRequest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cds_service.samples import concepts as c
from cds_service.samples import histories as h
from cds_service.samples.authoring import ANCHOR, Chart, drug, quantity, text_only

SAMPLES_DIR = Path(__file__).resolve().parent
Meta = dict[str, Any]


def _draft(generic: str, dose: float, unit: str, text: str, *, route: str,
           frequency: int = 1, period: float = 1, period_unit: str = "d") -> dict[str, Any]:
    return {"drug": generic, "dose": dose, "unit": unit, "text": text, "route": route,
            "frequency": frequency, "period": period, "periodUnit": period_unit}


DARA_SC = _draft("daratumumab", 1800, "mg", "daratumumab-hyaluronidase 1800 mg subcutaneously weekly",
                 route="subcutaneous", period_unit="wk")
DEX_40 = _draft("dexamethasone", 40, "mg", "dexamethasone 40 mg by mouth once weekly", route="oral",
                period_unit="wk")
DEX_20 = _draft("dexamethasone", 20, "mg", "dexamethasone 20 mg by mouth once weekly", route="oral",
                period_unit="wk")
LEN_25 = _draft("lenalidomide", 25, "mg", "lenalidomide 25 mg by mouth daily, days 1-21 of 28", route="oral")


# -- 1 ------------------------------------------------------------------------------------------
def first_relapse_len_sensitive() -> tuple[Chart, Meta]:
    ch = Chart("s01", "sample-len-sensitive")
    ch.patient(family="Okafor", given="Daniel", gender="male", birth_days_before=64 * 365 + 120, mrn="S0100001")
    ch.condition(c.MM_NOT_IN_REMISSION, 1710)
    ch.condition(c.local_problem("HTN", "Essential hypertension"), 3000)
    h.unrelated_medicines(ch, 2900)
    h.fish_panel(ch, 1705, {"del17p": False, "t4_14": False, "t11_14": False})
    h.vrd_induction(ch, 1690)
    h.autologous_transplant(ch, 1480)
    # Lenalidomide maintenance for two years, stopped for fatigue long before the relapse.
    ch.statement(drug("lenalidomide", "Revlimid 10 mg capsule", brand="Revlimid"), 1390, 660,
                 dose_text="10 mg by mouth daily", stop_reason="Fatigue; patient preference")
    h.m_protein(ch, [(1710, 3.2), (1560, 0.6), (1470, 0.3), (1300, 0.15), (900, 0.15), (400, 0.2),
                     (150, 0.3), (75, 0.8), (40, 1.1)])
    # A result filed against the wrong patient and withdrawn: must not count as a rise.
    ch.observation(c.M_PROTEIN, 300, value=quantity(2.9, "g/dL"), status="entered-in-error")
    h.routine_labs(ch, [150, 75, 40])
    h.current_status(ch, 20, creatinine=0.9, weight=82, height=178, ecog=0)
    return ch, {
        "title": "First relapse, lenalidomide-sensitive (R6)",
        "summary": "64-year-old man, VRd + ASCT + 2 years of lenalidomide maintenance stopped for fatigue; "
                   "serum M-protein relapse 46 months after transplant. FISH standard risk.",
        "draft": {"label": "DRd (no prophylaxis drafted)", "orders": [DARA_SC, LEN_25, DEX_40]},
    }


# -- 2 ------------------------------------------------------------------------------------------
def first_relapse_len_refractory() -> tuple[Chart, Meta]:
    ch = Chart("s02", "sample-len-refractory")
    ch.patient(family="Lindqvist", given="Maria", gender="female", birth_days_before=57 * 365 + 40, mrn="S0200002")
    ch.condition(c.MM_SNOMED, 1160)
    ch.condition(c.local_problem("HYPOTHY", "Hypothyroidism"), 4000)
    ch.statement(text_only("Levothyroxine 75 mcg tablet"), 3900, None, dose_text="75 mcg by mouth daily")
    ch.report(c.CYTOGENETICS_NARRATIVE, 1155,
              "Plasma cell FISH (CD138-enriched): gain(1q) detected in 38% of nuclei. No del(17p). "
              "t(4;14) not detected. t(14;16) not detected.")
    h.vrd_induction(ch, 1140, lenalidomide_as="request")
    h.autologous_transplant(ch, 900, coded_with_cpt=True)
    # Maintenance continues until today: the relapse happened on it (refractory, H2).
    ch.request(drug("lenalidomide", "Revlimid 10 mg capsule", brand="Revlimid"), 820, None,
               dose_text="10 mg by mouth daily, days 1-21 of 28", dose=quantity(10, "mg"))
    revlimid = ch.medication(drug("lenalidomide", "REVLIMID 10 MG CAPSULE", brand="Revlimid"), "capsule")
    ch.dispenses(revlimid, h.every(820, 30, 28), days_supply=21, quantity_text="21 capsules")
    h.m_protein(ch, [(1160, 2.4), (1010, 0.4), (890, 0.1), (600, 0.1), (300, 0.15), (120, 0.2),
                     (62, 0.7), (30, 1.0)])
    h.disease_status(ch, 40)
    h.routine_labs(ch, [120, 62, 30])
    h.current_status(ch, 12, creatinine=0.8, weight=68, height=166, ecog=1)
    return ch, {
        "title": "First relapse on lenalidomide maintenance (R5)",
        "summary": "57-year-old woman, VRd + ASCT, relapsing on lenalidomide 10 mg maintenance 27 months "
                   "after transplant. FISH narrative: gain(1q) (high risk).",
        "draft": {"label": "DRd (lenalidomide despite refractoriness)", "orders": [DARA_SC, LEN_25, DEX_40]},
    }


# -- 3 ------------------------------------------------------------------------------------------
def anti_cd38_exposed() -> tuple[Chart, Meta]:
    ch = Chart("s03", "sample-anti-cd38-exposed")
    ch.patient(family="Haddad", given="Samir", gender="male", birth_days_before=66 * 365 + 200, mrn="S0300003")
    ch.condition(c.MM_NOT_IN_REMISSION, 1500)
    # ICD "in relapse" code recorded by the myeloma clinic at the relapse visit.
    ch.condition(c.MM_IN_RELAPSE, 70)
    ch.condition(c.local_problem("T2DM", "Type 2 diabetes mellitus"), 3500)
    ch.statement(text_only("Metformin 1000 mg tablet"), 3400, None, dose_text="1000 mg by mouth twice daily")
    h.fish_panel(ch, 1495, {"del17p": False, "t4_14": True})
    # Daratumumab SC with VRd (GRIFFIN-style) induction and consolidation, then lenalidomide maintenance.
    dara = drug("daratumumab", "DARZALEX FASPRO 1800 mg/15 mL injection", brand="Darzalex Faspro")
    ch.administrations(dara, h.every(1480, 1330, 14), dose=quantity(1800, "mg"), route="subcutaneous")
    h.vrd_induction(ch, 1480)
    h.autologous_transplant(ch, 1330)
    ch.administrations(dara, h.every(1270, 1230, 21), dose=quantity(1800, "mg"), route="subcutaneous")
    ch.statement(drug("lenalidomide", "lenalidomide 10 mg capsule"), 1250, 520,
                 dose_text="10 mg by mouth daily", stop_reason="Recurrent neutropenia")
    # Light-chain myeloma: serum M-protein never measurable, relapse read from kappa FLC.
    h.m_protein(ch, [(1500, 0.4), (1300, 0.0), (500, 0.0), (80, 0.2), (45, 0.3)])
    ch.series(c.KAPPA_FLC, "mg/L", [(1500, 880), (1300, 16), (900, 14), (500, 18), (200, 22),
                                    (80, 245), (45, 420)])
    ch.series(c.LAMBDA_FLC, "mg/L", [(1500, 6), (1300, 9), (900, 10), (500, 9), (200, 10), (80, 8), (45, 8)])
    h.routine_labs(ch, [200, 80, 45])
    h.current_status(ch, 10, creatinine=1.0, weight=90, height=181, ecog=1)
    return ch, {
        "title": "First relapse after daratumumab-based induction (R7)",
        "summary": "66-year-old man, D-VRd + ASCT + lenalidomide maintenance (stopped for neutropenia); "
                   "kappa light-chain relapse 41 months after transplant. t(4;14) positive.",
        "draft": {"label": "KRd with aspirin and valacyclovir", "orders": [
            _draft("carfilzomib", 27, "mg/m2", "carfilzomib 27 mg/m2 IV days 1, 2, 8, 9, 15, 16",
                   route="intravenous", frequency=2, period=1, period_unit="wk"),
            LEN_25, DEX_40,
            _draft("aspirin", 81, "mg", "aspirin 81 mg by mouth daily", route="oral"),
            _draft("valacyclovir", 500, "mg", "valacyclovir 500 mg by mouth twice daily", route="oral",
                   frequency=2)]},
    }


# -- 4 ------------------------------------------------------------------------------------------
def triple_class_refractory() -> tuple[Chart, Meta]:
    ch = Chart("s04", "sample-triple-class-refractory")
    ch.patient(family="Novak", given="Irena", gender="female", birth_days_before=72 * 365 + 100, mrn="S0400004")
    ch.condition(c.MM_NOT_IN_REMISSION, 2400)
    ch.condition(c.MM_IN_RELAPSE, 765, recorded=760)
    h.fish_panel(ch, 2395, {"del17p": False, "t4_14": False, "t11_14": False})
    h.vrd_induction(ch, 2390)
    h.autologous_transplant(ch, 2160)
    ch.statement(drug("lenalidomide", "Revlimid 10 mg capsule", brand="Revlimid"), 2070, 765,
                 dose_text="10 mg by mouth daily", stop_reason="Disease progression")
    # Second line: daratumumab IV + carfilzomib + dexamethasone (CANDOR), still running today.
    ch.administrations(drug("daratumumab", brand="Darzalex"), h.every(745, 30, 28),
                       dose=quantity(16, "mg/kg"), route="intravenous")
    ch.request(drug("carfilzomib", "Kyprolis 56 mg/m2 IV", brand="Kyprolis"), 745, None,
               dose_text="56 mg/m2 IV days 1, 2, 8, 9, 15, 16 of 28", dose=quantity(56, "mg/m2"))
    ch.statement(drug("dexamethasone", "Dexamethasone 4 mg tablet"), 745, None,
                 dose_text="20 mg on carfilzomib days", contained=True)
    ch.statement(drug("acyclovir"), 745, None, dose_text="400 mg by mouth twice daily")
    h.m_protein(ch, [(2400, 4.1), (2250, 0.5), (2000, 0.2), (900, 0.3), (790, 0.9), (765, 1.4),
                     (600, 0.4), (300, 0.2), (120, 0.25), (65, 0.9), (35, 1.3)])
    ch.observation(c.LVEF, 400, value=quantity(58, "%"), category="imaging")
    h.routine_labs(ch, [120, 65, 35], hemoglobin=10.1)
    h.current_status(ch, 14, creatinine=0.9, weight=64, height=162, ecog=1)
    return ch, {
        "title": "Triple-class refractory after DKd (R2)",
        "summary": "72-year-old woman: VRd + ASCT + lenalidomide (progressed on it), then DKd, now "
                   "progressing on daratumumab-carfilzomib. Takes acyclovir.",
        "draft": {"label": "XVd without antiemetic", "orders": [
            _draft("selinexor", 100, "mg", "selinexor 100 mg by mouth once weekly", route="oral",
                   period_unit="wk"),
            _draft("bortezomib", 1.3, "mg/m2", "bortezomib 1.3 mg/m2 subcutaneously once weekly",
                   route="subcutaneous", period_unit="wk"),
            DEX_20]},
    }


# -- 5 ------------------------------------------------------------------------------------------
def penta_refractory() -> tuple[Chart, Meta]:
    ch = Chart("s05", "sample-penta-refractory")
    ch.patient(family="Brooks", given="Anthony", gender="male", birth_days_before=61 * 365 + 300, mrn="S0500005")
    ch.condition(c.MM_NOT_IN_REMISSION, 2900)
    h.fish_panel(ch, 2895, {"del17p": False, "t4_14": False, "t11_14": False})
    h.vrd_induction(ch, 2880)
    h.autologous_transplant(ch, 2650)
    # Line 1 maintenance: bortezomib every 2 weeks + lenalidomide, progression on both.
    ch.administrations(drug("bortezomib"), h.every(2560, 1905, 14), dose=quantity(1.3, "mg/m2"),
                       route="subcutaneous")
    ch.statement(drug("lenalidomide", "Revlimid 10 mg capsule", brand="Revlimid"), 2560, 1900,
                 dose_text="10 mg by mouth daily", stop_reason="Disease progression")
    # Line 2: DPd (pomalidomide text-only, as the specialty pharmacy reports it).
    ch.administrations(drug("daratumumab", brand="Darzalex"), h.every(1880, 1255, 28),
                       dose=quantity(16, "mg/kg"), route="intravenous")
    ch.statement(text_only("Pomalyst 4 mg capsule"), 1880, 1250, dose_text="4 mg daily days 1-21",
                 stop_reason="Progressive disease")
    # Line 3: carfilzomib-cyclophosphamide-dexamethasone.
    ch.request(text_only("KYPROLIS (carfilzomib) 56 mg/m2 IV"), 1230, 620, dose_text="56 mg/m2 days 1, 2, 8, 9, 15, 16")
    ch.statement(drug("cyclophosphamide"), 1230, 620, dose_text="300 mg/m2 by mouth weekly")
    # Line 4: teclistamab, progression on it.
    ch.administrations(text_only("TECVAYLI (teclistamab-cqyv) 1.5 mg/kg SC"), h.every(600, 40, 7),
                       dose=quantity(1.5, "mg/kg"), route="subcutaneous")
    ch.statement(drug("sulfamethoxazole-trimethoprim", "Bactrim DS tablet"), 600, None,
                 dose_text="1 tablet three times weekly")
    h.m_protein(ch, [(2900, 3.8), (2700, 0.4), (2300, 0.2), (1960, 0.8), (1920, 1.2), (1700, 0.5),
                     (1300, 1.1), (1270, 1.5), (1000, 0.6), (680, 1.3), (640, 1.8), (300, 0.3),
                     (80, 0.9), (45, 1.4)])
    for d in (1275, 655, 60):
        h.disease_status(ch, d)
    ch.observation(c.IGG, 45, value=quantity(310, "mg/dL"))
    h.routine_labs(ch, [80, 45], hemoglobin=9.6)
    h.current_status(ch, 7, creatinine=1.1, weight=77, height=175, ecog=1)
    return ch, {
        "title": "Penta-refractory after teclistamab (R1)",
        "summary": "61-year-old man, 4 prior lines (VRd/ASCT/VR maintenance, DPd, KCd, teclistamab), "
                   "refractory to lenalidomide, pomalidomide, bortezomib, carfilzomib and daratumumab.",
        "draft": {"label": "melflufen + dexamethasone (withdrawn product)", "orders": [
            _draft("melphalan flufenamide", 40, "mg", "melphalan flufenamide 40 mg IV day 1 of 28",
                   route="intravenous", period=28),
            DEX_40]},
    }


# -- 6 ------------------------------------------------------------------------------------------
def t11_14_venetoclax() -> tuple[Chart, Meta]:
    ch = Chart("s06", "sample-t11-14")
    ch.patient(family="Moreau", given="Claire", gender="female", birth_days_before=67 * 365 + 90, mrn="S0600006")
    ch.condition(c.MM_NOT_IN_REMISSION, 2700)
    h.fish_panel(ch, 2695, {"del17p": False, "t4_14": False, "t11_14": True})
    ch.report(c.CYTOGENETICS_NARRATIVE, 2695,
              "FISH on CD138-selected marrow cells: t(11;14)(q13;q32) detected (CCND1-IGH fusion). "
              "No del(17p). No 1q gain.")
    h.vrd_induction(ch, 2680)
    h.autologous_transplant(ch, 2450)
    h.m_protein(ch, [(2700, 2.9), (2500, 0.3), (2300, 0.1), (1600, 0.2), (1530, 0.9), (1500, 1.2),
                     (1300, 0.4), (860, 1.0), (830, 1.4), (700, 0.5), (300, 0.4), (70, 1.1), (40, 1.5)])
    # Line 2: DKd; line 3: PVd, progression on each.
    ch.administrations(drug("daratumumab", brand="Darzalex Faspro"), h.every(1480, 835, 28),
                       dose=quantity(1800, "mg"), route="subcutaneous")
    ch.request(drug("carfilzomib", brand="Kyprolis"), 1480, 830, dose_text="56 mg/m2 IV twice weekly",
               dose=quantity(56, "mg/m2"))
    ch.statement(drug("pomalidomide", "Pomalyst 4 mg capsule"), 780, None, dose_text="4 mg daily days 1-14 of 21")
    ch.administrations(drug("bortezomib", brand="Velcade"), h.every(780, 42, 7), dose=quantity(1.3, "mg/m2"),
                       route="subcutaneous")
    h.disease_status(ch, 45)
    h.routine_labs(ch, [300, 70, 40])
    h.current_status(ch, 9, creatinine=0.85, weight=61, height=160, ecog=1)
    return ch, {
        "title": "Triple-class refractory with t(11;14) (R2, venetoclax)",
        "summary": "67-year-old woman, 3 prior lines (VRd + ASCT, DKd, PVd); refractory to daratumumab, "
                   "carfilzomib, pomalidomide and bortezomib; t(11;14) positive; lenalidomide-sensitive.",
        "draft": {"label": "venetoclax + dexamethasone (the recommended doublet)", "orders": [
            _draft("venetoclax", 800, "mg", "venetoclax 800 mg by mouth daily", route="oral"), DEX_40]},
    }


# -- 7 ------------------------------------------------------------------------------------------
def plasma_cell_leukaemia() -> tuple[Chart, Meta]:
    ch = Chart("s07", "sample-plasma-cell-leukaemia")
    ch.patient(family="Ibrahim", given="Yusuf", gender="male", birth_days_before=55 * 365 + 70, mrn="S0700007")
    ch.condition(c.MM_NOT_IN_REMISSION, 1320)
    ch.condition(c.PCL, 18)
    h.fish_panel(ch, 1315, {"del17p": True, "t4_14": False, "t11_14": False})
    h.vrd_induction(ch, 1300)
    h.autologous_transplant(ch, 1100)
    ch.statement(drug("lenalidomide", "Revlimid 10 mg capsule", brand="Revlimid"), 1010, None,
                 dose_text="10 mg by mouth daily")
    h.m_protein(ch, [(1320, 3.5), (1150, 0.3), (1050, 0.1), (500, 0.1), (200, 0.2), (52, 0.8), (26, 1.6)])
    ch.series(c.PLASMA_CELLS_BLOOD, "%", [(52, 2.0), (12, 14.0)])
    ch.observation(c.LDH, 12, value=quantity(512, "U/L"))
    h.routine_labs(ch, [52, 26, 12], hemoglobin=9.1, calcium=10.9)
    h.current_status(ch, 12, creatinine=1.2, weight=88, height=183, ecog=1)
    return ch, {
        "title": "Secondary plasma cell leukaemia at first relapse",
        "summary": "55-year-old man relapsing on lenalidomide maintenance 34 months after ASCT with 14% "
                   "circulating plasma cells; del(17p).",
        "draft": {"label": "DCEP bridging (no PJP prophylaxis)", "orders": [
            _draft("dexamethasone", 40, "mg", "dexamethasone 40 mg IV daily days 1-4", route="intravenous"),
            _draft("cyclophosphamide", 400, "mg/m2", "cyclophosphamide 400 mg/m2/day continuous infusion days 1-4",
                   route="intravenous"),
            _draft("etoposide", 40, "mg/m2", "etoposide 40 mg/m2/day continuous infusion days 1-4",
                   route="intravenous"),
            _draft("cisplatin", 10, "mg/m2", "cisplatin 10 mg/m2/day continuous infusion days 1-4",
                   route="intravenous"),
            _draft("valacyclovir", 500, "mg", "valacyclovir 500 mg by mouth twice daily", route="oral",
                   frequency=2)]},
    }


# -- 8 ------------------------------------------------------------------------------------------
def renal_impairment() -> tuple[Chart, Meta]:
    ch = Chart("s08", "sample-renal-impairment")
    ch.patient(family="Castillo", given="Rosa", gender="female", birth_days_before=74 * 365 + 150, mrn="S0800008")
    ch.condition(c.MM_NOT_IN_REMISSION, 1620)
    ch.condition(c.local_problem("CKD4", "Chronic kidney disease, stage 4 (myeloma cast nephropathy)"), 1600)
    h.fish_panel(ch, 1615, {"del17p": False, "t4_14": False})
    # Line 1: VCd (CyBorD), not a transplant candidate.
    ch.administrations(drug("bortezomib", brand="Velcade"), h.every(1600, 1420, 7), dose=quantity(1.3, "mg/m2"),
                       route="subcutaneous")
    ch.statement(drug("cyclophosphamide", "Cytoxan 50 mg tablet", brand="Cytoxan"), 1600, 1420,
                 dose_text="300 mg/m2 weekly")
    ch.statement(drug("dexamethasone"), 1600, 1420, dose_text="40 mg weekly")
    # M-protein reported in g/L by the reference lab.
    h.m_protein(ch, [(1620, 38.0), (1420, 6.0), (1000, 4.0), (400, 5.0), (95, 11.0), (60, 16.0)], unit="g/L")
    ch.series(c.CREATININE_UMOL, "umol/L", [(400, 190.0), (95, 215.0)])
    ch.observation(c.EGFR, 14, value=quantity(17, "mL/min/{1.73_m2}"))
    h.routine_labs(ch, [95, 60], hemoglobin=9.8)
    h.current_status(ch, 14, creatinine=230, weight=132, height=158, ecog=1, creatinine_unit="umol/L",
                     weight_unit="[lb_av]")
    return ch, {
        "title": "First relapse with severe renal impairment (R6, renal doses)",
        "summary": "74-year-old woman after VCd, relapsing off therapy; creatinine 230 umol/L, weight 132 lb "
                   "(CrCl ~18 mL/min).",
        "draft": {"label": "DRd at the full lenalidomide dose", "orders": [
            DARA_SC, LEN_25, DEX_40,
            _draft("aspirin", 81, "mg", "aspirin 81 mg by mouth daily", route="oral"),
            _draft("acyclovir", 400, "mg", "acyclovir 400 mg by mouth twice daily", route="oral", frequency=2)]},
    }


# -- 9 ------------------------------------------------------------------------------------------
def heart_failure() -> tuple[Chart, Meta]:
    ch = Chart("s09", "sample-heart-failure")
    ch.patient(family="Whitaker", given="George", gender="male", birth_days_before=71 * 365 + 80, mrn="S0900009")
    ch.condition(c.MM_NOT_IN_REMISSION, 1260)
    ch.condition(c.HEART_FAILURE, 420)
    h.fish_panel(ch, 1255, {"del17p": False, "t4_14": False, "t11_14": False})
    ch.administrations(drug("daratumumab", brand="Darzalex Faspro"), h.every(1240, 1010, 21),
                       dose=quantity(1800, "mg"), route="subcutaneous")
    h.vrd_induction(ch, 1240, cycles=8)
    ch.statement(text_only("Sacubitril-valsartan 49-51 mg tablet"), 410, None, dose_text="1 tablet twice daily")
    ch.statement(text_only("Furosemide 40 mg tablet"), 410, None, dose_text="40 mg daily")
    ch.series(c.LVEF, "%", [(420, 30), (95, 35)], category="imaging")
    h.m_protein(ch, [(1260, 2.6), (1050, 0.2), (700, 0.2), (300, 0.3), (120, 0.4), (80, 1.0), (48, 1.3)])
    h.routine_labs(ch, [120, 80, 48])
    h.current_status(ch, 11, creatinine=1.1, weight=86, height=176, ecog=1)
    return ch, {
        "title": "First relapse after D-VRd with heart failure (R7, HF modifier)",
        "summary": "71-year-old man, 8 cycles of D-VRd without transplant; relapse off therapy; chronic "
                   "systolic heart failure, LVEF 35%.",
        "draft": {"label": "KRd (carfilzomib with heart failure)", "orders": [
            _draft("carfilzomib", 27, "mg/m2", "carfilzomib 27 mg/m2 IV days 1, 2, 8, 9, 15, 16",
                   route="intravenous", frequency=2, period_unit="wk"),
            LEN_25, DEX_40,
            _draft("aspirin", 81, "mg", "aspirin 81 mg by mouth daily", route="oral"),
            _draft("acyclovir", 400, "mg", "acyclovir 400 mg by mouth twice daily", route="oral", frequency=2)]},
    }


# -- 10 -----------------------------------------------------------------------------------------
def frail_elderly() -> tuple[Chart, Meta]:
    ch = Chart("s10", "sample-frail-elderly")
    ch.patient(family="Duarte", given="Helena", gender="female", birth_days_before=83 * 365 + 200, mrn="S1000010")
    ch.condition(c.MM_NOT_IN_REMISSION, 1000)
    ch.condition(c.NEUROPATHY, 720)
    ch.condition(c.local_problem("OA", "Osteoarthritis of both knees"), 5000)
    h.fish_panel(ch, 995, {"del17p": False, "t4_14": False})
    # Line 1: bortezomib-melphalan-prednisone (VMP), stopped for neuropathy.
    ch.administrations(drug("bortezomib"), h.every(990, 650, 7), dose=quantity(1.3, "mg/m2"), route="subcutaneous")
    ch.statement(drug("melphalan", "Alkeran 2 mg tablet", brand="Alkeran"), 990, 650, dose_text="9 mg/m2 days 1-4")
    ch.statement(drug("prednisone"), 990, 650, dose_text="60 mg/m2 days 1-4")
    # Protein electrophoresis reported in mg/dL by this lab.
    h.m_protein(ch, [(1000, 2100.0), (650, 300.0), (300, 250.0), (90, 350.0), (70, 900.0), (42, 1200.0)],
                unit="mg/dL")
    h.routine_labs(ch, [90, 70, 42], hemoglobin=10.4)
    h.current_status(ch, 6, creatinine=1.1, weight=58, height=155, ecog=2)
    return ch, {
        "title": "Frail 83-year-old at first relapse (R6 frail, dose reductions)",
        "summary": "83-year-old woman, ECOG 2, bortezomib-induced neuropathy after VMP; relapse off therapy.",
        "draft": {"label": "Vd with IV bortezomib and dexamethasone 40 mg", "orders": [
            _draft("bortezomib", 1.3, "mg/m2", "bortezomib 1.3 mg/m2 IV days 1, 4, 8, 11", route="intravenous",
                   frequency=2, period_unit="wk"),
            DEX_40]},
    }


# -- 11 -----------------------------------------------------------------------------------------
def responding_patient() -> tuple[Chart, Meta]:
    ch = Chart("s11", "sample-responding")
    ch.patient(family="Kowalski", given="Peter", gender="male", birth_days_before=60 * 365 + 120, mrn="S1100011")
    ch.condition(c.MM_NOT_IN_REMISSION, 215)
    h.fish_panel(ch, 210, {"del17p": False, "t4_14": False, "t11_14": False})
    ch.administrations(drug("daratumumab", brand="Darzalex Faspro"), h.every(190, 15, 14),
                       dose=quantity(1800, "mg"), route="subcutaneous")
    ch.statement(drug("lenalidomide", "Revlimid 25 mg capsule", brand="Revlimid"), 190, None,
                 dose_text="25 mg daily days 1-21 of 28")
    ch.statement(drug("dexamethasone"), 190, None, dose_text="40 mg weekly")
    ch.statement(drug("aspirin"), 190, None, dose_text="81 mg daily")
    ch.statement(drug("acyclovir"), 190, None, dose_text="400 mg twice daily")
    h.m_protein(ch, [(215, 3.1), (160, 1.9), (105, 1.2), (50, 0.5), (20, 0.3)])
    ch.observation(c.DISEASE_STATUS, 20, value_concept=c.IMPROVED, category="exam")
    h.routine_labs(ch, [105, 50, 20])
    h.current_status(ch, 20, creatinine=0.95, weight=79, height=180, ecog=0)
    return ch, {
        "title": "Responding on first-line DRd (no cards)",
        "summary": "60-year-old man, newly diagnosed, on DRd for 6 months with falling M-protein; takes "
                   "aspirin and acyclovir.",
        "draft": {"label": "next DRd cycle", "orders": [DARA_SC, LEN_25, DEX_40]},
    }


# -- 12 -----------------------------------------------------------------------------------------
def no_myeloma() -> tuple[Chart, Meta]:
    ch = Chart("s12", "sample-no-myeloma")
    ch.patient(family="Fischer", given="Anna", gender="female", birth_days_before=70 * 365 + 250, mrn="S1200012")
    ch.condition(c.local_problem("MGUS", "Monoclonal gammopathy of undetermined significance (IgG kappa)"), 900)
    # Myeloma was suspected at referral and ruled out by the marrow biopsy.
    ch.condition(c.MM_NOT_IN_REMISSION, 920, verification="refuted", clinical_status="inactive")
    ch.condition(c.local_problem("AF", "Paroxysmal atrial fibrillation"), 1500)
    ch.statement(drug("apixaban", "Eliquis 5 mg tablet"), 1500, None, dose_text="5 mg twice daily")
    ch.statement(text_only("Metoprolol succinate 50 mg tablet"), 1500, None, dose_text="50 mg daily")
    h.m_protein(ch, [(900, 0.6), (540, 0.6), (180, 0.7), (30, 0.7)])
    h.routine_labs(ch, [180, 30], hemoglobin=13.2)
    h.current_status(ch, 30, creatinine=0.9, weight=70, height=165, ecog=0)
    return ch, {
        "title": "No myeloma: MGUS on apixaban (no cards)",
        "summary": "70-year-old woman with stable IgG-kappa MGUS (myeloma ruled out, recorded as refuted) "
                   "and atrial fibrillation on apixaban.",
        "draft": {"label": "apixaban refill", "orders": [
            _draft("apixaban", 5, "mg", "apixaban 5 mg by mouth twice daily", route="oral", frequency=2)]},
    }


# -- 13 -----------------------------------------------------------------------------------------
def drd_refractory() -> tuple[Chart, Meta]:
    ch = Chart("s13", "sample-drd-refractory")
    ch.patient(family="Oyelaran", given="Grace", gender="female", birth_days_before=76 * 365 + 160, mrn="S1300013")
    ch.condition(c.MM_NOT_IN_REMISSION, 1400)
    ch.condition(c.local_problem("HTN", "Essential hypertension"), 5000)
    h.unrelated_medicines(ch, 4800)
    h.fish_panel(ch, 1395, {"del17p": False, "t4_14": False, "t11_14": False})
    # First line, transplant-ineligible: continuous DRd (MAIA), progressing on it now.
    ch.administrations(drug("daratumumab", brand="Darzalex Faspro"), h.every(1380, 25, 28),
                       dose=quantity(1800, "mg"), route="subcutaneous")
    ch.request(drug("lenalidomide", "Revlimid 15 mg capsule", brand="Revlimid"), 1380, None,
               dose_text="15 mg by mouth daily, days 1-21 of 28", dose=quantity(15, "mg"))
    ch.statement(drug("dexamethasone"), 1380, None, dose_text="20 mg weekly")
    ch.statement(drug("aspirin"), 1380, None, dose_text="81 mg daily")
    h.m_protein(ch, [(1400, 3.6), (1200, 0.8), (900, 0.3), (500, 0.2), (200, 0.25), (85, 0.8), (50, 1.2)])
    h.disease_status(ch, 50)
    h.routine_labs(ch, [200, 85, 50])
    h.current_status(ch, 16, creatinine=0.9, weight=66, height=163, ecog=1)
    return ch, {
        "title": "Progression on first-line DRd (R3)",
        "summary": "76-year-old woman on continuous DRd for almost 4 years (no transplant), now progressing "
                   "on it; takes aspirin.",
        "draft": {"label": "DPd (daratumumab despite anti-CD38 refractoriness)", "orders": [
            DARA_SC,
            _draft("pomalidomide", 4, "mg", "pomalidomide 4 mg by mouth daily, days 1-21 of 28", route="oral"),
            DEX_20]},
    }


# -- 14 -----------------------------------------------------------------------------------------
def pi_refractory_two_lines() -> tuple[Chart, Meta]:
    ch = Chart("s14", "sample-pi-refractory")
    ch.patient(family="Tanaka", given="Hiroshi", gender="male", birth_days_before=68 * 365 + 220, mrn="S1400014")
    ch.condition(c.MM_NOT_IN_REMISSION, 1500)
    ch.report(c.CYTOGENETICS_NARRATIVE, 1495,
              "Interphase FISH: negative for del(17p), t(4;14), t(14;16) and t(11;14). No 1q gain.")
    # Line 1: VCd (CyBorD) without transplant, progression on bortezomib.
    ch.administrations(drug("bortezomib", brand="Velcade"), h.every(1490, 1130, 7), dose=quantity(1.3, "mg/m2"),
                       route="subcutaneous")
    ch.statement(drug("cyclophosphamide"), 1490, 1130, dose_text="300 mg/m2 weekly",
                 stop_reason="Disease progression")
    # Line 2: carfilzomib-dexamethasone, progression on it.
    ch.request(drug("carfilzomib", "Kyprolis 56 mg/m2", brand="Kyprolis"), 1100, 40,
               dose_text="56 mg/m2 IV days 1, 2, 8, 9, 15, 16 of 28", dose=quantity(56, "mg/m2"),
               status="stopped")
    ch.statement(drug("valacyclovir"), 1100, None, dose_text="500 mg twice daily")
    h.m_protein(ch, [(1500, 2.8), (1300, 0.6), (1200, 0.5), (1150, 1.1), (1125, 1.5), (900, 0.4),
                     (600, 0.3), (80, 0.9), (45, 1.3)])
    ch.observation(c.LVEF, 120, value=quantity(61, "%"), category="imaging")
    h.routine_labs(ch, [600, 80, 45])
    h.current_status(ch, 12, creatinine=1.0, weight=72, height=170, ecog=1)
    return ch, {
        "title": "PI-refractory after two lines, lenalidomide-naive (R8)",
        "summary": "68-year-old man: VCd then Kd, progression on each; never received lenalidomide or an "
                   "anti-CD38 antibody. Takes valacyclovir.",
        "draft": {"label": "IRd (ixazomib after PI-refractory disease)", "orders": [
            _draft("ixazomib", 4, "mg", "ixazomib 4 mg by mouth days 1, 8, 15 of 28", route="oral",
                   period_unit="wk"),
            LEN_25, DEX_40,
            _draft("aspirin", 81, "mg", "aspirin 81 mg by mouth daily", route="oral")]},
    }


PERSONAS: tuple[Callable[[], tuple[Chart, Meta]], ...] = (
    first_relapse_len_sensitive, first_relapse_len_refractory, anti_cd38_exposed, triple_class_refractory,
    penta_refractory, t11_14_venetoclax, plasma_cell_leukaemia, renal_impairment, heart_failure, frail_elderly,
    drd_refractory, pi_refractory_two_lines, responding_patient, no_myeloma,
)


def render() -> dict[str, str]:
    """File name -> JSON text for every sample file (the bundles and ``catalog.json``)."""
    files: dict[str, str] = {}
    catalog = []
    for build in PERSONAS:
        chart, meta = build()
        slug = chart.patient_id.removeprefix("sample-")
        files[f"{slug}.json"] = _dump(chart.bundle())
        catalog.append({"id": slug, "patientId": chart.patient_id, "file": f"{slug}.json", **meta})
    files["catalog.json"] = _dump({"anchor": ANCHOR.isoformat(), "personas": catalog})
    return files


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for name, text in render().items():
        (SAMPLES_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {SAMPLES_DIR / name}")


if __name__ == "__main__":
    main()
