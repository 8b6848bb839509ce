"""Quota warnings: at 80% and at 100% of the month's quota the badge and the dashboard say
so, once per level and period (a dismissal is remembered in this browser), with two ways on:
upgrade (the Customer Portal when already paying, else the pricing page) or add a key."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.state.base import AuthState

WARN_AT_PERCENT = 80


class QuotaWarningState(AuthState):
    # "<level>:<reset date>" of the last warning dismissed here; not a secret (a level and a
    # date), kept in localStorage so it is remembered across visits.
    dismissed_warning: str = rx.LocalStorage("", name="promptgen_quota_warning")

    @rx.var
    def quota_warning_level(self) -> int:
        """100 when the quota is used up, 80 from 80%, else 0."""
        if self.monthly_quota <= 0 or not self.signed_in:
            return 0
        if self.usage_count >= self.monthly_quota:
            return 100
        if self.usage_count * 100 >= self.monthly_quota * WARN_AT_PERCENT:
            return 80
        return 0

    @rx.var
    def quota_warning_key(self) -> str:
        return f"{self.quota_warning_level}:{self.usage_resets_on}"

    @rx.var
    def show_quota_warning(self) -> bool:
        return self.quota_warning_level > 0 and self.dismissed_warning != self.quota_warning_key

    @rx.var
    def quota_warning_text(self) -> str:
        if self.quota_warning_level == 100:
            return (
                f"You have used all {self.monthly_quota} generations of this month's plan. "
                f"It resets on {self.usage_resets_on}; until then, upgrade or use your own "
                "API key."
            )
        if self.quota_warning_level == 80:
            left = self.monthly_quota - self.usage_count
            return (
                f"You have used {self.usage_count} of {self.monthly_quota} generations this "
                f"month ({left} left, resets {self.usage_resets_on})."
            )
        return ""

    @rx.var
    def quota_badge_warning(self) -> str:
        return {100: "limit reached", 80: "80% used"}.get(self.quota_warning_level, "")

    @rx.var
    def is_paying(self) -> bool:
        return self._tier_slug not in ("", "free")

    @rx.event
    def dismiss_quota_warning(self):
        self.dismissed_warning = self.quota_warning_key

    @rx.event
    def upgrade(self):
        """Already paying: change plan in Stripe's portal. Otherwise: the plans."""
        if self.is_paying:
            return AuthState.open_billing_portal
        return rx.redirect(urls.PRICING)
