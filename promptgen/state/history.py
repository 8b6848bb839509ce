"""History: the user's own generations, newest first, and one generation in full."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime

import reflex as rx

from promptgen import urls
from promptgen.services import history
from promptgen.services.images import human_size
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
    label: str  # "vase.png (4.2 KB)"
    size: str  # "4.2 KB"
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


def _parameter_rows(found: history.HistoryDetail) -> list[ParameterRow]:
    """The inputs under the blueprint's own field labels, in its form's order (choices by
    their labels too); inputs the blueprint no longer has keep a readable form of their key."""
    rows = []
    values = dict(found.parameters)
    for spec in found.fields:
        if spec.name not in values:
            continue
        value = values.pop(spec.name)
        labels = dict(zip(spec.options, spec.option_labels, strict=False))
        if labels and isinstance(value, list):
            value = [labels.get(v, v) for v in value]
        elif labels and isinstance(value, str):
            value = labels.get(value, value)
        rows.append(ParameterRow(spec.title, _format_value(value)))
    for name, value in values.items():
        rows.append(ParameterRow(name.replace("_", " ").capitalize(), _format_value(value)))
    return rows


def _iso(moment: datetime) -> str:
    """An ISO time with its offset: the browser shows it in the viewer's own time zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _row(item: history.HistoryItem) -> HistoryRow:
    return HistoryRow(
        id=item.id,
        created=_iso(item.created_at),
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
    total: int = 0  # how many generations match the filters (rows holds the pages shown)
    # Where the next page starts (a keyset cursor); "" when every match is shown.
    _next_after: str = ""
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

    def _show(self, items: list[history.HistoryItem], total: int, *, append: bool = False) -> None:
        shown = [_row(i) for i in items]
        self.rows = [*self.rows, *shown] if append else shown
        self.total = total
        full_page = bool(items) and len(self.rows) < total
        self._next_after = history.page_cursor(items[-1]) if full_page else ""
        self.loaded = True

    async def _reload(self, user_id) -> None:
        """The rows again after a change: as many as were shown (at least one page)."""
        keep = max(len(self.rows), history.PAGE_SIZE)
        items, total = await run_service(
            history.history_rows, user_id=user_id, limit=keep, **self._filters()
        )
        self._show(items, total)

    @rx.var
    def has_more(self) -> bool:
        return self.loaded and len(self.rows) < self.total

    @rx.var
    def count_label(self) -> str:
        if self.total == 0:
            return ""
        noun = "generation" if self.total == 1 else "generations"
        if len(self.rows) >= self.total:
            return f"{self.total:,} {noun}"
        return f"Showing {len(self.rows):,} of {self.total:,} {noun}"

    async def _user_or_redirect(self):
        user = await self._require_user()
        return (None, self._to_sign_in()) if user is None else (user.user_id, None)

    @rx.event
    async def load(self):
        page = await self._load_page(history.history_page, **self._filters())
        if page.data is None:
            return self._to_sign_in()
        filters, items, total = page.data
        self.blueprint_options = [ALL, *filters.blueprints]
        self.model_options = [ALL, *filters.models]
        self._show(items, total)
        return None

    @rx.event
    async def load_more(self):
        """The next page, after the last row shown (keyset: nothing repeats or is skipped
        when new generations arrive meanwhile)."""
        user_id, redirect = await self._user_or_redirect()
        if redirect:
            return redirect
        if not self._next_after:
            return None
        items, total = await run_service(
            history.history_rows, user_id=user_id, after=self._next_after, **self._filters()
        )
        self._show(items, total, append=True)
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
        self.parameters = _parameter_rows(found)
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
                f"{a.filename} ({human_size(a.size_bytes)})",
                human_size(a.size_bytes),
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
