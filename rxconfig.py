"""Reflex configuration. Values come from promptgen.settings (the environment)."""

import reflex as rx

from promptgen.settings import get_settings
from promptgen.styles import THEME

settings = get_settings()

config = rx.Config(
    app_name="promptgen",
    telemetry_enabled=False,
    frontend_port=settings.port,
    backend_port=settings.port,
    deploy_url=settings.app_url,
    # Starlette's CORS and the socket.io server accept only the app's own origin, so no other
    # site can read our responses or open the websocket with a user's cookies.
    cors_allowed_origins=[settings.app_origin],
    # The websocket resolves the client's address with the same rule as our HTTP routes.
    trusted_proxy_hops=settings.trusted_proxy_hops,
    # Our tables and migrations are ours (SQLModel + Alembic in promptgen/db.py); leaving
    # Reflex's own db_url unset keeps `reflex run` from checking a second migration setup.
    db_url=None,
    redis_url=settings.redis_url,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=THEME),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
