"""Every page declares itself with `@page(route, title, on_load)`; the app adds them all.

A new page is a module in this package with a decorated function: `all_pages()` imports each
module here, so nothing else needs to know about it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx

APP_NAME = "PromptGen"


@dataclass(frozen=True)
class Page:
    route: str
    title: str
    component: Callable[[], rx.Component]
    on_load: Any = None


_PAGES: dict[str, Page] = {}


def page(route: str, title: str = "", on_load: Any = None):
    """Register the decorated function as the page at `route`. The browser tab reads
    "<title> · PromptGen" (just "PromptGen" without a title)."""

    def register(component: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        if route in _PAGES and _PAGES[route].component is not component:
            raise ValueError(f"two pages claim {route}")
        full_title = f"{title} · {APP_NAME}" if title else APP_NAME
        _PAGES[route] = Page(route, full_title, component, on_load)
        return component

    return register


def all_pages() -> list[Page]:
    """Every registered page, after importing each page module of this package."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return list(_PAGES.values())
