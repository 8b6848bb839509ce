"""PostgreSQL roles, grants, row-level security and the quota functions.

The role model (README, "Database roles"):

- The **owner** role is the one in DATABASE_URL: an ordinary `NOSUPERUSER NOBYPASSRLS` login
  that owns the database, as a managed service hands out. It runs migrations and the admin
  session. FORCE ROW LEVEL SECURITY applies to it too: it sees user rows only inside an
  explicit admin session (`app.admin` set for that transaction), so a forgotten user scope
  fails closed.
- The **user** role (`<database>_user`, or the user in DATABASE_USER_URL) is a separate login
  with its own connection pool. Work on behalf of a signed-in user runs there with
  `app.user_id` set for the transaction. It is a member of no other role, so `RESET ROLE`
  or `SET ROLE` lead nowhere. Column grants keep plan, status, Stripe ids, quota period and
  usage out of its reach; quota moves only through two SECURITY DEFINER functions.

Everything here is idempotent and runs after every `migrate`, derived from the models, so a
new user-owned table cannot ship without its policies.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from promptgen.models import CATALOG_TABLES, CATALOG_VERSION_TABLE, owned_tables

ADMIN_FLAG = "app.admin"
USER_ID_SETTING = "app.user_id"
USER_SIG_SETTING = "app.user_sig"
USER_SCOPE_SECRET_NAME = "user_scope"  # noqa: S105 - a row name, not a secret
# The transaction's user, trusted only with a valid signature (promptgen_current_user_id):
# SQL run in Alice's session that sets app.user_id to Bob's id gets nobody.
CURRENT_USER_ID = "public.promptgen_current_user_id()"
ADMIN_SCOPE = f"current_setting('{ADMIN_FLAG}', true) = 'on'"

# What the user role may do, table by table. Columns missing from an INSERT or UPDATE list
# are the ones only the owner (admin session or the functions below) may write.
USER_GRANTS: dict[str, str] = {
    "users": "SELECT, UPDATE (password_hash), DELETE",
    "user_sessions": "SELECT, DELETE",
    "user_profiles": "SELECT, INSERT, UPDATE (display_name, updated_at), DELETE",
    "user_subscriptions": "SELECT",
    "user_api_keys": "SELECT, INSERT, UPDATE, DELETE",
    "user_prompts": (
        "SELECT, DELETE, "
        "INSERT (id, user_id, template_id, signature_id, model_id, blueprint_version_id, "
        "template_name, "
        "signature_name, model_name, parameters, compiled_prompt, output, input_tokens, "
        "output_tokens, key_source, status, error_message, latency_ms, is_favorite, "
        "created_at, completed_at, comparison_id), "
        "UPDATE (is_favorite)"
    ),
    "prompt_attachments": "SELECT, INSERT, DELETE",
    # Versions are immutable: no UPDATE; they go with their blueprint (ON DELETE CASCADE).
    "user_blueprints": (
        "SELECT, INSERT, UPDATE (name, category, description, current_version, updated_at), DELETE"
    ),
    "user_blueprint_versions": "SELECT, INSERT",
    "upload_drafts": "SELECT, INSERT, DELETE",
    # Personal API tokens: a user session creates and revokes them; finding the user behind
    # a presented token (and stamping last_used_at) is the owner's, like sign-in.
    "api_tokens": "SELECT, INSERT, UPDATE (revoked_at), DELETE",
    "shares": "SELECT, INSERT, UPDATE (revoked_at, include_images), DELETE",
    "signature_favorites": "SELECT, INSERT, DELETE",
    "form_drafts": "SELECT, INSERT, UPDATE (field_values, signatures, updated_at), DELETE",
    # Links sent by email are issued and used by the owner (admin sessions: the user is not
    # known yet, or the email itself is changing); a user session may only drop its own
    # pending reset links when the password changes.
    "account_tokens": "SELECT, DELETE",
    # Ratings are the user's own words about their own generations (compare mode).
    "prompt_ratings": ("SELECT, DELETE, INSERT, UPDATE (vote, is_winner, note, updated_at)"),
}

# Extra conditions on rows the user role writes. A pending row holding a reserved unit is
# what the crash sweep refunds, so the user role may never produce one by hand.
USER_WRITE_CHECKS: dict[str, str] = {
    # A foreign key is checked past RLS, so without the second clause SQL in one user's
    # session could link a generation to another user's blueprint version.
    "user_prompts": (
        "NOT (quota_reserved AND status = 'pending') AND (blueprint_version_id IS NULL "
        "OR blueprint_version_id IN (SELECT id FROM public.user_blueprint_versions))"
    ),
    # A foreign key is checked past RLS: the rated generation must be one the user can see,
    # and a vote is pooled across users only after an opt-in that is not built yet.
    "prompt_ratings": "prompt_id IN (SELECT id FROM public.user_prompts) AND NOT shared",
}


_IDENTITY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION promptgen_current_user_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT nullif(current_setting('{USER_ID_SETTING}', true), '')::uuid
      FROM public.database_secrets s
     WHERE s.name = '{USER_SCOPE_SECRET_NAME}'
       AND current_setting('{USER_SIG_SETTING}', true) = encode(
               sha256(convert_to(s.value || ':' || current_setting('{USER_ID_SETTING}', true),
                                 'UTF8')),
               'hex')
$$;
"""


