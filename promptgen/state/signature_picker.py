"""The visual signature picker of the dashboard: up to three weighted picks, previews,
search and favourites (past SEARCH_THRESHOLD signatures).

A substate of DashboardState, so the dashboard's own state stays about the form; the
dashboard asks it for `_choices()` when generating and resets it on a blueprint switch.
The mixing rules themselves live in services/signatures.py.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from promptgen import urls
from promptgen.services import catalog, signatures
from promptgen.services.signatures import (
    DEFAULT_WEIGHT,
    MAX_SIGNATURES,
    MAX_WEIGHT,
    MIN_WEIGHT,
    SEARCH_THRESHOLD,
    SignatureChoice,
)
from promptgen.state.base import run_service
from promptgen.state.dashboard import DashboardState


@dataclasses.dataclass
class PickerCard:
    id: int
    name: str
    description: str
    image_url: str  # "" when the signature has no preview image: `swatch` is drawn instead
    swatch: str
    favorite: bool = False


@dataclasses.dataclass
class Pick:
    id: int
    name: str
    weight: int
    share: int  # percent of the mix


class SignaturePickerState(DashboardState):
    cards: list[PickerCard] = []
    picks: list[Pick] = []
    search: str = ""
    favorites_only: bool = False
    picker_error: str = ""

    # --- called by DashboardState -------------------------------------------------

    def _load_cards(self, views: list[catalog.SignatureView], favorites: set[int]) -> None:
        """The cards from the page load's catalog and the user's favourites (services/studio)."""
        self.cards = [
            PickerCard(
                id=v.id,
                name=v.name,
                description=v.description,
                image_url=signatures.preview_url(v.slug, v.preview_sha256)
                if v.preview_sha256
                else "",
                swatch=signatures.swatch_gradient(v.palette),
                favorite=v.id in favorites,
            )
            for v in views
        ]
        known = {c.id for c in self.cards}
        self._set_picks([SignatureChoice(p.id, p.weight) for p in self.picks if p.id in known])

    def _set_picks(self, choices: list[SignatureChoice] | tuple[SignatureChoice, ...]) -> None:
        names = {c.id: c.name for c in self.cards}
        kept = [c for c in choices if c.signature_id in names][:MAX_SIGNATURES]
        shares = signatures.shares([c.weight for c in kept])
        self.picks = [
            Pick(c.signature_id, names[c.signature_id], c.weight, share)
            for c, share in zip(kept, shares, strict=True)
        ]
        self.picker_error = ""

    def _choices(self) -> tuple[SignatureChoice, ...]:
        return tuple(SignatureChoice(p.id, p.weight) for p in self.picks)

    # --- what the page shows ------------------------------------------------------

    @rx.var
    def show_search(self) -> bool:
        return len(self.cards) > SEARCH_THRESHOLD

    @rx.var
    def picked_ids(self) -> list[int]:
        return [p.id for p in self.picks]

    @rx.var
    def at_limit(self) -> bool:
        return len(self.picks) >= MAX_SIGNATURES

    @rx.var
    def visible_cards(self) -> list[PickerCard]:
        cards = self.cards
        if len(cards) <= SEARCH_THRESHOLD:
            return cards
        needle = self.search.strip().casefold()
        if needle:
            cards = [c for c in cards if needle in f"{c.name} {c.description}".casefold()]
        if self.favorites_only:
            cards = [c for c in cards if c.favorite]
        return sorted(cards, key=lambda c: not c.favorite)  # favourites first, order kept

    @rx.var
    def mix_summary(self) -> str:
        if len(self.picks) < 2:
            return ""
        return " · ".join(
            f"{p.name} {p.share}%" for p in sorted(self.picks, key=lambda p: -p.share)
        )

    # --- events -------------------------------------------------------------------

    @rx.event
    def toggle_signature(self, signature_id: int):
        choices = [SignatureChoice(p.id, p.weight) for p in self.picks]
        if signature_id in {c.signature_id for c in choices}:
            self._set_picks([c for c in choices if c.signature_id != signature_id])
            return
        if signature_id not in {c.id for c in self.cards}:
            return
        if len(choices) >= MAX_SIGNATURES:
            self.picker_error = (
                f"Pick at most {MAX_SIGNATURES} signatures; remove one to add another."
            )
            return
        self._set_picks([*choices, SignatureChoice(signature_id, DEFAULT_WEIGHT)])

    @rx.event
    def set_weight(self, signature_id: int, weight: str):
        try:
            value = int(str(weight).strip())
        except ValueError:
            value = -1
        if not MIN_WEIGHT <= value <= MAX_WEIGHT:
            self.picker_error = f"Weights go from {MIN_WEIGHT} to {MAX_WEIGHT}."
            return
        self._set_picks(
            [SignatureChoice(p.id, value if p.id == signature_id else p.weight) for p in self.picks]
        )

    @rx.event
    def clear_signatures(self):
        self._set_picks([])

    @rx.event
    def set_search(self, text: str):
        self.search = text[:100]

    @rx.event
    def toggle_favorites_only(self):
        self.favorites_only = not self.favorites_only

    @rx.event
    async def toggle_favorite(self, signature_id: int):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(urls.DASHBOARD))
        card = next((c for c in self.cards if c.id == signature_id), None)
        if card is None:
            return None
        favorites = await run_service(
            signatures.set_favorite,
            user_id=user.user_id,
            signature_id=signature_id,
            favorite=not card.favorite,
        )
        self.cards = [dataclasses.replace(c, favorite=c.id in favorites) for c in self.cards]
        return None
