"""Saving what the user types on the dashboard as a draft (services/drafts.py), and Clear.

The form reports its values on change (debounced by the page) and when a field loses focus
(components/draft_form.py), so a draft is one small write per pause, not per keystroke.
Each report carries the blueprint and form version it was typed into: a late report from a
form that was switched away or cleared since is ignored rather than saved under the wrong
blueprint.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import reflex as rx

from promptgen import urls
from promptgen.services import drafts
from promptgen.services.signatures import SignatureChoice
from promptgen.state.base import run_service
from promptgen.state.dashboard import (
    DashboardState,
    GenerationState,
    parameters_from_form,
    store_draft,
)

# The hidden field a draft form carries: "<blueprint id>:<form version>".
FORM_STAMP_FIELD = "__form_stamp"


def _digest(values: dict[str, Any], choices: tuple[SignatureChoice, ...]) -> str:
    payload = json.dumps(
        [values, [(c.signature_id, c.weight) for c in choices]], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class FormDraftState(DashboardState):
    draft_notice: str = ""
    # What was last written, so an unchanged form is not written again (and a report that
    # arrives after Generate removed the draft does not bring it back).
    _saved_digest: str = ""

    async def _save(
        self, user_id: uuid.UUID, values: dict[str, Any], choices: tuple[SignatureChoice, ...]
    ) -> None:
        digest = self._unsaved(values, choices)
        if digest is not None:
            notice = await store_draft(user_id, self.selected_blueprint_id, values, choices)
            self._stored(digest, notice)

    def _unsaved(self, values: dict[str, Any], choices: tuple[SignatureChoice, ...]) -> str | None:
        """The digest of a form that differs from what was last written, else None."""
        digest = _digest(values, choices)
        return None if digest == self._saved_digest else digest

    def _stored(self, digest: str, notice: str) -> None:
        """After `store_draft`: "" means written (as `digest`), else why it was not."""
        if self.draft_notice != notice:  # written only when it changes: no redraw for nothing
            self.draft_notice = notice
        if not notice:
            self._saved_digest = digest

    @rx.event
    async def save_draft(self, form_data: dict[str, Any]):
        stamp = f"{self.selected_blueprint_id}:{self.form_version}"
        if not self.selected_blueprint_id or (await self.get_state(GenerationState))._running:
            return None
        if str(form_data.get(FORM_STAMP_FIELD, "")) != stamp:
            return None  # typed into a form that is no longer on screen
        picker = await self._picker()
        choices = picker._choices() if self.selected_blueprint_takes_signature else ()
        values = parameters_from_form(self.fields, form_data)
        if _digest(values, choices) == self._saved_digest:
            return None  # nothing new: no database work at all
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.DASHBOARD))
        # The same report moves the live prompt preview (one event per pause, not per key).
        await (await self.get_state(DashboardState))._show_values(values)
        await self._save(user.user_id, values, choices)
        return None

    @rx.event
    async def clear_form(self):
        """Back to the blueprint's defaults, with no signatures, and forget the draft."""
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.DASHBOARD))
        if not self.selected_blueprint_id:
            return None
        await run_service(
            drafts.clear_draft, user_id=user.user_id, blueprint_id=self.selected_blueprint_id
        )
        self._saved_digest = ""
        self.draft_notice = ""
        await self._select_blueprint(self.selected_blueprint_id, values={})
        self.form_notice = ""
        return None