def user_scope_signature(secret: str, user_id: str) -> str:
    """What promptgen_current_user_id checks: SHA-256 of the secret, ':' and the user id."""
    return hashlib.sha256(f"{secret}:{user_id}".encode()).hexdigest()


def _quota_functions(grace_days: int) -> str:
    """The quota functions' SQL. PAST_DUE_GRACE_DAYS is written into it at migrate time: a
    caller must not choose its own grace."""
    return f"""
CREATE OR REPLACE FUNCTION promptgen_quota_period_start(p_anchor timestamptz, p_at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    -- Monthly periods: calendar months in UTC without an anchor, else whole months from
    -- the anchor with the day clamped to the month's length (promptgen.periods, in SQL).
    SELECT CASE
        WHEN p_anchor IS NULL THEN
            date_trunc('month', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        ELSE (
            SELECT CASE WHEN a + make_interval(months => k) <= t
                        THEN a + make_interval(months => k)
                        ELSE a + make_interval(months => k - 1) END AT TIME ZONE 'UTC'
            FROM (SELECT p_anchor AT TIME ZONE 'UTC' AS a, p_at AT TIME ZONE 'UTC' AS t) AS x,
                 LATERAL (SELECT ((extract(year FROM t) - extract(year FROM a)) * 12
                                  + extract(month FROM t) - extract(month FROM a))::int AS k) AS m
        )
    END
$$;

CREATE OR REPLACE FUNCTION promptgen_reserve_quota(
    p_user_id uuid, p_prompt_id uuid DEFAULT NULL, p_now timestamptz DEFAULT NULL
) RETURNS TABLE (used integer, period_start timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_admin text := current_setting('{ADMIN_FLAG}', true);
    v_now timestamptz := now();
    v_period timestamptz;
    v_free_quota integer;
    v_used integer;
BEGIN
    IF session_user <> current_user THEN
        -- Called from the user pool: only for the user of this transaction, on the
        -- database's clock (a chosen clock could open a fresh period at will).
        IF p_user_id IS DISTINCT FROM {CURRENT_USER_ID} THEN
            RAISE EXCEPTION 'quota belongs to the signed-in user' USING ERRCODE = '42501';
        END IF;
    ELSIF p_now IS NOT NULL THEN
        v_now := p_now;  -- the owner (tests, CLI) may pass a clock
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', 'on', true);
    SELECT public.promptgen_quota_period_start(s.quota_anchor, v_now)
      INTO v_period FROM public.user_subscriptions s WHERE s.user_id = p_user_id;
    -- The limit follows the status (services/plans.is_entitled): the plan's quota
    -- while active, trialing, or past due within the grace period; else the Free quota.
    SELECT coalesce(
               (SELECT monthly_quota FROM public.subscription_tiers WHERE slug = 'free'),
               (SELECT monthly_quota FROM public.subscription_tiers WHERE is_active
                 ORDER BY sort_order, id LIMIT 1),
               0)
      INTO v_free_quota;
    -- One conditional UPDATE: concurrent reservations re-check the latest row, so they can
    -- never overshoot. A stale count restarts at 1, which a zero quota must still refuse.
    UPDATE public.user_subscriptions s
       SET usage_count = CASE WHEN stale THEN 1 ELSE s.usage_count + 1 END,
           usage_period_start = CASE WHEN stale THEN v_period ELSE s.usage_period_start END,
           updated_at = v_now
      FROM (SELECT s2.user_id,
                   (s2.usage_period_start IS NULL OR s2.usage_period_start < v_period) AS stale,
                   CASE WHEN s2.status IN ('active', 'trialing')
                          OR (s2.status = 'past_due'
                              AND coalesce(s2.past_due_since, v_now)
                                  > v_now - make_interval(days => {int(grace_days)}))
                        THEN t.monthly_quota ELSE v_free_quota END AS quota
              FROM public.user_subscriptions s2
              JOIN public.subscription_tiers t ON t.id = s2.tier_id
             WHERE s2.user_id = p_user_id) AS c
     WHERE s.user_id = c.user_id
       AND ((c.stale AND c.quota > 0) OR s.usage_count < c.quota)
    RETURNING s.usage_count INTO v_used;
    IF v_used IS NOT NULL AND p_prompt_id IS NOT NULL THEN
        UPDATE public.user_prompts SET quota_reserved = true, key_source = 'platform'
         WHERE id = p_prompt_id AND user_id = p_user_id AND status = 'pending'
           AND NOT quota_reserved;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = 'no pending generation ' || p_prompt_id || ' to reserve for';
        END IF;
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', coalesce(v_admin, ''), true);
    IF v_used IS NOT NULL THEN
        used := v_used;
        period_start := v_period;
        RETURN NEXT;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION promptgen_start_generation(
    p_prompt_id uuid, p_catalog_version bigint, p_reserve boolean, p_key_source text,
    p_template_id integer, p_signature_id integer, p_model_id integer,
    p_template_name text, p_signature_name text, p_model_name text,
    p_parameters jsonb, p_compiled_prompt text, p_created_at timestamptz
) RETURNS TABLE (outcome text, used integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
-- A generation's first round trip (services/generation): check that the caller compiled
-- against the current catalog, save the pending history row and, with p_reserve, take a
-- unit of quota for it. Outcomes: 'stale' (the catalog changed: nothing written, reload
-- and call again), 'reserved' (row saved holding a unit), 'no_quota' (nothing written),
-- 'saved' (row saved as p_key_source, holding no unit).
DECLARE
    v_user uuid := {CURRENT_USER_ID};
    v_admin text := current_setting('{ADMIN_FLAG}', true);
    v_used integer;
BEGIN
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'no signed-in user in this transaction' USING ERRCODE = '42501';
    END IF;
    IF p_key_source NOT IN ('platform', 'own_key', 'offline')
       OR (p_reserve AND p_key_source <> 'platform') THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'bad key source ' || p_key_source;
    END IF;
    IF p_catalog_version IS DISTINCT FROM
            (SELECT version FROM public.catalog_version WHERE id = 1) THEN
        outcome := 'stale';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_reserve THEN
        -- The function every reservation goes through (quota, period and status rules).
        SELECT r.used INTO v_used FROM public.promptgen_reserve_quota(v_user) r;
        IF v_used IS NULL THEN
            outcome := 'no_quota';  -- used up: the caller tries the user's own key
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', 'on', true);
    INSERT INTO public.user_prompts (id, user_id, template_id, signature_id, model_id,
        template_name, signature_name, model_name, parameters, compiled_prompt, output,
        key_source, status, is_favorite, quota_reserved, created_at)
    VALUES (p_prompt_id, v_user, p_template_id, p_signature_id, p_model_id,
        p_template_name, p_signature_name, p_model_name, p_parameters, p_compiled_prompt, '',
        p_key_source, 'pending', false, p_reserve,
        -- The database's clock for the user role (refunds compare it with the period).
        CASE WHEN session_user = current_user THEN coalesce(p_created_at, now()) ELSE now() END);
    PERFORM set_config('{ADMIN_FLAG}', coalesce(v_admin, ''), true);
    outcome := CASE WHEN p_reserve THEN 'reserved' ELSE 'saved' END;
    used := v_used;
    RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION promptgen_refund_reservation(p_prompt_id uuid)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_admin text := current_setting('{ADMIN_FLAG}', true);
    v_user uuid;
    v_created timestamptz;
    v_refunded boolean;
BEGIN
    PERFORM set_config('{ADMIN_FLAG}', 'on', true);
    -- Only a generation still pending gives its unit back, once.
    UPDATE public.user_prompts SET quota_reserved = false
     WHERE id = p_prompt_id AND quota_reserved AND status = 'pending'
       AND (session_user = current_user OR user_id = {CURRENT_USER_ID})
    RETURNING user_id, created_at INTO v_user, v_created;
    v_refunded := FOUND;
    IF v_refunded THEN
        -- The unit belongs to the period the row was created in; once a new period began
        -- the count was reset and there is nothing to give back.
        UPDATE public.user_subscriptions
           SET usage_count = usage_count - 1
         WHERE user_id = v_user AND usage_count > 0
           AND usage_period_start IS NOT NULL AND v_created >= usage_period_start;
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', coalesce(v_admin, ''), true);
    RETURN v_refunded;
END
$$;

CREATE OR REPLACE FUNCTION promptgen_finish_generation(
    p_prompt_id uuid, p_status text, p_output text, p_error text,
    p_latency_ms integer, p_input_tokens integer, p_output_tokens integer
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_admin text := current_setting('{ADMIN_FLAG}', true);
    v_row public.user_prompts%ROWTYPE;
    v_delivered boolean := p_status = 'succeeded' OR btrim(coalesce(p_output, '')) <> '';
    v_reserved boolean;
BEGIN
    IF p_status NOT IN ('succeeded', 'failed', 'cancelled') THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'not a final status: ' || p_status;
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', 'on', true);
    SELECT * INTO v_row FROM public.user_prompts
     WHERE id = p_prompt_id AND (session_user = current_user OR user_id = {CURRENT_USER_ID})
       FOR UPDATE;
    IF FOUND THEN
        v_reserved := v_row.quota_reserved;
        IF v_reserved AND NOT v_delivered AND v_row.status = 'pending' THEN
            -- Nothing reached the user: the unit goes back, once.
            UPDATE public.user_subscriptions SET usage_count = usage_count - 1
             WHERE user_id = v_row.user_id AND usage_count > 0
               AND usage_period_start IS NOT NULL AND v_row.created_at >= usage_period_start;
            v_reserved := false;
        ELSIF NOT v_reserved AND v_delivered AND v_row.key_source = 'platform' THEN
            -- Output delivered is output paid, even if its unit was given back meanwhile.
            UPDATE public.user_subscriptions SET usage_count = usage_count + 1
             WHERE user_id = v_row.user_id
               AND usage_period_start IS NOT NULL AND v_row.created_at >= usage_period_start;
            v_reserved := true;
        END IF;
        UPDATE public.user_prompts
           SET status = p_status, output = coalesce(p_output, ''), error_message = p_error,
               latency_ms = p_latency_ms, input_tokens = p_input_tokens,
               output_tokens = p_output_tokens, completed_at = now(),
               quota_reserved = v_reserved,
               -- The estimate from the tokens and the model's prices (services/pricing).
               estimated_cost_micros = CASE
                   WHEN p_input_tokens IS NULL AND p_output_tokens IS NULL THEN NULL
                   ELSE (SELECT round(coalesce(p_input_tokens, 0) * m.input_price_per_mtok
                                      + coalesce(p_output_tokens, 0) * m.output_price_per_mtok
                               )::bigint
                           FROM public.supported_ai_models m WHERE m.id = v_row.model_id)
               END
         WHERE id = p_prompt_id;
        IF p_status = 'succeeded' AND v_row.template_id IS NOT NULL THEN
            -- The form's draft did its job (services/drafts); a failure keeps it. Here, in
            -- the same statement, so a finish is one round trip (issue 14).
            DELETE FROM public.form_drafts
             WHERE user_id = v_row.user_id AND template_id = v_row.template_id;
        END IF;
    END IF;
    PERFORM set_config('{ADMIN_FLAG}', coalesce(v_admin, ''), true);
END
$$;
"""


