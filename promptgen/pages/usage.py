"""Usage: what the user generated and spent, per day and model, against the plan."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.shell import app_shell, page_header
from promptgen.pages import page
from promptgen.state.usage import ModelRow, Series, SplitRow, TotalRow, UsageState


def _table(headers: list[str], rows: rx.Var, cells, table_id: str) -> rx.Component:
    # On a phone the table scrolls sideways inside a focusable region (keyboard users can
    # scroll it too); styles.css lets Radix's own scroll area grow instead of scrolling.
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(rx.foreach(rows, cells)),
            size="1",
            width="100%",
            id=table_id,
        ),
        class_name="pg-table-scroll",
        tab_index=0,
        role="region",
        aria_label=table_id.removeprefix("usage-").replace("-", " ").capitalize() + " table",
        width="100%",
    )


def _total_row(row: TotalRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.period),
        rx.table.cell(row.dates),
        rx.table.cell(row.generations, class_name="total-generations"),
        rx.table.cell(row.tokens, class_name="total-tokens"),
        rx.table.cell(row.cost, class_name="total-cost"),
        class_name="total-row",
    )


def _model_row(row: ModelRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.model, class_name="model-name"),
        rx.table.cell(row.generations, class_name="model-generations"),
        rx.table.cell(row.failed, class_name="model-failed"),
        rx.table.cell(row.tokens, class_name="model-tokens"),
        rx.table.cell(row.cost, class_name="model-cost"),
        rx.table.cell(row.avg_latency),
        class_name="model-row",
    )


def _health_row(row: ModelRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.model),
        rx.table.cell(row.avg_latency),
        rx.table.cell(row.failure_rate),
    )


def _split_row(row: SplitRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.source),
        rx.table.cell(row.generations, class_name="split-generations"),
        rx.table.cell(row.tokens),
        rx.table.cell(row.cost),
        class_name="split-row",
    )


def _bar(series: Series) -> rx.Component:
    return rx.recharts.bar(data_key=series.key, name=series.name, stack_id="day", fill=series.color)


def _switch(label: str, value: str, current: rx.Var, handler) -> rx.Component:
    return rx.button(
        label,
        size="1",
        variant=rx.cond(current == value, "solid", "soft"),
        on_click=handler(value),
        class_name="usage-switch",
        data_value=value,
    )


def _chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Per day, by model", size="4"),
                rx.spacer(),
                *[
                    _switch(label, value, UsageState.metric, UsageState.show_metric)
                    for label, value in (
                        ("Generations", "generations"),
                        ("Tokens", "tokens"),
                        ("Cost ($)", "cost"),
                    )
                ],
                rx.separator(orientation="vertical", size="1"),
                *[
                    _switch(label, value, UsageState.period, UsageState.show_period)
                    for label, value in (("This period", "current"), ("Previous", "previous"))
                ],
                width="100%",
                align="center",
                wrap="wrap",
                spacing="3",
            ),
            rx.recharts.responsive_container(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    rx.recharts.x_axis(data_key="day"),
                    rx.recharts.y_axis(),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.legend(),
                    rx.foreach(UsageState.series, _bar),
                    data=UsageState.chart,
                ),
                width="100%",
                height=300,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="usage-chart",
    )


def _quota() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Quota", size="4"),
            rx.text(
                rx.text.strong(UsageState.quota_used, id="quota-used"),
                " of ",
                rx.text.strong(UsageState.quota_limit, id="quota-limit"),
                " generations used this period; resets ",
                rx.text.span(UsageState.quota_resets, id="quota-resets"),
                ".",
                size="2",
            ),
            rx.progress(
                value=UsageState.quota_percent, width="100%", aria_label="Share of quota used"
            ),
            rx.text(
                "Generations on your own keys and the offline compiler do not count.",
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


@page(urls.USAGE, "Usage", UsageState.load)
def usage_page() -> rx.Component:
    return app_shell(
        page_header("Usage", "Generations, tokens and estimated cost, per day and per model."),
        rx.cond(
            UsageState.loaded,
            rx.vstack(
                _quota(),
                _table(
                    ["Period", "Dates", "Generations", "Tokens", "Estimated cost"],
                    UsageState.totals,
                    _total_row,
                    "usage-totals",
                ),
                _chart(),
                rx.heading("This period by model", size="4"),
                _table(
                    ["Model", "Generations", "Failed", "Tokens", "Estimated cost", "Avg latency"],
                    UsageState.models_table,
                    _model_row,
                    "usage-models",
                ),
                rx.heading("Plan versus own keys", size="4"),
                _table(
                    ["Billed to", "Generations", "Tokens", "Estimated cost"],
                    UsageState.split,
                    _split_row,
                    "usage-split",
                ),
                rx.flex(
                    rx.vstack(
                        rx.heading("Slowest models", size="3"),
                        _table(
                            ["Model", "Avg latency", "Failures"],
                            UsageState.slowest,
                            _health_row,
                            "usage-slowest",
                        ),
                        flex="1",
                        min_width="280px",
                    ),
                    rx.vstack(
                        rx.heading("Most failing models", size="3"),
                        _table(
                            ["Model", "Avg latency", "Failures"],
                            UsageState.most_failing,
                            _health_row,
                            "usage-failing",
                        ),
                        flex="1",
                        min_width="280px",
                    ),
                    spacing="5",
                    wrap="wrap",
                    width="100%",
                ),
                rx.text(
                    "Costs are estimates from each model's token prices. Own-key generations "
                    "are billed to your key by its provider, not to your plan.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.link("Compare models side by side →", href=urls.COMPARE, size="2"),
                spacing="4",
                width="100%",
                align="start",
            ),
            rx.center(rx.spinner(size="3"), padding="4em"),
        ),
    )
