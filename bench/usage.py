"""Usage page benchmark (issue 15): one user with 20,000 generations over the current and
previous quota periods (and older ones around them); time the page's whole data load,
`usage.usage_report` in the user's row-level-security session, as the page runs it.
Must stay under 0.5 s."""

from __future__ import annotations

import time

import sqlalchemy as sa

from bench.support import postgres_database, save, summary_ms
from promptgen.db import admin_session_scope, get_engine, user_session_scope
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.usage import usage_report
from tests.support.factories import make_user

ROWS = 20_000
OTHER_USERS, OTHER_ROWS = 20, 2_000  # other users' rows in the same table
RUNS = 30
BUDGET_S = 0.5


def _fill() -> object:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        user_id = make_user(session, "heavy@example.com").user_id
        others = [make_user(session, f"o{i}@example.com").user_id for i in range(OTHER_USERS)]
    insert = sa.text(
        "INSERT INTO user_prompts (id, user_id, template_name, signature_name, model_name, "
        "parameters, compiled_prompt, output, input_tokens, output_tokens, key_source, "
        "quota_reserved, status, latency_ms, is_favorite, created_at, estimated_cost_micros) "
        "SELECT gen_random_uuid(), :u, 'Product photo', '', "
        "(ARRAY['GPT-4.1 mini','GPT-4.1','Gemini 2.5 Flash','Gemini 2.5 Pro',"
        "'Blueprint compiler (offline)'])[1 + g % 5], '{}', 'compiled prompt text', "
        "'refined output text', 40 + g % 50, 120 + g % 200, "
        "(ARRAY['platform','own_key','offline'])[1 + g % 3], false, "
        "CASE WHEN g % 17 = 0 THEN 'failed' ELSE 'succeeded' END, 300 + g % 900, false, "
        # spread over ~75 days back from now: both periods and some older rows
        "now() - (g % 75) * interval '1 day' - (g % 86400) * interval '1 second', "
        "(40 + g % 50) * 1 + (120 + g % 200) * 4 "
        "FROM generate_series(1, :n) AS g"
    )
    with admin_session_scope() as session:
        session.execute(insert, {"u": user_id, "n": ROWS})
        for other in others:
            session.execute(insert, {"u": other, "n": OTHER_ROWS})
    with get_engine().begin() as conn:
        conn.execute(sa.text("ANALYZE user_prompts"))
    return user_id


def main() -> None:
    with postgres_database({}):
        user_id = _fill()
        samples = []
        report = None
        for _ in range(RUNS):
            started = time.perf_counter()
            with user_session_scope(user_id) as session:
                report = usage_report(session=session, user_id=user_id)
            samples.append(time.perf_counter() - started)
        figures = {
            "history_rows": ROWS,
            "rows_in_the_two_periods": sum(t["generations"] for t in report.totals.values()),
            "usage_report": summary_ms(samples),
            "budget_ms": BUDGET_S * 1000,
        }
        figures["within_budget"] = figures["usage_report"]["p95_ms"] < BUDGET_S * 1000
    path = save("usage", figures)
    print(f"usage page data for one user with {ROWS:,} history rows (PostgreSQL, RLS session)")
    print(
        f"  {figures['rows_in_the_two_periods']:,} rows in the two periods; "
        f"p50 {figures['usage_report']['p50_ms']} ms, p95 {figures['usage_report']['p95_ms']} ms "
        f"over {RUNS} loads (budget {BUDGET_S * 1000:.0f} ms)"
    )
    print(f"saved {path}")
