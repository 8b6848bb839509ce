"""The versions page's diffs: template text, form fields, and two generations' inputs."""

from __future__ import annotations

from promptgen.services.blueprint_diff import inputs_diff, schema_diff, text_diff


def _kinds(lines) -> list[tuple[str, str, str, str]]:
    return [(line.kind, line.old_number, line.new_number, line.text) for line in lines]


def test_text_diff_numbers_lines_and_folds_unchanged_runs() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 10", "line ten").replace("line 20", "line 20\nline 21")
    lines = _kinds(text_diff(old, new))
    assert lines[0] == ("gap", "", "", "6 unchanged line(s)")
    assert ("removed", "10", "", "line 10") in lines
    assert ("added", "", "10", "line ten") in lines
    assert ("same", "13", "13", "line 13") in lines
    assert ("gap", "", "", "4 unchanged line(s)") in lines  # 14-17, between the hunks
    assert lines[-1] == ("added", "", "21", "line 21")
    assert text_diff("same", "same") == []


def _schema(properties: dict, order: list[str] | None = None, required=()) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "x-order": order or list(properties),
        "required": list(required),
    }


def test_schema_diff_says_what_was_added_removed_changed_and_moved() -> None:
    old = _schema(
        {
            "subject": {"type": "string", "title": "Subject"},
            "colour": {"type": "string", "title": "Colour", "enum": ["red", "blue"]},
            "size": {"type": "integer", "title": "Size", "minimum": 1, "maximum": 5},
        },
        required=["subject"],
    )
    new = _schema(
        {
            "colour": {"type": "string", "title": "Main colour", "enum": ["red", "green"]},
            "subject": {"type": "string", "title": "Subject", "x-widget": "textarea"},
            "framed": {"type": "boolean", "title": "Framed"},
        },
        required=["subject", "colour"],
    )
    changes = {c.name: c for c in schema_diff(old, new)}
    assert changes["framed"].change == "added"
    assert changes["size"].change == "removed"
    colour = changes["colour"].details
    assert "Label: Colour → Main colour" in colour
    assert "Required: no → yes" in colour
    assert "Choices: red, blue → red, green" in colour
    assert "Position: 2 → 1" in colour
    assert "Kind: Short text → Long text" in changes["subject"].details
    assert schema_diff(old, old) == []


def test_inputs_diff_lists_every_input_and_marks_changes() -> None:
    rows = inputs_diff(
        {"subject": "a heron", "tags": ["a", "b"], "gone": True},
        {"subject": "a harbour", "tags": ["a", "b"], "new": 3},
    )
    assert [(r.name, r.change, r.before, r.after) for r in rows] == [
        ("subject", "changed", "a heron", "a harbour"),
        ("tags", "same", "a, b", "a, b"),
        ("gone", "removed", "yes", ""),
        ("new", "added", "", "3"),
    ]
