"""A page load costs two units of work: the session lookup and one user transaction.

Counted on the real engines (both roles) with SQLAlchemy's cursor and transaction events,
through the loaders the pages use. On PostgreSQL the session lookup is one statement on
psycopg's async driver (accounts.find_session_user), outside SQLAlchemy: these events see
only the user transaction, and the lookup is checked by what it returns. The user
transaction's scope setting (RESET ALL and the signed user id, db.user_session_scope) is sent
on the driver connection directly, so it is one more round trip that these events do not see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from promptgen.db import admin_session_scope
from promptgen.services import catalog, history, keys, studio
from promptgen.services.accounts import hash_token
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.page_loads import load_page
from tests.support.factories import make_user


@dataclass
class Traffic:
    transactions: int = 0
    statements: list[str] = field(default_factory=list)


@contextmanager
def counted() -> Iterator[Traffic]:
    traffic = Traffic()

    def on_begin(_conn) -> None:
        traffic.transactions += 1

    def on_statement(_conn, _cursor, statement, *_args) -> None:
        traffic.statements.append(" ".join(statement.split())[:120])

    sa.event.listen(sa.engine.Engine, "begin", on_begin)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_statement)
    try:
        yield traffic
    finally:
        sa.event.remove(sa.engine.Engine, "begin", on_begin)
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", on_statement)


@pytest.fixture
def signed_in_hash(pg_url: str) -> str:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        user = make_user(session)
    return hash_token(user.token)


def _load(token_hash: str, loader, **kwargs):
    return asyncio.run(load_page(token_hash, loader, **kwargs))


def test_the_dashboard_load_is_the_session_lookup_and_one_transaction(signed_in_hash: str):
    _load(signed_in_hash, studio.load_studio)  # warm: the process reads its scope secret once
    with counted() as traffic:
        page = _load(signed_in_hash, studio.load_studio)

    assert page.user is not None and page.user.email == "user@example.com"
    assert page.plan is not None and page.plan.tier_name == "Free"
    assert "Code review" in {b.name for b in page.data.catalog.blueprints}
    assert page.data.catalog.signatures
    access = {m.model.display_name: m.access for m in page.data.models}
    assert access["Blueprint compiler (offline)"] == studio.READY
    assert access["GPT-4.1"] == studio.UPGRADE  # a Pro model, on the Free plan
    assert traffic.transactions == 1, traffic.statements
    # The plan, the user's key providers, blueprints, signatures, models, and the draft to
    # reopen (favourites only past 12 signatures).
    assert len(traffic.statements) <= 6, traffic.statements


@pytest.mark.parametrize(
    ("loader", "kwargs"),
    [
        (history.history_page, {}),
        (history.get_history_item, {"prompt_id": "00000000-0000-0000-0000-000000000000"}),
        (keys.settings_page, {}),
        (catalog.public_catalog, {}),
    ],
)
def test_every_signed_in_page_load_is_the_lookup_and_one_transaction(
    signed_in_hash: str, loader, kwargs
):
    _load(signed_in_hash, loader, **kwargs)
    with counted() as traffic:
        page = _load(signed_in_hash, loader, **kwargs)
    assert page.user is not None
    assert traffic.transactions == 1, traffic.statements


def test_a_signed_out_visitor_costs_one_transaction_and_no_session_lookup(signed_in_hash: str):
    with counted() as traffic:
        page = _load("", catalog.public_catalog)
    assert page.user is None
    assert [b.name for b in page.data[0]]
    assert traffic.transactions == 1, traffic.statements
    with counted() as traffic:
        page = _load("", studio.load_studio)
    assert page.user is None and page.data is None  # it reads a user's keys: none to read
    assert traffic.transactions == 0
