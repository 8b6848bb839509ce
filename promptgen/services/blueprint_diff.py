"""What changed between two blueprint versions, or two generations. Pure Python.

Three diffs for the versions page: the template text (unified, line by line), the schema
(fields added, removed or changed, in words) and, for two history entries, the inputs
(value by value) and the output (line by line).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from promptgen.blueprints import FieldSpec, describe_fields
from promptgen.services.blueprint_builder import KIND_LABELS

CONTEXT_LINES = 3
# Diffing is quadratic in the worst case; texts past this are compared by their first part.
MAX_DIFF_LINES = 5_000


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff. `kind`: "same", "added", "removed" or "gap" (lines
    left out between hunks; `text` says how many)."""

    kind: str
    old_number: str
    new_number: str
    text: str


def text_diff(old: str, new: str, *, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """A unified diff of two texts with line numbers; [] when they are the same."""
    if old == new:
        return []
    old_lines = old.splitlines()[:MAX_DIFF_LINES]
    new_lines = new.splitlines()[:MAX_DIFF_LINES]
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    lines: list[DiffLine] = []
    previous_end = 0
    for group in matcher.get_grouped_opcodes(context):
        first_old = group[0][1]
        if first_old > previous_end:
            skipped = first_old - previous_end
            lines.append(DiffLine("gap", "", "", f"{skipped} unchanged line(s)"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset in range(i2 - i1):
                    lines.append(
                        DiffLine(
                            "same",
                            str(i1 + offset + 1),
                            str(j1 + offset + 1),
                            old_lines[i1 + offset],
                        )
                    )
                continue
            if tag in ("replace", "delete"):
                for index in range(i1, i2):
                    lines.append(DiffLine("removed", str(index + 1), "", old_lines[index]))
            if tag in ("replace", "insert"):
                for index in range(j1, j2):
                    lines.append(DiffLine("added", "", str(index + 1), new_lines[index]))
        previous_end = group[-1][2]
    if previous_end < len(old_lines):
        lines.append(DiffLine("gap", "", "", f"{len(old_lines) - previous_end} unchanged line(s)"))
    if old.endswith("\n") != new.endswith("\n") and not lines:
        lines.append(DiffLine("same", "", "", "(only the final line break differs)"))
    return lines


@dataclass(frozen=True)
class FieldChange:
    """A field added, removed or changed between two schemas. `details` says what changed
    ("Label: “Colour” → “Main colour”")."""

    name: str
    title: str
    change: str  # "added" | "removed" | "changed"
    details: list[str]


def _shown(value: Any) -> str:
    if value is None or value == "" or value == () or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


_COMPARED = (
    ("title", "Label"),
    ("kind", "Kind"),
    ("required", "Required"),
    ("description", "Help text"),
    ("placeholder", "Placeholder"),
    ("default", "Default"),
    ("minimum", "Minimum"),
    ("maximum", "Maximum"),
    ("max_length", "Maximum length"),
    ("options", "Choices"),
    ("option_labels", "Choice labels"),
)


def _field_details(old: FieldSpec, new: FieldSpec) -> list[str]:
    details = []
    for attribute, label in _COMPARED:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if attribute == "option_labels" and (old.options != new.options):
            continue  # the choices line says it
        if before != after:
            if attribute == "kind":
                before, after = KIND_LABELS.get(before, before), KIND_LABELS.get(after, after)
            details.append(f"{label}: {_shown(before)} → {_shown(after)}")
    return details


def _describe(schema: dict[str, Any]) -> list[FieldSpec]:
    try:
        return describe_fields(schema)
    except (KeyError, TypeError, ValueError):
        return []


def schema_diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """Fields added, removed or changed, in the new order (removed ones last); a field that
    only moved says where from. Extra JSON Schema keys are compared as JSON."""
    old_specs = {s.name: s for s in _describe(old)}
    new_specs = _describe(new)
    old_order = list(old_specs)
    changes: list[FieldChange] = []
    for position, spec in enumerate(new_specs):
        before = old_specs.get(spec.name)
        if before is None:
            changes.append(
                FieldChange(spec.name, spec.title, "added", [f"{KIND_LABELS.get(spec.kind)}"])
            )
            continue
        details = _field_details(before, spec)
        old_prop = old.get("properties", {}).get(spec.name, {})
        new_prop = new.get("properties", {}).get(spec.name, {})
        if not details and old_prop != new_prop:
            details.append(
                "Schema: "
                + json.dumps(old_prop, ensure_ascii=False, sort_keys=True)
                + " → "
                + json.dumps(new_prop, ensure_ascii=False, sort_keys=True)
            )
        old_position = old_order.index(spec.name)
        if old_position != position:
            details.append(f"Position: {old_position + 1} → {position + 1}")
        if details:
            changes.append(FieldChange(spec.name, spec.title, "changed", details))
    new_names = {s.name for s in new_specs}
    for name, spec in old_specs.items():
        if name not in new_names:
            changes.append(
                FieldChange(name, spec.title, "removed", [KIND_LABELS.get(spec.kind, "")])
            )
    return changes


@dataclass(frozen=True)
class InputChange:
    name: str
    change: str  # "added" | "removed" | "changed" | "same"
    before: str
    after: str


def inputs_diff(old: dict[str, Any], new: dict[str, Any]) -> list[InputChange]:
    """Every input of two generations, side by side, each marked same or how it changed."""
    changes = []
    for name in list(dict.fromkeys([*old, *new])):
        if name not in old:
            changes.append(InputChange(name, "added", "", _shown(new[name])))
        elif name not in new:
            changes.append(InputChange(name, "removed", _shown(old[name]), ""))
        else:
            kind = "same" if old[name] == new[name] else "changed"
            changes.append(InputChange(name, kind, _shown(old[name]), _shown(new[name])))
    return changes
