"""Estimated cost of a generation, from its tokens and the model's prices.

Prices are US dollars per million tokens (catalog: `input_price_per_mtok`,
`output_price_per_mtok`), so a token costs `price` millionths of a dollar: the cost in
micro-dollars is `input_tokens * input_price + output_tokens * output_price`, rounded. Costs
are stored as integer micro-dollars (sums stay exact). PostgreSQL computes the same in
`promptgen_finish_generation` (db_security); SQLite runs `cost_expression` from here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from promptgen.db import table_of
from promptgen.models import SupportedAIModel

MICROS_PER_DOLLAR = 1_000_000
_models = table_of(SupportedAIModel)


def estimate_cost_micros(
    input_tokens: int | None,
    output_tokens: int | None,
    input_price_per_mtok: float,
    output_price_per_mtok: float,
) -> int | None:
    """None when the provider reported no tokens (nothing to estimate from)."""
    if input_tokens is None and output_tokens is None:
        return None
    return round(
        (input_tokens or 0) * input_price_per_mtok + (output_tokens or 0) * output_price_per_mtok
    )


def cost_expression(
    model_id: Any, input_tokens: int | None, output_tokens: int | None
) -> sa.ColumnElement:
    """`estimate_cost_micros` as SQL, reading the prices of the row's model."""
    if input_tokens is None and output_tokens is None:
        return sa.null()
    price = (input_tokens or 0) * _models.c.input_price_per_mtok + (
        output_tokens or 0
    ) * _models.c.output_price_per_mtok
    return (
        sa.select(sa.cast(sa.func.round(price), sa.BigInteger))
        .where(_models.c.id == model_id)
        .scalar_subquery()
    )


def format_cost(micros: int | None) -> str:
    """ "$0.0012" style: enough digits for sub-cent estimates; "—" when unknown."""
    if micros is None:
        return "—"
    dollars = micros / MICROS_PER_DOLLAR
    if dollars == 0:
        return "$0"
    if dollars >= 1:
        return f"${dollars:,.2f}"
    # Micro-dollar precision below a cent: one short prompt costs a few millionths.
    return f"${dollars:.4f}" if dollars >= 0.01 else f"${dollars:.6f}"
