"""Cells for CSV exports that a spreadsheet opens as text, never as a formula.

Exports hold text other people chose: model output (steerable by a prompt), blueprint
names, notes. Excel, LibreOffice and Sheets run a cell that starts with = + - @ (or a tab
or carriage return ahead of one) as a formula, so such a cell gets a leading apostrophe
(OWASP "CSV injection"). Numbers and booleans are left as they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value, with a string that a spreadsheet would evaluate turned into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: neutralise(value) for key, value in row.items()}
