"""Settings: the plan, and the user's own API keys (shown by provider and last four only)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from promptgen import urls
from promptgen.errors import UserFacingError
from promptgen.services import account_deletion, accounts, billing, checkout, keys, recovery
from promptgen.state.base import AuthState, run_service


@dataclasses.dataclass
class KeyRow:
    provider: str
    provider_name: str
    last_four: str
    added: str
    last_used: str


# What Settings says after an account form's redirect, by the code in its query.
ACCOUNT_NOTICES = {
    "verification-sent": "We sent you a new verification link. Check your inbox.",
    "verification-recent": (
        "We sent you a verification link less than a minute ago. Check your inbox."
    ),
    "already-verified": "Your email address is already verified.",
    "email-changed": (
        "Your email address is changed. We sent a verification link to the new address."
    ),
    "password-changed": "Your password is changed. Your other devices were signed out.",
}


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


class SettingsState(AuthState):
    api_keys: list[KeyRow] = []
    key_notice: str = ""
    key_error: str = ""
    test_results: dict[str, str] = {}
    checkout_notice: str = ""
    billing_error: str = ""
    delete_error: str = ""
    email_verified: bool = False
    account_notice: str = ""
    account_error: str = ""

    async def _load_keys(self, user_id) -> None:
        self._show_keys(await run_service(keys.list_keys, user_id=user_id))

    def _show_keys(self, views: list[keys.KeyView]) -> None:
        self.api_keys = [
            KeyRow(
                v.provider, v.provider_name, v.last_four, _when(v.created_at), _when(v.last_used_at)
            )
            for v in views
        ]

    @rx.event
    async def load(self):
        page = await self._load_page(keys.settings_page)
        if page.data is None:
            return self._to_sign_in()
        query = self.router.url.query_parameters
        saved = query.get("key_saved", "")
        self.key_notice = (
            f"Your {keys.PROVIDER_NAMES[saved]} key is saved. Only its last four characters "
            "are shown from now on."
            if saved in keys.PROVIDER_NAMES
            else ""
        )
        self.key_error = str(query.get("key_error", ""))[:300]
        self.billing_error = ""
        self.checkout_notice = (
            "Thank you! Your new plan shows here as soon as Stripe confirms the payment."
            if query.get("checkout") == "success"
            else ""
        )
        self.test_results = {}
        self.account_notice = ACCOUNT_NOTICES.get(str(query.get("account", "")), "")
        self.account_error = recovery.MESSAGES.get(str(query.get("account_error", "")), "")
        self.email_verified, key_views = page.data
        self._show_keys(key_views)
        return None

    @rx.event(background=True)
    async def test_key(self, provider: str):
        async with self:
            user = await self._require_user()
            if user is None or provider not in keys.PROVIDER_NAMES:
                return
            self.test_results = {**self.test_results, provider: "Testing…"}
        verdict = await keys.verify_key(user_id=user.user_id, provider=provider)
        async with self:
            self.test_results = {**self.test_results, provider: verdict}

    @rx.event
    async def delete_key(self, provider: str):
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        if await run_service(keys.delete_key, user_id=user.user_id, provider=provider):
            self.key_notice = f"Your {keys.PROVIDER_NAMES.get(provider, provider)} key is deleted."
            self.key_error = ""
        await self._load_keys(user.user_id)
        return None

    @rx.event
    async def manage_billing(self):
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        try:
            url = await run_service(checkout.open_portal, user_id=user.user_id)
        except UserFacingError as exc:
            self.billing_error = exc.message
            return None
        return rx.redirect(url)

    @rx.event
    async def delete_account(self, form_data: dict):
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        try:
            await run_service(
                account_deletion.delete_account,
                user_id=user.user_id,
                password=str(form_data.get("password", "")),
                client_ip=self.router.session.client_ip,
            )
        except accounts.AccountError as exc:  # wrong password, or too many tries
            self.delete_error = exc.message
            return None
        except billing.BillingError as exc:
            self.delete_error = f"{exc.message} Your account was not deleted."
            return None
        await self._clear_session()
        return rx.redirect(urls.LANDING + "?account=deleted")
