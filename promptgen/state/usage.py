"""Usage: generations, tokens and estimated cost per day and model, quota, key split, and
the slowest and most-failing models. The figures come from services/usage.py (aggregate SQL);
this state only shapes them for the chart and the tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from promptgen.services import usage
from promptgen.services.pricing import MICROS_PER_DOLLAR, format_cost
from promptgen.state.base import AuthState, _day

PALETTE = ("#6e56cf", "#12a594", "#e54666", "#ffb224", "#0090ff", "#8e4ec6", "#30a46c")
METRICS = ("generations", "tokens", "cost")
PERIODS = ("current", "previous")
KEY_LABELS = {"platform": "Plan (platform key)", "own_key": "Your own keys", "offline": "Offline"}


@dataclasses.dataclass
class Series:
    key: str  # "m0", "m1": model names hold dots, which chart data keys read as paths
    name: str
    color: str


@dataclasses.dataclass
class TotalRow:
    period: str
    dates: str
    generations: int
    tokens: int
    cost: str


@dataclasses.dataclass
class ModelRow:
    model: str
    generations: int
    failed: int
    failure_rate: str
    tokens: int
    cost: str
    avg_latency: str


@dataclasses.dataclass
class SplitRow:
    source: str
    generations: int
    tokens: int
    cost: str


def _value(day: usage.DayModel, metric: str) -> float:
    if metric == "generations":
        return day.generations
    if metric == "tokens":
        return day.tokens
    return round(day.cost_micros / MICROS_PER_DOLLAR, 6)


def chart_data(report: usage.UsageReport, series: dict[str, str]) -> dict[str, list[dict]]:
    """Per period and metric: one point per day of the period, a value per model series."""
    bounds = {
        "current": (report.current_start, report.current_end),
        "previous": (report.previous_start, report.current_start),
    }
    charts: dict[str, list[dict]] = {}
    for period, (start, end) in bounds.items():
        days = usage.period_days(start, end)
        for metric in METRICS:
            points: dict[Any, dict[str, Any]] = {
                d: {"day": f"{d:%b} {d.day}", **{k: 0 for k in series.values()}} for d in days
            }
            for row in report.days:
                if row.period == period and row.day in points:
                    points[row.day][series[row.model]] = _value(row, metric)
            charts[f"{period}:{metric}"] = list(points.values())
    return charts


class UsageState(AuthState):
    loaded: bool = False
    period: str = "current"
    metric: str = "generations"
    series: list[Series] = []
    chart: list[dict[str, Any]] = []
    totals: list[TotalRow] = []
    models_table: list[ModelRow] = []
    slowest: list[ModelRow] = []
    most_failing: list[ModelRow] = []
    split: list[SplitRow] = []
    quota_used: int = 0
    quota_limit: int = 0
    quota_resets: str = ""
    _charts: dict[str, list[dict[str, Any]]] = {}

    @rx.event
    async def load(self):
        # The user, the badge and every figure in one transaction (services/page_loads).
        page = await self._load_page(usage.usage_report)
        if page.user is None or page.data is None:
            return self._to_sign_in()
        report = page.data
        names = sorted({d.model for d in report.days})
        keys = {name: f"m{i}" for i, name in enumerate(names)}
        self.series = [Series(keys[n], n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)]
        self._charts = chart_data(report, keys)
        self.chart = self._charts.get(f"{self.period}:{self.metric}", [])
        dates = {
            "current": f"{_day(report.current_start)} to {_day(report.current_end)}",
            "previous": f"{_day(report.previous_start)} to {_day(report.current_start)}",
        }
        self.totals = [
            TotalRow(
                "This period" if p == "current" else "Previous period",
                dates[p],
                report.totals[p]["generations"],
                report.totals[p]["tokens"],
                format_cost(report.totals[p]["cost_micros"]),
            )
            for p in PERIODS
        ]
        rows = [
            ModelRow(
                m.model,
                m.generations,
                m.failed,
                f"{m.failure_rate:.0%}",
                m.tokens,
                format_cost(m.cost_micros),
                "—" if m.avg_latency_ms is None else f"{m.avg_latency_ms / 1000:.2f} s",
            )
            for m in report.models
        ]
        self.models_table = rows
        by_latency = sorted(
            (r for r, m in zip(rows, report.models, strict=True) if m.avg_latency_ms is not None),
            key=lambda r: -float(r.avg_latency.rstrip(" s")),
        )
        self.slowest = by_latency[:3]
        self.most_failing = sorted(
            (r for r in rows if r.failed), key=lambda r: (-r.failed / r.generations, r.model)
        )[:3]
        self.split = [
            SplitRow(
                KEY_LABELS.get(s.key_source, s.key_source),
                s.generations,
                s.tokens,
                format_cost(s.cost_micros),
            )
            for s in report.split
        ]
        if report.plan is not None:
            self.quota_used = report.plan.usage_count
            self.quota_limit = report.plan.monthly_quota
            self.quota_resets = _day(report.plan.usage_resets_on)
        self.loaded = True
        return None

    @rx.event
    def show_period(self, period: str):
        if period in PERIODS:
            self.period = period
            self.chart = self._charts.get(f"{self.period}:{self.metric}", [])

    @rx.event
    def show_metric(self, metric: str):
        if metric in METRICS:
            self.metric = metric
            self.chart = self._charts.get(f"{self.period}:{self.metric}", [])

    @rx.var
    def quota_percent(self) -> int:
        if not self.quota_limit:
            return 100 if self.quota_used else 0
        return min(100, round(self.quota_used * 100 / self.quota_limit))
