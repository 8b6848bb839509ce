"""LOG_LEVEL, applied once per process (the app's workers and the CLI)."""

from __future__ import annotations

import logging

from promptgen.settings import get_settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "promptgen-stderr"


def configure_logging(level: str | None = None) -> None:
    """Set LOG_LEVEL on our loggers and the root logger, and give the root a stderr handler
    when nothing else (a test runner, a server) has configured one."""
    level = level or get_settings().log_level
    logging.getLogger("promptgen").setLevel(level)
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