# Functions the user role may call. The plain refund is the owner's (the crash sweep): from a
# user session a unit goes back only through promptgen_finish_generation, which knows whether
# output was delivered.
_USER_FUNCTIONS = (
    "promptgen_current_user_id()",
    "promptgen_quota_period_start(timestamptz, timestamptz)",
    "promptgen_reserve_quota(uuid, uuid, timestamptz)",
    "promptgen_finish_generation(uuid, text, text, text, integer, integer, integer)",
    "promptgen_start_generation(uuid, bigint, boolean, text, integer, integer, integer, text, "
    "text, text, jsonb, text, timestamptz)",
)
_OWNER_FUNCTIONS = ("promptgen_refund_reservation(uuid)",)


class DatabasePrivilegeError(RuntimeError):
    """The connecting role lacks a privilege; `statement` is what a DBA must run."""

    def __init__(self, message: str, *, statement: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.statement = statement

    def __str__(self) -> str:
        if not self.statement:
            return self.message
        return f"{self.message}\nAsk a database administrator to run:\n\n{self.statement}\n"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- the user role's name and password ------------------------------------------------


def user_role_for(database: str) -> str:
    """The user role's name for a database: per database, so staging and production on one
    cluster each have their own and cannot read each other. Names fit PostgreSQL's 63 bytes;
    a long one keeps a digest of the whole name, so two long names never share a role."""
    if len(database.encode()) <= 58:
        return f"{database}_user"
    digest = hashlib.sha256(database.encode()).hexdigest()[:10]
    return f"{database.encode()[:47].decode(errors='ignore')}_{digest}_user"


def derived_user_password(owner_password: str, role: str) -> str:
    """The user role's password, derived from the owner's: nothing new to store or rotate.
    Changing the owner's password changes it, and the next `migrate` sets it."""
    digest = hmac.new(
        owner_password.encode(), f"promptgen user role:{role}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677).

    Sending the verifier instead of the password keeps the password out of the server's
    statement log, as psql's \\password does.
    """
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


@dataclass(frozen=True)
class UserLogin:
    role: str
    password: str | None


def user_login(owner_url: str, user_url: str | None) -> UserLogin:
    url = sa.engine.make_url(user_url or owner_url)
    if user_url:
        return UserLogin(role=url.username or "", password=url.password)
    role = user_role_for(url.database or "")
    password = derived_user_password(url.password, role) if url.password else None
    return UserLogin(role=role, password=password)


@functools.lru_cache(maxsize=64)  # every user transaction asks; the answer never changes
def derive_user_url(owner_url: str) -> str:
    """DATABASE_URL with the user role's name and derived password."""
    url = sa.engine.make_url(owner_url)
    login = user_login(owner_url, None)
    return url.set(username=login.role, password=login.password).render_as_string(
        hide_password=False
    )


def _create_role_statement(login: UserLogin, *, salt: bytes | None = None) -> str:
    password = (
        f" PASSWORD {_quote_literal(scram_verifier(login.password, salt=salt))}"
        if login.password
        else ""
    )
    return (
        f"CREATE ROLE {quote_ident(login.role)} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB "
        f"NOCREATEROLE NOREPLICATION NOBYPASSRLS{password};"
    )


def bootstrap_sql(owner_url: str, user_url: str | None = None) -> str:
    """The one-time script a DBA runs when the owner role may not create roles."""
    url = sa.engine.make_url(owner_url)
    login = user_login(owner_url, user_url)
    return "\n".join(
        [
            f"-- PromptGen: the user role for database {url.database!r}.",
            "-- Run once, as a role with CREATEROLE (the service's admin login).",
            "-- It may log in, and nothing more: `migrate` grants it what it needs.",
            _create_role_statement(login),
        ]
    )


# --- preflight, grants and policies -------------------------------------------------------


def driver_connection(conn: sa.Connection) -> Any:
    """The psycopg connection under SQLAlchemy's: several statements in one string need the
    simple query protocol, which SQLAlchemy's execute never uses."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    return driver


def _scalar(conn: sa.Connection, sql: str, **params: object) -> Any:
    return conn.execute(sa.text(sql), params).scalar()


def ensure_user_role(conn: sa.Connection, owner_url: str, user_url: str | None) -> UserLogin:
    """Create the user role when it is missing and the owner may; refuse, naming the
    statement a DBA must run, when it may not or when the role could escape RLS."""
    login = user_login(owner_url, user_url)
    me = _scalar(conn, "SELECT current_user")
    if login.role == me:
        raise DatabasePrivilegeError(
            "DATABASE_USER_URL must name a different role from DATABASE_URL's owner role."
        )
    attributes = conn.execute(
        sa.text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :role"),
        {"role": login.role},
    ).first()
    if attributes is None:
        can_create = _scalar(
            conn, "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        if not can_create:
            raise DatabasePrivilegeError(
                f"The role {login.role!r} that user sessions log in as does not exist, and "
                f"{me!r} may not create roles (no CREATEROLE).",
                statement=_create_role_statement(login),
            )
        conn.exec_driver_sql(_create_role_statement(login))
        return login
    superuser, bypassrls, can_login = attributes
    if superuser or bypassrls:
        raise DatabasePrivilegeError(
            f"The role {login.role!r} bypasses row-level security; user sessions need one "
            "that does not.",
            statement=f"ALTER ROLE {quote_ident(login.role)} NOSUPERUSER NOBYPASSRLS;",
        )
    escapes = _scalar(conn, "SELECT pg_has_role(:role, current_user, 'MEMBER')", role=login.role)
    if escapes:
        raise DatabasePrivilegeError(
            f"The role {login.role!r} is a member of {me!r}, so a user session could take "
            "the owner's rights.",
            statement=f"REVOKE {quote_ident(me)} FROM {quote_ident(login.role)};",
        )
    if not can_login or login.password:
        # Keep the password in step with the one the app derives (the owner's may have
        # changed). Without the right to alter the role, a DBA set it up: leave it be.
        password = (
            f" PASSWORD {_quote_literal(scram_verifier(login.password))}" if login.password else ""
        )
        with conn.begin_nested() as savepoint:
            try:
                conn.exec_driver_sql(f"ALTER ROLE {quote_ident(login.role)} LOGIN{password}")
            except sa.exc.ProgrammingError:
                savepoint.rollback()
                if not can_login:
                    raise DatabasePrivilegeError(
                        f"The role {login.role!r} cannot log in.",
                        statement=f"ALTER ROLE {quote_ident(login.role)} LOGIN;",
                    ) from None
    return login


def apply_row_security(conn: sa.Connection, user_role: str, *, grace_days: int) -> None:
    """Grants, policies and functions, from the models. Idempotent; runs after every migrate."""
    role = quote_ident(user_role)
    database = _scalar(conn, "SELECT current_database()")
    conn.execute(sa.text(f"GRANT CONNECT ON DATABASE {quote_ident(str(database))} TO {role}"))
    # No temporary tables: one could shadow a table inside a SECURITY DEFINER function, or
    # outlive its request on a pooled connection. (pg_temp also comes last in the functions.)
    conn.execute(
        sa.text(f"REVOKE TEMPORARY ON DATABASE {quote_ident(str(database))} FROM PUBLIC, {role}")
    )
    # PostgreSQL 14 and older let anyone create objects in public.
    conn.execute(sa.text(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}"))
    if not _scalar(conn, "SELECT has_schema_privilege(:r, 'public', 'USAGE')", r=user_role):
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    # The signing secret, made once per database; then the identity function the policies use.
    conn.execute(
        sa.text(
            "INSERT INTO database_secrets (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"name": USER_SCOPE_SECRET_NAME, "value": secrets.token_hex(32)},
    )
    driver_connection(conn).execute(_IDENTITY_FUNCTION)
    owned = owned_tables()
    missing = set(owned) - set(USER_GRANTS)
    if missing:
        raise RuntimeError(f"user-owned tables without grants in db_security: {sorted(missing)}")
    for table in SQLModel.metadata.sorted_tables:
        name = quote_ident(table.name)
        conn.execute(sa.text(f"REVOKE ALL ON {name} FROM {role}"))
        if table.name in CATALOG_TABLES or table.name == CATALOG_VERSION_TABLE:
            conn.execute(sa.text(f"GRANT SELECT ON {name} TO {role}"))
        if table.name not in owned:
            continue  # the catalog (read-only) and admin-only tables (webhooks, throttle)
        owner_column = quote_ident(owned[table.name])
        conn.execute(sa.text(f"GRANT {USER_GRANTS[table.name]} ON {name} TO {role}"))
        conn.execute(sa.text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
        conn.execute(sa.text(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY"))
        existing = conn.execute(
            sa.text("SELECT policyname FROM pg_policies WHERE tablename = :t"), {"t": table.name}
        ).scalars()
        for policy in list(existing):
            conn.execute(sa.text(f"DROP POLICY {quote_ident(policy)} ON {name}"))
        own_rows = f"{owner_column} = {CURRENT_USER_ID}"
        write_check = own_rows
        if table.name in USER_WRITE_CHECKS:
            write_check = f"{own_rows} AND {USER_WRITE_CHECKS[table.name]}"
        conn.execute(
            sa.text(
                f"CREATE POLICY admin_scope ON {name} TO CURRENT_USER "
                f"USING ({ADMIN_SCOPE}) WITH CHECK ({ADMIN_SCOPE})"
            )
        )
        conn.execute(
            sa.text(
                f"CREATE POLICY user_rows ON {name} TO {role} "
                f"USING ({own_rows}) WITH CHECK ({write_check})"
            )
        )
    # Straight to the driver: no parameters, so nothing parses "%" (plpgsql's %ROWTYPE).
    driver_connection(conn).execute(_quota_functions(grace_days))
    for signature in (*_USER_FUNCTIONS, *_OWNER_FUNCTIONS):
        conn.execute(sa.text(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC, {role}"))
    for signature in _USER_FUNCTIONS:
        conn.execute(sa.text(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}"))
