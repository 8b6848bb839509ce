"""The yardstick for `python -m bench browser`: a blank Reflex app, configured as PromptGen is
(production build, one port, telemetry off, Radix Themes), with one button and one var."""

import reflex as rx

config = rx.Config(
    app_name="blank_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
