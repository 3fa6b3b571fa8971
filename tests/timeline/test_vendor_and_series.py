"""The vendor step copies only lock-file-pinned npm files; the timeline's series, line exposures and
nadirs are read like the facts."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cds_service import samples
from cds_service.commands import timeline
from clinical_rules.kb import load_knowledge_base
from fhir_mappings import build_facts
from fhir_mappings.index import ResourceIndex
from fhir_mappings.timeline import line_exposures, line_nadirs, read_series

TODAY = date(2026, 3, 15)


def _installed() -> bool:
    return all((timeline.TIMELINE_DIR / "node_modules" / package).is_dir() for package, _ in timeline.VENDOR_FILES.values())


@pytest.mark.skipif(not _installed(), reason="cds_service/timeline/node_modules not installed (rrmm-cds timeline vendor)")
def test_vendor_copies_the_pinned_files_with_their_integrity(tmp_path):
    target = tmp_path / "vendor"
    written = timeline.vendor(install=False, target=target)
    assert {p.name for p in written} == {*timeline.VENDOR_FILES, "manifest.json"}
    manifest = json.loads((target / "manifest.json").read_text())
    lock = json.loads((timeline.TIMELINE_DIR / "package-lock.json").read_text())["packages"]
    for name, (package, _inner) in timeline.VENDOR_FILES.items():
        assert manifest[name]["integrity"] == lock[f"node_modules/{package}"]["integrity"]
        assert manifest[name]["integrity"].startswith("sha512-")


def test_vendor_refuses_what_the_lock_file_does_not_pin(tmp_path, monkeypatch):
    monkeypatch.setattr(timeline, "VENDOR_FILES", {"x.js": ("no-such-package", "dist/x.js")})
    with pytest.raises(timeline.VendorError, match="not installed from the lock file"):
        timeline.vendor(install=False, target=tmp_path / "vendor")
    assert not (tmp_path / "vendor").exists()


def _facts_and_index(persona_id: str):
    kb = load_knowledge_base()
    resources = samples.resources(samples.persona(persona_id), TODAY)
    patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    index = ResourceIndex(patient_id)
    index.add_any(resources)
    return build_facts(index, patient_id, TODAY, catalog=kb.catalog, params=kb.derivation_parameters), index


def test_every_line_exposure_belongs_to_its_line_and_each_exposure_is_drawn_once():
    facts, _ = _facts_and_index("penta-refractory")
    groups = line_exposures(facts)
    assert [g.line.number for g in groups] == [line.number for line in facts.lines]
    placed = [x for g in groups for x in g.exposures]
    assert len(placed) == len(set(placed))
    for group in groups:
        assert all(x.drug in group.line.drugs and x.start < group.end for x in group.exposures)
    antimyeloma = {x for x in facts.exposures if x.role == "antimyeloma"}
    assert antimyeloma <= set(placed)


def test_nadirs_are_the_lowest_value_inside_each_line():
    facts, index = _facts_and_index("penta-refractory")
    series = read_series(index, TODAY)
    groups = line_exposures(facts)
    nadirs = [n for n in line_nadirs(series, groups) if n.series == "serumMProtein"]
    assert nadirs
    for nadir in nadirs:
        group = next(g for g in groups if g.line.number == nadir.line_number)
        inside = [m.value for m in series.measurements["serumMProtein"] if group.line.start <= m.date < group.end]
        assert nadir.point.value == min(inside)
