"""History: the user's own generations, newest first, and one generation in full."""

from __future__ import annotations

import dataclasses
import json

import reflex as rx

from promptgen import routes
from promptgen.services import history
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
    )


class HistoryState(AuthState):
    rows: list[HistoryRow] = []
    loaded: bool = False

    @rx.event
    async def load(self):
        user_id = await self._refresh_user()
        if user_id is None:
            return rx.redirect(routes.sign_in_then(routes.HISTORY))
        items = await run_service(history.list_history, user_id=user_id)
        self.rows = [_row(i) for i in items]
        self.loaded = True
        return None


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

    @rx.event
    async def load(self):
        path = self.router.url.path
        user_id = await self._refresh_user()
        if user_id is None:
            return rx.redirect(routes.sign_in_then(path))
        prompt_id = path.rstrip("/").rsplit("/", 1)[-1]
        found = await run_service(history.get_history_item, user_id=user_id, prompt_id=prompt_id)
        self.loaded = True
        self.found = found is not None
        if found is None:
            self.detail = None
            return None
        self.detail = _row(found.item)
        self.parameters = [ParameterRow(k, _format_value(v)) for k, v in found.parameters.items()]
        self.compiled_prompt = found.compiled_prompt
        self.output = found.output
        self.error_message = found.error_message or ""
        tokens = (found.input_tokens, found.output_tokens)
        self.tokens = (
            "—" if tokens == (None, None) else f"{tokens[0] or 0} in / {tokens[1] or 0} out"
        )
        self.latency = "—" if found.latency_ms is None else f"{found.latency_ms} ms"
        self.key_source = {"platform": "Platform key", "own_key": "Your own key"}.get(
            found.item.key_source, "Offline (no key)"
        )
        return None

    @rx.event
    def copy_output(self):
        return [rx.set_clipboard(self.output), rx.toast.success("Copied to clipboard")]
