"""Compare mode: the dashboard's blueprint form once, 2-4 targets side by side, ratings.

A substate of the dashboard's, so the chosen blueprint and its form (the same widgets) carry
over between the two pages. Everything real happens in services/compare.py: each column is an
ordinary generation; this state only streams each column into the page, cancels one column's
task, and shows what the services read back from the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import reflex as rx

from promptgen import urls
from promptgen.errors import UserFacingError
from promptgen.providers.base import PROVIDER_NAMES, ProviderName
from promptgen.services import catalog, compare, shares
from promptgen.services.compare import ColumnSpec, ColumnView
from promptgen.settings import get_settings
from promptgen.state.base import run_service
from promptgen.state.dashboard import DashboardState, parameters_from_form

NO_SIGNATURE = "0"

# Each tab's running columns, so one column's Cancel stops that column alone. A tab's events
# reach the worker holding its websocket, where its tasks run.
_COLUMN_TASKS: dict[str, dict[int, asyncio.Task]] = {}


@dataclasses.dataclass
class TargetRow:
    model_id: str
    signature_id: str = NO_SIGNATURE


@dataclasses.dataclass
class CompareColumn:
    key: str
    title: str
    subtitle: str
    status: str = "waiting"  # waiting | running | succeeded | failed | cancelled | refused
    output: str = ""
    message: str = ""
    needs_key: bool = False
    prompt_id: str = ""
    billed: str = ""
    latency: str = ""
    tokens: str = ""
    cost: str = ""
    vote: int = 0
    winner: bool = False
    note: str = ""


@dataclasses.dataclass
class LeaderRowView:
    name: str
    wins: int
    ups: int
    downs: int


@dataclasses.dataclass
class SignatureChoice:
    id: str
    label: str


def _billed(key_source: str, provider_name: str) -> str:
    if key_source == "platform":
        return "Plan (1 generation)"
    if key_source == "own_key":
        return f"Billed to your {provider_name} key" if provider_name else "Billed to your key"
    return "Free (offline)"


def _apply_view(column: CompareColumn, view: ColumnView, provider_name: str) -> CompareColumn:
    tokens = (view.input_tokens, view.output_tokens)
    return dataclasses.replace(
        column,
        status=view.status if view.status != "pending" else "running",
        output=view.output or column.output,
        message=column.message or view.error_message,
        prompt_id=view.prompt_id,
        billed=_billed(view.key_source, provider_name),
        latency="" if view.latency_ms is None else f"{view.latency_ms / 1000:.2f} s",
        tokens="" if tokens == (None, None) else f"{tokens[0] or 0} in / {tokens[1] or 0} out",
        cost=view.cost_label if view.key_source != "offline" else "$0",
        vote=view.vote,
        winner=view.is_winner,
        note=view.note,
    )


class CompareState(DashboardState):
    targets: list[TargetRow] = []
    include_baseline: bool = True
    baseline_label: str = ""
    target_models: list[SignatureChoice] = []  # models a target may use (not the baseline)
    signature_choices: list[SignatureChoice] = []
    cost_statement: str = ""
    running: bool = False
    columns: list[CompareColumn] = []
    comparison_id: str = ""
    compare_error: str = ""
    leader_models: list[LeaderRowView] = []
    leader_signatures: list[LeaderRowView] = []
    # The open comparison's public link (services/shares.py), "" when it has none.
    compare_share_url: str = ""
    compare_share_images: bool = False
    compare_share_error: str = ""
    _baseline_model_id: int = 0
    _providers: dict[str, str] = {}  # model id -> provider display name ("" offline)

    @rx.event
    async def load_compare(self):
        """After the dashboard's load (catalog, blueprint): targets, baseline, an opened
        comparison (?comparison=<id>), the cost sentence and the leaderboard."""
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        views = await run_service(catalog.list_models, tier_slug=self._tier_slug or None)
        offline = next((m for m in views if m.provider == ProviderName.OFFLINE), None)
        self._baseline_model_id = offline.id if offline else 0
        self.baseline_label = offline.display_name if offline else ""
        self._providers = {str(m.id): PROVIDER_NAMES.get(m.provider, "") for m in views}
        self.target_models = [
            SignatureChoice(str(m.id), m.display_name)
            for m in views
            if m.provider != ProviderName.OFFLINE
        ]
        await self._refresh_signature_choices()
        allowed = {m.id for m in self.target_models}
        self.targets = [t for t in self.targets if t.model_id in allowed]
        if len(self.targets) < compare.MIN_TARGETS:
            self.targets = [TargetRow(m.id) for m in self.target_models[: compare.MIN_TARGETS]]
        opened = self.router.url.query_parameters.get("comparison")
        if opened:
            await self._open(user.user_id, str(opened))
        await self._refresh_cost(user.user_id)
        await self._refresh_leaderboard(user.user_id)
        return None

    async def _refresh_signature_choices(self) -> None:
        # Only blueprints that take a signature offer one (services/signatures.py).
        cards = (await self._picker()).cards if self.selected_blueprint_takes_signature else []
        self.signature_choices = [
            SignatureChoice(NO_SIGNATURE, "No signature"),
            *[SignatureChoice(str(card.id), card.name) for card in cards],
        ]
        if not cards:
            self.targets = [TargetRow(t.model_id) for t in self.targets]

    async def _open(self, user_id: uuid.UUID, comparison_id: str) -> None:
        views = await run_service(
            compare.load_comparison, user_id=user_id, comparison_id=comparison_id
        )
        if not views:
            self.compare_error = "That comparison is not in your history."
            return
        first = views[0]
        if first.template_id is not None:
            await self._select_blueprint(first.template_id, values=first.parameters)
            await self._refresh_signature_choices()
        self.comparison_id = comparison_id
        self.include_baseline = any(v.model_id == self._baseline_model_id for v in views)
        self.targets = [
            TargetRow(str(v.model_id), str(v.signature_id or 0))
            for v in views
            if v.model_id != self._baseline_model_id and v.model_id is not None
        ]
        self.columns = [
            _apply_view(
                CompareColumn(v.key, v.model_name, v.signature_name or "No signature"),
                v,
                self._providers.get(str(v.model_id), ""),
            )
            for v in views
        ]
        self._show_share(
            await run_service(
                shares.get_share_for_comparison, user_id=user_id, comparison_id=comparison_id
            )
        )

    def _show_share(self, view: shares.ShareView | None) -> None:
        self.compare_share_error = ""
        self.compare_share_url = (
            get_settings().app_url.rstrip("/") + urls.share(view.token) if view else ""
        )
        self.compare_share_images = view.include_images if view else False

    def _specs(self) -> list[ColumnSpec]:
        specs = [
            ColumnSpec(int(t.model_id), int(t.signature_id) or None)
            for t in self.targets
            if t.model_id.isdigit() and t.signature_id.isdigit()
        ]
        if self.include_baseline and self._baseline_model_id:
            specs.append(ColumnSpec(self._baseline_model_id, None))
        return specs

    async def _refresh_cost(self, user_id: uuid.UUID) -> None:
        plan = await run_service(
            compare.plan_columns, user_id=user_id, model_ids=[s.model_id for s in self._specs()]
        )
        self.cost_statement = plan.statement

    async def _refresh_leaderboard(self, user_id: uuid.UUID) -> None:
        if not self.selected_blueprint_id:
            self.leader_models, self.leader_signatures = [], []
            return
        board = await run_service(
            compare.leaderboard, user_id=user_id, template_id=self.selected_blueprint_id
        )
        self.leader_models = [LeaderRowView(r.name, r.wins, r.ups, r.downs) for r in board.models]
        self.leader_signatures = [
            LeaderRowView(r.name, r.wins, r.ups, r.downs) for r in board.signatures
        ]

    async def _after_target_change(self):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        self.compare_error = ""
        await self._refresh_cost(user.user_id)
        return None

    @rx.event
    async def pick_blueprint(self, blueprint_id: int):
        await self._select_blueprint(int(blueprint_id), keep_values=True)
        await self._refresh_signature_choices()
        user = await self._current_user()
        if user is not None:
            await self._refresh_leaderboard(user.user_id)

    @rx.event
    async def set_target_model(self, index: int, model_id: str):
        if 0 <= index < len(self.targets) and model_id in {m.id for m in self.target_models}:
            self.targets[index] = TargetRow(model_id, self.targets[index].signature_id)
        return await self._after_target_change()

    @rx.event
    async def set_target_signature(self, index: int, signature_id: str):
        if 0 <= index < len(self.targets) and signature_id in {
            s.id for s in self.signature_choices
        }:
            self.targets[index] = TargetRow(self.targets[index].model_id, signature_id)
        return await self._after_target_change()

    @rx.event
    async def add_target(self):
        if len(self.targets) < compare.MAX_TARGETS and self.target_models:
            used = {t.model_id for t in self.targets}
            free = [m.id for m in self.target_models if m.id not in used]
            self.targets.append(TargetRow(free[0] if free else self.target_models[0].id))
        return await self._after_target_change()

    @rx.event
    async def remove_target(self, index: int):
        if 0 <= index < len(self.targets) and len(self.targets) > compare.MIN_TARGETS:
            self.targets.pop(index)
        return await self._after_target_change()

    @rx.event
    async def set_include_baseline(self, value: bool):
        self.include_baseline = bool(value)
        return await self._after_target_change()

    @rx.event(background=True)
    async def run_compare(self, form_data: dict[str, Any]):
        # Background: columns stream for as long as the slowest provider takes, without
        # holding this page's state lock.
        async with self:
            if self.running:
                return
            user = await self._current_user()
            if user is None:
                yield rx.redirect(urls.sign_in_then(urls.COMPARE))
                return
            if not self.selected_blueprint_id:
                self.compare_error = "Pick a blueprint first."
                return
            specs = self._specs()
            try:
                compare.check_columns(specs, baseline=self.include_baseline)
            except compare.CompareError as exc:
                self.compare_error = exc.message
                return
            parameters = parameters_from_form(self.fields, form_data)
            blueprint_id = self.selected_blueprint_id
            try:
                errors = await run_service(
                    compare.check_parameters, blueprint_id=blueprint_id, parameters=parameters
                )
            except compare.CompareError as exc:  # the blueprint was retired meanwhile
                self.compare_error = exc.message
                return
            self.field_errors = errors
            if errors:
                self.compare_error = "Check the highlighted fields."
                return
            models = {m.id: m.label for m in self.models}
            signatures = {s.id: s.label for s in self.signature_choices}
            self.columns = [
                CompareColumn(
                    s.key,
                    models.get(str(s.model_id), ""),
                    signatures.get(str(s.signature_id or 0), "No signature"),
                    status="running",
                )
                for s in specs
            ]
            comparison_id = uuid.uuid4()
            self.comparison_id = str(comparison_id)
            self._show_share(None)  # a new comparison has no link yet
            self.compare_error = ""
            self.running = True
            owner = self._session_hash
            tab = self.router.session.client_token
        tasks: dict[int, asyncio.Task] = {}
        _COLUMN_TASKS[tab] = tasks

        async def on_delta(index: int, text: str) -> None:
            async with self:
                if self._session_hash == owner and index < len(self.columns):
                    column = self.columns[index]
                    self.columns[index] = dataclasses.replace(column, output=column.output + text)

        async def on_done(outcome: compare.ColumnOutcome) -> None:
            views = await run_service(
                compare.load_comparison, user_id=user.user_id, comparison_id=comparison_id
            )
            async with self:
                if self._session_hash != owner or outcome.index >= len(self.columns):
                    return
                column = dataclasses.replace(
                    self.columns[outcome.index],
                    status=outcome.status,
                    message=outcome.message if outcome.status != "succeeded" else "",
                    needs_key=outcome.needs_own_key,
                    output=outcome.output or self.columns[outcome.index].output,
                )
                view = next((v for v in views if v.key == column.key), None)
                if view is not None:
                    column = _apply_view(
                        column, view, self._providers.get(column.key.split(":")[0], "")
                    )
                    column = dataclasses.replace(column, status=outcome.status)
                self.columns[outcome.index] = column

        try:
            await compare.run_comparison(
                user_id=user.user_id,
                comparison_id=comparison_id,
                blueprint_id=blueprint_id,
                parameters=parameters,
                columns=specs,
                on_delta=on_delta,
                on_done=on_done,
                on_task=tasks.__setitem__,
            )
        finally:
            _COLUMN_TASKS.pop(tab, None)
            async with self:
                if self._session_hash == owner:
                    self.running = False
                    await self._load_plan(user.user_id)
                    await self._refresh_cost(user.user_id)

    @rx.event
    def cancel_column(self, index: int):
        task = _COLUMN_TASKS.get(self.router.session.client_token, {}).get(index)
        if task is not None:
            task.cancel()

    async def _reload_columns(self, user_id: uuid.UUID) -> None:
        views = {
            v.key: v
            for v in await run_service(
                compare.load_comparison, user_id=user_id, comparison_id=self.comparison_id
            )
        }
        self.columns = [
            _apply_view(c, views[c.key], self._providers.get(c.key.split(":")[0], ""))
            if c.key in views
            else c
            for c in self.columns
        ]
        await self._refresh_leaderboard(user_id)

    @rx.event
    async def vote(self, prompt_id: str, vote: int):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        current = next((c.vote for c in self.columns if c.prompt_id == prompt_id), 0)
        value = 0 if vote == current else max(-1, min(1, vote))  # again: clear it
        await run_service(compare.rate, user_id=user.user_id, prompt_id=prompt_id, vote=value)
        await self._reload_columns(user.user_id)
        return None

    @rx.event
    async def save_note(self, prompt_id: str, note: str):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        try:
            await run_service(compare.rate, user_id=user.user_id, prompt_id=prompt_id, note=note)
        except compare.CompareError as exc:
            self.compare_error = exc.message
            return None
        await self._reload_columns(user.user_id)
        return None

    @rx.event
    async def pick_winner(self, prompt_id: str):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        await run_service(compare.set_winner, user_id=user.user_id, prompt_id=prompt_id)
        await self._reload_columns(user.user_id)
        return None

    @rx.event
    async def export(self, fmt: str):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        if fmt not in ("json", "csv") or not self.comparison_id:
            return None
        exported = await run_service(
            compare.export_comparison,
            user_id=user.user_id,
            comparison_id=self.comparison_id,
            fmt=fmt,
        )
        if exported is None:
            return None
        filename, content = exported
        return rx.download(data=content, filename=filename)

    @rx.event
    async def share_comparison(self, include_images: bool):
        """Make (or update) the open comparison's public link; the service refuses a
        comparison that is not this user's."""
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        if self.running or not self.comparison_id:
            self.compare_share_error = "Wait for the comparison to finish before sharing it."
            return None
        try:
            view = await run_service(
                shares.share_comparison,
                user_id=user.user_id,
                comparison_id=self.comparison_id,
                include_images=bool(include_images),
            )
        except UserFacingError as exc:
            self.compare_share_error = exc.message
            return None
        self._show_share(view)
        return None

    @rx.event
    async def stop_sharing_comparison(self):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.COMPARE))
        if self.comparison_id:
            await run_service(
                shares.revoke_comparison_share,
                user_id=user.user_id,
                comparison_id=self.comparison_id,
            )
        self._show_share(None)
        return None

    @rx.var
    def can_rate(self) -> bool:
        return not self.running and self.comparison_id != ""
