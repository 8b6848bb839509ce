"""The Reflex app: pages, HTTP routes, lifespan tasks. Nothing else lives here."""

import os

import reflex as rx
from reflex.utils import prerequisites, processes
from reflex_base.environment import environment

from promptgen.api.app import build_api
from promptgen.api.edge import EdgeConfig, edge_transformer
from promptgen.api.session_cookie import hide_session_token
from promptgen.api.session_events import session_ended_listeners
from promptgen.api.stripe_webhook import subscription_listeners
from promptgen.db import share_connections_among
from promptgen.logs import configure_logging
from promptgen.pages import all_pages
from promptgen.providers import preload_sdks
from promptgen.services.realtime import listen_for_cancels
from promptgen.settings import get_settings
from promptgen.state.base import TabOwner
from promptgen.state.guard import EventGuard, guard_socket, log_backend_exception
from promptgen.state.live import push_plan_update
from promptgen.tasks import retention_schedule, sweep_abandoned_generations

get_settings().check_production_secrets()
configure_logging()


def backend_workers() -> int:
    """How many backend processes `reflex run` starts for this instance, by Reflex's own
    rule: one in development; in production GRANIAN_WORKERS, else one without Redis and
    2 x cores + 1 (at most 8) with it."""
    if environment.REFLEX_ENV_MODE.get() != rx.constants.Env.PROD:
        return 1
    return int(os.environ.get("GRANIAN_WORKERS") or processes.get_num_workers())


# The workers split DATABASE_MAX_CONNECTIONS evenly (promptgen.db.connection_share).
share_connections_among(backend_workers())
# The AI SDKs load here, once, not at a worker's first generation (see preload_sdks).
preload_sdks()

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
    head_components=[
        # favicon.ico is served from assets/ at /favicon.ico; browsers that take SVG use this.
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        # Focus and scroll requests from the server, with no eval (assets/studio.js).
        rx.el.script(src="/studio.js", defer=True),
    ],
)

# Link previews (chat apps, social sites) show the page's title, this line and og-image.png.
DESCRIPTION = "Build prompts worth keeping: blueprints, visual signatures and AI refinement."
SOCIAL_IMAGE = f"{get_settings().app_url.rstrip('/')}/og-image.png"

# Every event's arguments are checked against its handler's annotations before it runs.
app.add_middleware(EventGuard())
guard_socket(app)

for registered in all_pages():
    app.add_page(
        registered.component,
        route=registered.route,
        title=registered.title,
        on_load=registered.on_load,
        description=DESCRIPTION,
        image=SOCIAL_IMAGE,
        meta=[
            {"property": "og:title", "content": registered.title},
            {"property": "og:description", "content": DESCRIPTION},
            {"property": "og:type", "content": "website"},
            {"name": "twitter:card", "content": "summary_large_image"},
        ],
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
# With REDIS_URL: a Cancel that reached another instance stops the run here.
app.register_lifespan_task(listen_for_cancels)
