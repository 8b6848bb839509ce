"""History: the user's own generations, newest first, and one generation in full."""

from __future__ import annotations

import base64
import dataclasses
import json

import reflex as rx

from promptgen import urls
from promptgen.services import history
from promptgen.services.pricing import format_cost
from promptgen.state.base import AuthState, run_service


@dataclasses.dataclass
class HistoryRow:
    id: str
    created: str
    blueprint: str
    signature: str
    model: str
    status: str
    snippet: str
    favorite: bool = False
    comparison_url: str = ""  # a compare-mode column: its whole comparison
    rating: str = ""


@dataclasses.dataclass
class AttachmentRow:
    filename: str
    label: str
    src: str


@dataclasses.dataclass
class ParameterRow:
    name: str
    value: str


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if value in (None, ""):
        return "—"
    return str(value) if not isinstance(value, dict) else json.dumps(value)


def _row(item: history.HistoryItem) -> HistoryRow:
    return HistoryRow(
        id=item.id,
        created=item.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        blueprint=item.template_name,
        signature=item.signature_name or "—",
        model=item.model_name,
        status=item.status,
        snippet=item.snippet,
        favorite=item.is_favorite,
        comparison_url=urls.comparison(item.comparison_id) if item.comparison_id else "",
        rating=item.rating,
    )


ALL = "all"  # the "no filter" value of the filter menus (Radix selects need a value)


class HistoryState(AuthState):
    rows: list[HistoryRow] = []
    loaded: bool = False
    search: str = ""
    blueprint_filter: str = ALL
    model_filter: str = ALL
    favorites_only: bool = False
    rating_filter: str = ALL
    blueprint_options: list[str] = []
    model_options: list[str] = []

    def _filters(self) -> dict:
        return {
            "query": self.search,
            "blueprint": "" if self.blueprint_filter == ALL else self.blueprint_filter,
            "model": "" if self.model_filter == ALL else self.model_filter,
            "favorites_only": self.favorites_only,
            "rating": "" if self.rating_filter == ALL else self.rating_filter,
        }

    def _show(self, items: list[history.HistoryItem]) -> None:
        self.rows = [_row(i) for i in items]
        self.loaded = True

    async def _reload(self, user_id) -> None:
        self._show(await run_service(history.list_history, user_id=user_id, **self._filters()))

    async def _user_or_redirect(self):
        user = await self._require_user()
        return (None, self._to_sign_in()) if user is None else (user.user_id, None)

    @rx.event
    async def load(self):
        page = await self._load_page(history.history_page, **self._filters())
        if page.data is None:
            return self._to_sign_in()
        filters, items = page.data
        self.blueprint_options = [ALL, *filters.blueprints]
        self.model_options = [ALL, *filters.models]
        self._show(items)
        return None

    @rx.event
    async def apply_filters(self, form_data: dict):
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        self.search = str(form_data.get("search", ""))[:200]
        await self._reload(user_id)
        return None

    @rx.event
    async def set_blueprint_filter(self, value: str):
        self.blueprint_filter = value
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        await self._reload(user_id)
        return None

    @rx.event
    async def set_model_filter(self, value: str):
        self.model_filter = value
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        await self._reload(user_id)
        return None

    @rx.event
    async def set_rating_filter(self, value: str):
        self.rating_filter = value if value in (ALL, *history.RATING_FILTERS) else ALL
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        await self._reload(user_id)
        return None

    @rx.event
    async def set_favorites_only(self, value: bool):
        self.favorites_only = bool(value)
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        await self._reload(user_id)
        return None

    @rx.event
    async def toggle_favorite(self, prompt_id: str):
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        current = next((r.favorite for r in self.rows if r.id == prompt_id), False)
        await run_service(
            history.set_favorite, user_id=user_id, prompt_id=prompt_id, favorite=not current
        )
        await self._reload(user_id)
        return None

    @rx.event
    async def delete(self, prompt_id: str):
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        await run_service(history.delete_prompt, user_id=user_id, prompt_id=prompt_id)
        await self._reload(user_id)
        return None

    @rx.event
    async def export(self, fmt: str):
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        if fmt not in ("json", "csv"):
            return None
        filename, content = await run_service(history.export_history, user_id=user_id, fmt=fmt)
        return rx.download(data=content, filename=filename)


class HistoryDetailState(AuthState):
    found: bool = False
    loaded: bool = False
    detail: HistoryRow | None = None
    parameters: list[ParameterRow] = []
    compiled_prompt: str = ""
    output: str = ""
    error_message: str = ""
    tokens: str = ""
    latency: str = ""
    key_source: str = ""
    cost: str = ""
    attachments: list[AttachmentRow] = []
    # For a generation made with one of the user's blueprints: "v2" and its versions page.
    blueprint_version: str = ""
    blueprint_versions_url: str = ""

    @rx.event
    async def load(self):
        prompt_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        page = await self._load_page(history.get_history_item, prompt_id=prompt_id)
        if page.user is None:
            return self._to_sign_in()
        found = page.data
        self.loaded = True
        self.found = found is not None
        if found is None:
            self.detail = None
            return None
        self.detail = _row(found.item)
        own = found.user_blueprint_id
        self.blueprint_version = f"v{found.blueprint_version}" if own else ""
        self.blueprint_versions_url = urls.blueprint_versions(own) if own else ""
        self.parameters = [ParameterRow(k, _format_value(v)) for k, v in found.parameters.items()]
        self.compiled_prompt = found.compiled_prompt
        self.output = found.output
        self.error_message = found.error_message or ""
        tokens = (found.input_tokens, found.output_tokens)
        self.tokens = (
            "—" if tokens == (None, None) else f"{tokens[0] or 0} in / {tokens[1] or 0} out"
        )
        self.latency = "—" if found.latency_ms is None else f"{found.latency_ms} ms"
        self.key_source = history.key_source_label(found.item.key_source)
        self.cost = format_cost(found.estimated_cost_micros)
        self.attachments = [
            AttachmentRow(
                a.filename,
                f"{a.filename} ({a.size_bytes // 1024} KB)",
                f"data:{a.mime_type};base64,{base64.b64encode(a.data).decode()}",
            )
            for a in found.attachments
        ]
        return None

    @rx.event
    def retry(self):
        """Back to the dashboard with this generation's inputs filled in."""
        if self.detail is None:
            return None
        return rx.redirect(urls.retry(self.detail.id))
