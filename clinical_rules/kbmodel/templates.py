"""Clinician-facing sentences of the knowledge base: templates with named placeholders.

A placeholder is either a *slot* the rule fills in ("{months}", "{drug}") or a knowledge-base value
("{salvage_transplant.min_months_after_asct}", "{derivation_parameters.creatinine_recent_days}",
"{doses[dexamethasone].elderly.age_above}"), so a sentence never restates a number the rules
apply: change the value and the sentence follows. Each text field declares its slots
(``Annotated[Template, Slots("months")]``); a placeholder that is neither is refused when the
knowledge base loads, as is a knowledge-base value that does not exist.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# Top-level knowledge-base keys a text may name (the document's own sections).
KB_ROOTS = frozenset({
    "derivation_parameters", "hard_rules", "populations", "modifiers", "salvage_transplant", "referral",
    "aggressive_disease", "relapse_workup", "doses", "supportive_care", "order_checks", "data_gaps",
})
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be parsed or names a placeholder it may not use."""


class Template:
    """One parsed text. ``render(**slots)`` fills it; numbers print as a clinician writes them
    (40, not 40.0), lists joined with commas."""

    __slots__ = ("source", "slots", "path", "_parts", "_compiled", "_namespace", "_bound")

    def __init__(self, source: str, slots: tuple[str, ...] = ()) -> None:
        self.source = source
        self.slots = slots
        self.path = ""
        self._namespace: Mapping[str, Any] = {}
        try:
            self._parts = tuple(_FORMATTER.parse(source))
        except ValueError as exc:
            raise TemplateError(f"not a valid text template ({exc}); write a literal brace as {{{{ or }}}}") from exc
        # Parsed once: (literal, field, its root, whether it is a plain name, format spec, conversion).
        self._compiled = tuple(
            (literal, field, _root(field) if field is not None else None,
             field is not None and _root(field) == field, spec, conversion)
            for literal, field, spec, conversion in self._parts
        )
        self._bound = self._compiled
        for field in self.placeholders:
            root = _root(field)
            if root not in slots and root not in KB_ROOTS:
                allowed = ", ".join(f"{{{s}}}" for s in slots) or "no slots"
                raise TemplateError(
                    f"unknown placeholder {{{field}}} (this text may use {allowed}, or a knowledge-base value "
                    f"such as {{salvage_transplant.min_months_after_asct}})"
                )

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(field for _, field, _, _ in self._parts if field is not None)

    @property
    def kb_values(self) -> tuple[str, ...]:
        """The placeholders that name knowledge-base values (checked once the document loaded)."""
        return tuple(f for f in self.placeholders if _root(f) not in self.slots)

    def bind(self, path: str, namespace: Mapping[str, Any]) -> None:
        """Called once at load: where the text is, and the knowledge base its values come from."""
        self.path = path
        self._namespace = namespace
        self._bound = self._prefilled()

    def _prefilled(self) -> tuple[tuple[Any, ...], ...]:
        """The compiled parts with every knowledge-base value written in once: the namespace is
        fixed after load, so a render fills only the rule's slots (a text without slots is one
        literal). A value that cannot be written yet stays a placeholder, and render raises as
        it would have."""
        parts: list[tuple[Any, ...]] = []
        pending = ""
        for literal, field, root, simple, spec, conversion in self._compiled:
            pending += literal
            if field is not None and root not in self.slots:
                try:
                    pending += self._write(self._namespace, field, simple, spec, conversion)
                    continue
                except (KeyError, IndexError, AttributeError, TypeError, ValueError):
                    pass
            if field is not None:
                parts.append((pending, field, root, simple, spec, conversion))
                pending = ""
        if pending or not parts:
            parts.append((pending, None, None, False, "", None))
        return tuple(parts)

    @staticmethod
    def _write(source: Mapping[str, Any], field: str, simple: bool, spec: str, conversion: str | None) -> str:
        # Most placeholders are plain names: one lookup, no parsing per render.
        value = source[field] if simple else _FORMATTER.get_field(field, (), source)[0]
        if conversion:
            value = _FORMATTER.convert_field(value, conversion)
        return value if type(value) is str and not spec else format(value, spec) if spec else as_text(value)

    def resolve(self, field: str) -> Any:
        """A knowledge-base placeholder's value (raises when it does not exist)."""
        value, _ = _FORMATTER.get_field(field, (), self._namespace)
        return value

    def render(self, **values: Any) -> str:
        bound = self._bound
        if len(bound) == 1 and bound[0][1] is None:
            return bound[0][0]
        out: list[str] = []
        write = self._write
        for literal, field, root, simple, spec, conversion in bound:
            out.append(literal)
            if field is not None:
                source = values if root in self.slots else self._namespace
                out.append(write(source, field, simple, spec, conversion))
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and (self.path, self.source) == (other.path, other.source)

    def __hash__(self) -> int:
        return hash((self.path, self.source))

    def __repr__(self) -> str:
        return f"Template({self.path or '?'}: {self.source!r})"


def as_text(value: Any) -> str:
    """How a value reads in a sentence: 40.0 -> "40", 2.5 -> "2.5", a list -> "a, b"."""
    if isinstance(value, bool):
        raise TemplateError("a yes/no value cannot be written into a sentence; use a text for each case")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(as_text(v) for v in value)
    return str(value)


def _root(field: str) -> str:
    for i, char in enumerate(field):
        if char in ".[":
            return field[:i]
    return field


@dataclass(frozen=True)
class Slots:
    """Pydantic marker: ``Annotated[Template, Slots("months")]`` is a text with slot {months}."""

    names: tuple[str, ...] = ()

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", tuple(names))

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        names = self.names

        def validate(value: Any) -> Template:
            if isinstance(value, Template):
                return value
            if not isinstance(value, str) or not value.strip():
                raise ValueError("must be a non-empty text")
            try:
                return Template(value, names)
            except TemplateError as exc:
                raise ValueError(str(exc)) from None

        return core_schema.no_info_plain_validator_function(validate)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        slots = ", ".join(f"{{{n}}}" for n in self.names) or "none"
        return {"type": "string", "minLength": 1,
                "description": f"Text. Slots: {slots}; knowledge-base values as {{section.field}}."}
