"""Command line: `python -m promptgen <command>`.

Commands use the admin database session (no user is signed in here).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from promptgen.errors import UserFacingError
from promptgen.settings import SettingsError, get_settings


def _cmd_migrate(_args: argparse.Namespace) -> int:
    from promptgen.db_security import DatabasePrivilegeError
    from promptgen.migrations import upgrade_database

    try:
        upgrade_database()
    except DatabasePrivilegeError as exc:
        # The operator's to fix, with the exact statement: no traceback.
        print(f"error: {exc}", file=sys.stderr)
        print("Nothing was changed.", file=sys.stderr)
        return 1
    print("Database is at the newest revision.")
    return 0


def _cmd_db_bootstrap_sql(_args: argparse.Namespace) -> int:
    from promptgen.db_security import bootstrap_sql

    settings = get_settings()
    if settings.is_sqlite:
        print("error: DATABASE_URL is SQLite, which has no roles to set up.", file=sys.stderr)
        return 2
    print(bootstrap_sql(settings.database_url, settings.database_user_url))
    return 0


def _cmd_seed(_args: argparse.Namespace) -> int:
    from promptgen.db import session_scope
    from promptgen.services.catalog_import import seed_catalog

    with session_scope() as session:
        report = seed_catalog(session=session)
    print(report.summary())
    return 0


def _cmd_catalog_import(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from promptgen.db import session_scope
    from promptgen.services.catalog_import import (
        CatalogError,
        CatalogFileError,
        import_catalog,
        read_catalog_file,
    )

    try:
        data = read_catalog_file(Path(args.file))
        with session_scope() as session:
            # Preview image paths are relative to the catalog file.
            report = import_catalog(session=session, data=data, base_dir=Path(args.file).parent)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2 if isinstance(exc, CatalogFileError) else 1
    except SQLAlchemyError as exc:
        # Whatever validation missed, the operator gets one line, and the rollback holds.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"error: the database refused the import: {reason}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def _cmd_keys_rotate(_args: argparse.Namespace) -> int:
    from promptgen.db import admin_session_scope
    from promptgen.services.keys import rotate_keys
    from promptgen.vault import VaultError, master_keys

    newest = master_keys().newest_version
    try:
        with admin_session_scope() as session:
            resealed, current = rotate_keys(session=session)
    except VaultError as exc:
        print(f"error: {exc}; nothing was changed.", file=sys.stderr)
        return 1
    print(f"Re-encrypted {resealed} stored keys under {newest}; {current} already were.")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from promptgen.services.retention import purge_expired

    report = purge_expired(dry_run=args.dry_run)
    print(report.summary())
    return 3 if report.skipped else 0


def _cmd_stripe_sync(args: argparse.Namespace) -> int:
    from promptgen.db import admin_session_scope
    from promptgen.services import billing, subscription_sync

    if not billing.billing_configured():
        print("error: STRIPE_SECRET_KEY is not set; nothing to read.", file=sys.stderr)
        return 2
    with admin_session_scope() as session:
        targets = subscription_sync.sync_targets(session=session, email=args.user)
    if args.user and not targets:
        print(f"error: no user with the email {args.user!r}", file=sys.stderr)
        return 2
    changed = duplicates = failed = 0
    for target in targets:
        try:
            with admin_session_scope() as session:
                result = subscription_sync.sync_user(session=session, user_id=target.user_id)
                line = subscription_sync.describe_sync(session=session, result=result)
                if args.dry_run:
                    session.rollback()
        except billing.BillingError as exc:
            failed += 1
            print(f"{target.email}: error: {exc.message}")
            continue
        changed += bool(result.changes)
        note = f" ({result.note})" if result.note else ""
        failed += bool(result.note and result.note != "no Stripe customer")
        print(f"{target.email}: {line}{note}")
        if len(result.live_subscriptions) > 1:
            duplicates += 1
            print(
                f"  ERROR: {len(result.live_subscriptions)} live subscriptions "
                f"({', '.join(result.live_subscriptions)}); the user is billed more than once. "
                "Cancel all but one in the Stripe dashboard."
            )
    verb = "would change" if args.dry_run else "changed"
    print(
        f"{len(targets)} users read from Stripe: {changed} {verb}, "
        f"{duplicates} with more than one live subscription, {failed} errors."
    )
    return 3 if duplicates or failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m promptgen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)
    database = commands.add_parser("db", help="PostgreSQL set-up for operators")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser(
        "bootstrap-sql",
        help="print the one-time SQL a DBA runs when the DATABASE_URL role lacks CREATEROLE",
    ).set_defaults(func=_cmd_db_bootstrap_sql)
    commands.add_parser("seed", help="load the default catalog (idempotent)").set_defaults(
        func=_cmd_seed
    )

    catalog = commands.add_parser("catalog", help="manage the catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    importer = catalog_commands.add_parser(
        "import", help="upsert tiers, blueprints, signatures and models by slug from a JSON file"
    )
    importer.add_argument("file")
    importer.set_defaults(func=_cmd_catalog_import)

    purge = commands.add_parser(
        "purge", help="delete history past each plan's retention (what the daily job does)"
    )
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    purge.set_defaults(func=_cmd_purge)

    keys = commands.add_parser("keys", help="manage the vault of users' own API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "rotate", help="re-encrypt every stored key under the newest KEY_ENCRYPTION_KEYS entry"
    ).set_defaults(func=_cmd_keys_rotate)

    stripe_cmd = commands.add_parser("stripe", help="Stripe billing: repair from Stripe's data")
    stripe_commands = stripe_cmd.add_subparsers(dest="stripe_command", required=True)
    sync = stripe_commands.add_parser(
        "sync",
        help="re-read subscriptions from Stripe and apply them, printing what changed and any "
        "user with more than one live subscription (exit code 3 then)",
    )
    who = sync.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="EMAIL", help="one user, by email")
    who.add_argument("--all", action="store_true", help="every user with a Stripe customer")
    sync.add_argument("--dry-run", action="store_true", help="report, change nothing")
    sync.set_defaults(func=_cmd_stripe_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        get_settings().check_production_secrets()
    except (SettingsError, ValueError) as exc:
        # A configuration problem is the operator's to fix: say what, without a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from promptgen.logs import configure_logging

    configure_logging()
    try:
        return args.func(args)
    except UserFacingError as exc:
        # What a command did not catch itself (billing not configured, a refused input):
        # one line, no traceback.
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
