"""The coded concepts the sample patients use (LOINC / SNOMED / ICD-10-CM from the terminology)."""

from __future__ import annotations

from cds_service.samples.authoring import CPT, ICD10CM, LOCAL_LABS, LOCAL_PROBLEMS, LOINC, SNOMED, coded

# -- laboratory and vital signs ---------------------------------------------------------------
M_PROTEIN = coded(LOINC, "33358-3", "Protein.monoclonal [Mass/volume] in Serum or Plasma by Electrophoresis",
                  "M-spike (SPEP)")
URINE_M_PROTEIN = coded(LOINC, "42482-0", "Protein.monoclonal [Mass/time] in 24 hour Urine", "UPEP M-spike 24h")
KAPPA_FLC = coded(LOINC, "36916-5", "Kappa light chains.free [Mass/volume] in Serum", "Free kappa light chains")
LAMBDA_FLC = coded(LOINC, "33944-0", "Lambda light chains.free [Mass/volume] in Serum", "Free lambda light chains")
CREATININE = coded(LOINC, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine")
CREATININE_UMOL = coded(LOINC, "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "Creatinine (SI)")
EGFR = coded(LOINC, "98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] by CKD-EPI 2021",
             "eGFR (CKD-EPI 2021)")
HEMOGLOBIN = coded(LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin")
CALCIUM = coded(LOINC, "17861-6", "Calcium [Mass/volume] in Serum or Plasma", "Calcium")
PLATELETS = coded(LOINC, "777-3", "Platelets [#/volume] in Blood by Automated count", "Platelets")
LDH = coded(LOINC, "2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "LDH")
ALBUMIN = coded(LOINC, "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "Albumin")
BETA2M = coded(LOINC, "1952-1", "Beta-2-Microglobulin [Mass/volume] in Serum or Plasma", "Beta-2 microglobulin")
IGG = coded(LOINC, "2465-3", "IgG [Mass/volume] in Serum or Plasma", "IgG")
PLASMA_CELLS_BLOOD = coded(LOINC, "13047-6", "Plasma cells/100 leukocytes in Blood", "Circulating plasma cells")
WEIGHT = coded(LOINC, "29463-7", "Body weight", "Weight")
HEIGHT = coded(LOINC, "8302-2", "Body height", "Height")
HBA1C_LOCAL = coded(LOCAL_LABS, "HBA1C", "Hemoglobin A1c", "Hemoglobin A1c")

# -- findings ---------------------------------------------------------------------------------
ECOG = coded(LOINC, "89247-1", "ECOG Performance Status score", "ECOG performance status")
LVEF = coded(LOINC, "10230-1", "Left ventricular Ejection fraction", "LVEF (echocardiogram)")
DISEASE_STATUS = coded(LOINC, "97509-4", "Disease status", "Myeloma disease status")
WORSENED = coded(SNOMED, "271299001", "Patient's condition worsened", "Progressive disease")
IMPROVED = coded(SNOMED, "268910001", "Patient's condition improved", "Responding")
STABLE = coded(SNOMED, "359746009", "Patient's condition stable", "Stable disease")
FISH_DEL17P = coded(LOINC, "72824-6", "TP53 gene deletion [Presence] by FISH", "FISH del(17p)")
FISH_T4_14 = coded(LOINC, "72726-3", "t(4;14)(p16.3;q32.3) [Presence] by FISH", "FISH t(4;14)")
FISH_T11_14 = coded(LOINC, "72725-5", "t(11;14)(q13;q32) [Presence] by FISH", "FISH t(11;14)")
CYTOGENETICS_NARRATIVE = coded(LOINC, "50659-2", "Cytogenetic analysis narrative", "Myeloma FISH panel")
POSITIVE = coded(LOINC, "LA6576-8", "Positive")
NEGATIVE = coded(LOINC, "LA6577-6", "Negative")
DETECTED = coded(LOINC, "LA11882-0", "Detected")
NOT_DETECTED = coded(LOINC, "LA11883-8", "Not detected")

# -- conditions -------------------------------------------------------------------------------
MM_NOT_IN_REMISSION = coded(ICD10CM, "C90.00", "Multiple myeloma not having achieved remission")
MM_IN_RELAPSE = coded(ICD10CM, "C90.02", "Multiple myeloma in relapse")
MM_SNOMED = coded(SNOMED, "109989006", "Multiple myeloma")
PCL = coded(ICD10CM, "C90.10", "Plasma cell leukemia not having achieved remission",
            "Secondary plasma cell leukemia")
HEART_FAILURE = coded(ICD10CM, "I50.22", "Chronic systolic (congestive) heart failure")
NEUROPATHY = coded(ICD10CM, "G62.0", "Drug-induced polyneuropathy", "Bortezomib-induced peripheral neuropathy")
DVT = coded(ICD10CM, "Z86.718", "Personal history of other venous thrombosis and embolism",
            "History of deep vein thrombosis")
ASCT_STATUS = coded(ICD10CM, "Z94.84", "Stem cells transplant status")


def local_problem(code: str, text: str) -> dict[str, object]:
    """A comorbidity the way a problem list sends it: local code and text, no standard coding."""
    return coded(LOCAL_PROBLEMS, code, text)


# -- procedures -------------------------------------------------------------------------------
ASCT = coded(SNOMED, "709115004", "Autologous hematopoietic stem cell transplant (procedure)",
             "Autologous stem cell transplant")
ASCT_CPT = coded(CPT, "38241", "Hematopoietic progenitor cell (HPC); autologous transplantation",
                 "Autologous HPC transplant")
