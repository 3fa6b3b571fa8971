"""Typed models of the knowledge base (``clinical_rules/kb/*.yaml``), validated at start-up.

One model per YAML section; :mod:`clinical_rules.kbmodel.document` says which file holds which
top-level key. The rules read the knowledge base only through these models, so a wrong name in
the YAML is a start-up error naming file, entry and field, and every value read is recorded by
the coverage check (:mod:`clinical_rules.kbmodel.coverage`).
"""
