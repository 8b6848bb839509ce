"""The Reflex app: pages, HTTP routes, lifespan tasks. Nothing else lives here."""

import reflex as rx
from reflex.utils import prerequisites

from promptgen import urls
from promptgen.api.app import build_api
from promptgen.api.edge import EdgeConfig, edge_transformer
from promptgen.api.session_cookie import hide_session_token
from promptgen.api.session_events import session_ended_listeners
from promptgen.api.stripe_webhook import subscription_listeners
from promptgen.logs import configure_logging
from promptgen.pages.auth import sign_in, sign_up
from promptgen.pages.blueprints import blueprint_builder, blueprint_list, blueprint_versions
from promptgen.pages.dashboard import dashboard
from promptgen.pages.history import history, history_detail
from promptgen.pages.public import landing, pricing
from promptgen.pages.recovery import email_verified, forgot_password, new_password
from promptgen.pages.settings import settings
from promptgen.settings import get_settings
from promptgen.state.auth import SignInState, SignUpState
from promptgen.state.base import TabOwner
from promptgen.state.blueprints import BlueprintListState, BuilderState, VersionsState
from promptgen.state.dashboard import DashboardState
from promptgen.state.guard import EventGuard, guard_socket, log_backend_exception
from promptgen.state.history import HistoryDetailState, HistoryState
from promptgen.state.live import push_plan_update
from promptgen.state.public import PublicState
from promptgen.state.recovery import RecoveryState
from promptgen.state.settings import SettingsState
from promptgen.tasks import retention_schedule, sweep_abandoned_generations

get_settings().check_production_secrets()
configure_logging()

# Our routes are mounted around Reflex's app, then everything (pages, routes, the websocket,
# uploads) is wrapped by the edge middleware: security headers, origin and size checks.
edge = EdgeConfig(
    app_url=get_settings().app_url,
    html_root=prerequisites.get_web_dir() / rx.constants.Dirs.STATIC,
)
app = rx.App(
    # The HTTP routes, the edge middleware (headers, origins, upload limits), and innermost
    # the one that keeps the session token out of Reflex.
    api_transformer=[build_api(), hide_session_token, edge_transformer(edge)],
    backend_exception_handler=log_backend_exception,
    stylesheets=["/styles.css"],
    head_components=[rx.el.meta(name="description", content="Build prompts worth keeping.")],
)

# Every event's arguments are checked against its handler's annotations before it runs.
app.add_middleware(EventGuard())
guard_socket(app)

app.add_page(landing, route=urls.LANDING, title="PromptGen", on_load=PublicState.load)
app.add_page(pricing, route=urls.PRICING, title="Pricing · PromptGen", on_load=PublicState.load)
app.add_page(
    sign_in,
    route=urls.SIGN_IN,
    title="Sign in · PromptGen",
    on_load=SignInState.load,
)
app.add_page(
    sign_up,
    route=urls.SIGN_UP,
    title="Sign up · PromptGen",
    on_load=SignUpState.load,
)
app.add_page(
    forgot_password,
    route=urls.FORGOT_PASSWORD,
    title="Forgot password · PromptGen",
    on_load=RecoveryState.load_forgot_password,
)
app.add_page(
    new_password,
    route=urls.NEW_PASSWORD,
    title="New password · PromptGen",
    on_load=RecoveryState.load_new_password,
)
app.add_page(
    email_verified,
    route=urls.EMAIL_VERIFIED,
    title="Email verification · PromptGen",
    on_load=RecoveryState.load_email_verified,
)
app.add_page(
    dashboard, route=urls.DASHBOARD, title="Dashboard · PromptGen", on_load=DashboardState.load
)
app.add_page(history, route=urls.HISTORY, title="History · PromptGen", on_load=HistoryState.load)
app.add_page(
    history_detail,
    route=urls.HISTORY_DETAIL,
    title="Generation · PromptGen",
    on_load=HistoryDetailState.load,
)
app.add_page(
    settings, route=urls.SETTINGS, title="Settings · PromptGen", on_load=SettingsState.load
)
app.add_page(
    blueprint_list,
    route=urls.BLUEPRINTS,
    title="My blueprints · PromptGen",
    on_load=BlueprintListState.load,
)
app.add_page(
    blueprint_builder,
    route=urls.BLUEPRINT_DETAIL,
    title="Blueprint builder · PromptGen",
    on_load=BuilderState.load,
)
app.add_page(
    blueprint_versions,
    route=urls.BLUEPRINT_VERSIONS,
    title="Blueprint versions · PromptGen",
    on_load=VersionsState.load,
)

# Before any event, a tab whose session changed forgets the previous user.
app.add_middleware(TabOwner(), index=0)

# Sessions ended by a form post (sign-out, password change or reset, someone else signing in)
# clear the user's open tabs at once (they would at their next event).
session_ended_listeners.append(lambda user_id: push_plan_update(app, user_id))

# Signed Stripe webhooks update every open tab of the user they concern.
subscription_listeners.append(lambda user_id: push_plan_update(app, user_id))

# Refund quota held by generations a crashed process left pending: at start, then periodically.
app.register_lifespan_task(sweep_abandoned_generations)
# The daily retention purge (one worker runs it, under an advisory lock).
app.register_lifespan_task(retention_schedule)
