"""Settings' API tokens and import/export section; sharing on a history entry.

Thin: the services (api_tokens, shares) do the work and check ownership. A token's secret
never enters this state (it is shown once by the form post's answer, api/personal.py).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from promptgen import urls
from promptgen.errors import UserFacingError
from promptgen.services import api_tokens, shares
from promptgen.settings import get_settings
from promptgen.state.base import AuthState, run_service


@dataclasses.dataclass
class TokenRow:
    id: str
    name: str
    prefix: str
    scope: str
    created: str
    last_used: str


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


REVOKED = "The token is revoked; calls with it are refused from now on."


class ApiTokensState(AuthState):
    tokens: list[TokenRow] = []
    token_error: str = ""
    token_notice: str = ""

    async def _load_tokens(self, user_id) -> None:
        views = await run_service(api_tokens.list_tokens, user_id=user_id)
        self.tokens = [
            TokenRow(
                v.id,
                v.name,
                v.prefix + "…",
                api_tokens.SCOPES.get(v.scope, v.scope),
                _when(v.created_at),
                _when(v.last_used_at),
            )
            for v in views
        ]

    @rx.event
    async def load(self):
        user = await self._current_user()
        if user is None:
            return
        query = self.router.url.query_parameters
        self.token_error = api_tokens.TOKEN_ERRORS.get(str(query.get("token_error", "")), "")
        self.token_notice = REVOKED if query.get("token_revoked") == "1" else ""
        await self._load_tokens(user.user_id)

    @rx.event
    async def revoke(self, token_id: str):
        user = await self._current_user()
        if user is None:
            return
        done = await run_service(api_tokens.revoke_token, user_id=user.user_id, token_id=token_id)
        self.token_error = "" if done else "That token was already revoked."
        self.token_notice = REVOKED if done else ""
        await self._load_tokens(user.user_id)


class ShareState(AuthState):
    """The share panel of one history entry."""

    share_url: str = ""
    include_images: bool = False
    share_error: str = ""
    _prompt_id: str = ""

    def _path_prompt_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    def _show(self, view: shares.ShareView | None) -> None:
        self.share_url = get_settings().app_url.rstrip("/") + urls.share(view.token) if view else ""
        self.include_images = view.include_images if view else False

    @rx.event
    async def load(self):
        user = await self._current_user()
        self.share_error = ""
        self._prompt_id = self._path_prompt_id()
        if user is None:
            self._show(None)
            return
        view = await run_service(
            shares.get_share_for_prompt, user_id=user.user_id, prompt_id=self._prompt_id
        )
        self._show(view)

    @rx.event
    async def share(self, include_images: bool):
        """Make (or update) this entry's public link."""
        user = await self._current_user()
        if user is None:
            return
        try:
            view = await run_service(
                shares.share_generation,
                user_id=user.user_id,
                prompt_id=self._prompt_id,
                include_images=bool(include_images),
            )
        except UserFacingError as exc:
            self.share_error = exc.message
            return
        self.share_error = ""
        self._show(view)

    @rx.event
    async def stop_sharing(self):
        user = await self._current_user()
        if user is None:
            return
        await run_service(shares.revoke_share, user_id=user.user_id, prompt_id=self._prompt_id)
        self._show(None)
