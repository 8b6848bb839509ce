"""Scale benchmarks (issue 14): 1,000 users at once, 1 vs 2 instances, memory per worker.

The app runs as `make run` runs it: `reflex run --env prod` on one port, with `REDIS_URL`
(so Reflex starts its several backend workers) and PostgreSQL, the fake OpenAI in its own
process answering after `LATENCY_S`. Each simulated user is signed up through the real
sign-up service (its session token is the cookie a browser would hold) and drives a tab the
way the browser does: a socket.io websocket on `/_event`, the hydrate-and-load event in the
CONNECT packet, then the dashboard's own events (choose the blueprint and model, Generate),
reading the state deltas Reflex sends back until the result shows.

1. Concurrency: USERS tabs press Generate at once on one instance; the wall time until every
   tab shows its result, p50/p95 per user and failures, against USERS bare streamed
   AsyncOpenAI calls to the same fake in the same run (rounds alternated).
2. Horizontal scale: the same load on 1 instance and on 2 (two `reflex run` on two ports
   sharing PostgreSQL and Redis, tabs split evenly): wall time and throughput, and ratios.
3. Memory: RSS (and PSS) of each backend worker, idle after start and after the load (tabs
   still open), for this design and for the design when the issue was filed
   (`BASELINE_COMMIT`, its own migrations and seed, the same load once), each on a database
   of its own. The earlier design's pools have no budget (five workers open well over a
   default server's 100 connections), so it runs on a throwaway cluster of its own.
   The peak number of connections each design held is printed too.

Knobs (environment): SCALE_USERS (default 1000), SCALE_DB_CONNECTIONS (each instance's
DATABASE_MAX_CONNECTIONS, default the app's), SCALE_REDIS_URL (default
redis://127.0.0.1:6379/12: a database the run flushes before and after), and BENCH_PORT
(+10, +11: instances A and B, +12: the earlier design, +13: its cluster; else free ports).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import psycopg
import redis
import sqlalchemy as sa

from bench.support import (
    ROOT,
    bench_port,
    design_sources,
    fake_openai_process,
    percentile,
    postgres_database,
    save,
)
from promptgen.db import dispose_engines
from promptgen.settings import Settings
from promptgen.vault import new_master_key_text
from tests.support.app_server import AppServer, app_environment, run_cli, start_app
from tests.support.fake_providers import DEFAULT_KEY
from tests.support.reflex_tab import Outcome, Tab

BASELINE_COMMIT = "2886bba"  # the design when issue 14 was filed
USERS = int(os.environ.get("SCALE_USERS", "1000"))
LATENCY_S = 0.3
ROUNDS = 2  # alternated rounds of each path (bare, 1 instance, 2 instances)
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/12")
# Each instance's DATABASE_MAX_CONNECTIONS (the app's default unless set): on a server shared
# with others, two instances at 40 may take more than their share of its 100.
DB_CONNECTIONS = int(
    os.environ.get("SCALE_DB_CONNECTIONS", str(Settings().database_max_connections))
)
OPENING_AT_ONCE = 100  # tabs opening (connect + hydrate + on_load) at the same time
WARM_UP = 0.1  # share of the tabs that generate once before the measured rounds
BLUEPRINT, MODEL, PRODUCT = "product-photo", "gpt-4.1-mini", "a brass lamp"


# --- users, made by the design's own sign-up service ---------------------------------------

_USERS_SCRIPT = """
import json, sys
import sqlalchemy as sa
from argon2 import PasswordHasher
from promptgen.db import admin_session_scope
from promptgen.services import accounts
# Cheap hashing to make 1,000 accounts in seconds: signing in is not what is measured.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
count, prefix = int(sys.argv[1]), sys.argv[2]
with admin_session_scope() as session:
    tokens = [
        accounts.sign_up(
            session=session, email=f"{prefix}{i}@example.com", password="a bench password"
        ).token
        for i in range(count)
    ]
    session.execute(sa.text("UPDATE subscription_tiers SET monthly_quota = 1000000"))
    row = session.execute(
        sa.text(
            "SELECT t.id, t.parameter_schema, m.id FROM supported_templates t, "
            "supported_ai_models m WHERE t.slug = :blueprint AND m.slug = :model"
        ),
        {"blueprint": sys.argv[3], "model": sys.argv[4]},
    ).one()
print(json.dumps({"tokens": tokens, "blueprint_id": row[0], "schema": row[1], "model_id": row[2]}))
"""


@dataclass
class Users:
    tokens: list[str]
    blueprint_id: int
    model_id: int
    form: dict[str, Any]


def _form(schema: dict) -> dict[str, Any]:
    """What the dashboard's form submits for the blueprint: each field's default, the first
    choice, or the product typed in."""
    form: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        if "default" in spec:
            value = spec["default"]
        elif spec.get("enum"):
            value = spec["enum"][0]
        elif spec.get("type") == "string":
            value = PRODUCT
        else:
            continue
        if value is not False:
            form[name] = "on" if value is True else value
    return form


def _make_users(server: AppServer, root: Path, count: int) -> Users:
    result = subprocess.run(
        [sys.executable, "-c", _USERS_SCRIPT, str(count), "scale", BLUEPRINT, MODEL],
        cwd=root,
        env={**server.env, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"creating users failed:\n{result.stderr[-3000:]}")
    made = json.loads(result.stdout.strip().splitlines()[-1])
    return Users(made["tokens"], made["blueprint_id"], made["model_id"], _form(made["schema"]))


async def _open_tabs(
    urls: list[str], tokens: list[str], users: Users
) -> tuple[list[Tab], list[str]]:
    """One tab per (url, token), OPENING_AT_ONCE at a time, each on the dashboard with the
    benchmark's blueprint and model chosen. Returns the tabs and the errors of those that
    failed to open."""
    slots = asyncio.Semaphore(OPENING_AT_ONCE)

    async def one(url: str, token: str) -> Tab:
        async with slots:
            tab = await Tab.open(url, token)
            try:
                await tab.prepare(users.blueprint_id, users.model_id)
            except BaseException:
                await tab.close()
                raise
            return tab

    results = await asyncio.gather(
        *(one(u, t) for u, t in zip(urls, tokens, strict=True)), return_exceptions=True
    )
    tabs = [r for r in results if isinstance(r, Tab)]
    errors = [f"{type(r).__name__}: {r}"[:200] for r in results if isinstance(r, BaseException)]
    return tabs, errors


async def _close_tabs(tabs: list[Tab]) -> None:
    await asyncio.gather(*(tab.close() for tab in tabs))


# --- the loads -----------------------------------------------------------------------------


async def _bare(client: openai.AsyncOpenAI, count: int) -> dict[str, Any]:
    """`count` bare streamed AsyncOpenAI calls at once to the same fake."""

    async def one() -> Outcome:
        started = time.perf_counter()
        try:
            stream = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": f"Product photograph of {PRODUCT}"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            async for _chunk in stream:
                pass
        except Exception as exc:
            return Outcome(time.perf_counter() - started, type(exc).__name__)
        return Outcome(time.perf_counter() - started)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one() for _ in range(count)))
    return _figures(time.perf_counter() - started, outcomes)


async def _generate(tabs: list[Tab], form: dict[str, Any]) -> dict[str, Any]:
    """Every tab presses Generate at once; the wall time until the last result shows."""
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(tab.generate(form) for tab in tabs))
    return _figures(time.perf_counter() - started, outcomes)


def _figures(wall_s: float, outcomes: list[Outcome]) -> dict[str, Any]:
    ms = [o.seconds * 1000 for o in outcomes]
    errors = [o.error for o in outcomes if o.error]
    return {
        "users": len(outcomes),
        "wall_ms": round(wall_s * 1000, 1),
        "per_second": round((len(outcomes) - len(errors)) / wall_s, 1),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "failures": len(errors),
        "failure_kinds": sorted(set(errors))[:5],
    }


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median wall time, with the failures of every round."""
    ordered = sorted(rounds, key=lambda r: r["wall_ms"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["walls_ms"] = [r["wall_ms"] for r in rounds]
    middle["failures"] = sum(r["failures"] for r in rounds)
    middle["failure_kinds"] = sorted({k for r in rounds for k in r["failure_kinds"]})[:5]
    return middle


# --- memory: the backend workers of one `reflex run` --------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _kib(pid: int, path: str, key: str) -> int:
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def worker_pids(server: AppServer) -> list[int]:
    """The backend worker processes: the leaves of the app's process tree that are Python
    (granian forks its workers from the process serving the port)."""
    children = _children()
    leaves, queue = [], [server.process.pid]
    while queue:
        pid = queue.pop()
        kids = children.get(pid, [])
        queue.extend(kids)
        if not kids and pid != server.process.pid:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if "python" in Path(exe).name:
                leaves.append(pid)
    return sorted(leaves)


def memory(server: AppServer) -> dict[str, Any]:
    """RSS and PSS (shared pages split among the processes sharing them) per worker, MiB."""
    workers = []
    for pid in worker_pids(server):
        with contextlib.suppress(OSError):
            workers.append(
                {
                    "rss_mib": round(_kib(pid, "status", "VmRSS") / 1024, 1),
                    "pss_mib": round(_kib(pid, "smaps_rollup", "Pss") / 1024, 1),
                }
            )
    rss = [w["rss_mib"] for w in workers]
    return {
        "workers": len(workers),
        "rss_mib": rss,
        "rss_mean_mib": round(statistics.fmean(rss), 1) if rss else 0.0,
        "pss_total_mib": round(sum(w["pss_mib"] for w in workers), 1),
        "pss_mean_mib": round(statistics.fmean(w["pss_mib"] for w in workers), 1)
        if workers
        else 0.0,
    }


# --- the runs --------------------------------------------------------------------------------

_T0 = time.perf_counter()


def _progress(message: str) -> None:
    print(f"[scale {time.perf_counter() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _peak_connections(database_url: str) -> Iterator[dict[str, int]]:
    """The most connections the apps held to the database at once, sampled every 50 ms."""
    conninfo = sa.engine.make_url(database_url).set(drivername="postgresql")
    seen = {"peak": 0}
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(
            conninfo.render_as_string(hide_password=False), autocommit=True
        ) as conn:
            while not stop.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                seen["peak"] = max(seen["peak"], row[0] if row else 0)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=5)


def _flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


def _app_env(fake_url: str) -> dict[str, str]:
    return {
        "REDIS_URL": REDIS_URL,
        "OPENAI_API_KEY": DEFAULT_KEY,
        "OPENAI_BASE_URL": fake_url + "/v1",
        "KEY_ENCRYPTION_KEYS": new_master_key_text(),
        "PROVIDER_TIMEOUT_SECONDS": "120",
        "DATABASE_MAX_CONNECTIONS": str(DB_CONNECTIONS),
        "LOG_LEVEL": "WARNING",
    }


def _start_all(database_url: str, specs: list[dict[str, Any]]) -> list[AppServer]:
    """Start the apps side by side (their frontend builds overlap); stop all on a failure.
    The first one's seed runs before the others start (two first seeds would race)."""
    first = specs[0]
    env = app_environment(database_url, first["port"], **_env_only(first))
    root = first.get("root", ROOT) if first.get("own_cli") else ROOT
    for command in ("migrate", "seed"):
        result = run_cli(env, command, root=root)
        if result.returncode != 0:
            raise RuntimeError(f"promptgen {command} failed:\n{result.stderr[-3000:]}")
    servers: list[AppServer | None] = [None] * len(specs)
    errors: list[BaseException] = []

    def start(index: int) -> None:
        try:
            servers[index] = start_app(database_url, **specs[index])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(specs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [s for s in servers if s is not None]
    if errors:
        for server in started:
            server.stop()
        raise errors[0]
    return started


def _env_only(spec: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in spec.items() if k.isupper()}


@contextlib.contextmanager
def _apps(database_url: str, specs: list[dict[str, Any]]) -> Iterator[list[AppServer]]:
    servers = _start_all(database_url, specs)
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def _current_design(fake_url: str) -> dict[str, Any]:
    env = _app_env(fake_url)
    with postgres_database({}) as database_url:
        specs = [
            {"name": f"scale-{n}", "port": bench_port(10 + n), **env}
            for n in range(2)  # instance A and instance B
        ]
        with _apps(database_url, specs) as (a, b):
            _progress("this design: two instances started")
            users = _make_users(a, ROOT, USERS)
            dispose_engines()  # this process's own pooled connection (the migration's)
            idle = memory(a)
            _progress(f"{USERS} users signed up")

            async def run() -> dict[str, Any]:
                half = len(users.tokens) // 2
                on_a, errors_a = await _open_tabs([a.url] * USERS, users.tokens, users)
                # The second half of the users also open a tab on B: the two-instance
                # rounds use A's tabs for the first half and B's for the second.
                on_b, errors_b = await _open_tabs(
                    [b.url] * (USERS - half), users.tokens[half:], users
                )
                split = on_a[:half] + on_b
                _progress(f"tabs open: {len(on_a)} on A, {len(on_b)} on B")
                # The workers' first generations (pools, caches) before measuring; reported,
                # since a fresh worker's first burst is where a lock used to expire.
                warm = [
                    await _generate(tabs[: int(len(tabs) * WARM_UP)], users.form)
                    for tabs in (on_a, on_b)
                ]
                client = openai.AsyncOpenAI(
                    api_key=DEFAULT_KEY, base_url=fake_url + "/v1", max_retries=0
                )
                bare, one, two = [], [], []
                loaded: dict[str, Any] = {}
                for round_ in range(ROUNDS):
                    order = ("bare", "one", "two") if round_ % 2 == 0 else ("two", "one", "bare")
                    for path in order:
                        if path == "bare":
                            bare.append(await _bare(client, USERS))
                        elif path == "one":
                            one.append(await _generate(on_a, users.form))
                            if not loaded:  # after the first 1,000-user round on A
                                loaded = memory(a)
                        else:
                            two.append(await _generate(split, users.form))
                        _progress(f"round {round_ + 1}: {path} done")
                        await asyncio.sleep(1)
                await client.close()
                await _close_tabs(on_a + on_b)
                return {
                    "tabs_failed_to_open": len(errors_a) + len(errors_b),
                    "open_errors": sorted(set(errors_a + errors_b))[:5],
                    "warm_up": {  # A's figures, both instances' failures
                        **warm[0],
                        "failures": warm[0]["failures"] + warm[1]["failures"],
                        "failure_kinds": warm[0]["failure_kinds"] + warm[1]["failure_kinds"],
                    },
                    "bare": _median(bare),
                    "one_instance": _median(one),
                    "two_instances": _median(two),
                    "memory": {"idle": idle, "after_load": loaded},
                }

            with _peak_connections(database_url) as connections:
                figures = asyncio.run(run())
            return {**figures, "peak_connections": connections["peak"]}


def _port(port: int | None) -> dict[str, int]:
    return {"port": port} if port else {}


def _baseline_design(fake_url: str) -> dict[str, Any]:
    env = _app_env(fake_url)
    with (
        design_sources(BASELINE_COMMIT) as source,
        # Its pools are not bounded by a budget (5 workers x up to 30 connections, more
        # than a default server's 100): a cluster of its own, so it takes no connection
        # from anyone else on the machine's server.
        postgres_database(
            {},
            migrated=False,
            private_server={"max_connections": 1000, **_port(bench_port(13))},
        ) as database_url,
    ):
        specs = [
            {
                "name": "scale-baseline",
                "port": bench_port(12),
                "root": source,
                "own_cli": True,
                **env,
            }
        ]
        with _apps(database_url, specs) as (server,):
            _progress(f"design {BASELINE_COMMIT} started")
            users = _make_users(server, source, USERS)
            idle = memory(server)

            async def run() -> dict[str, Any]:
                tabs, errors = await _open_tabs([server.url] * USERS, users.tokens, users)
                _progress(f"tabs open: {len(tabs)}")
                warm = await _generate(tabs[: int(len(tabs) * WARM_UP)], users.form)
                load = await _generate(tabs, users.form)
                _progress("load done")
                loaded = memory(server)
                await _close_tabs(tabs)
                return {
                    "tabs_failed_to_open": len(errors),
                    "open_errors": sorted(set(errors))[:5],
                    "warm_up": warm,
                    "one_instance": load,
                    "memory": {"idle": idle, "after_load": loaded},
                }

            with _peak_connections(database_url) as connections:
                figures = asyncio.run(run())
            return {**figures, "peak_connections": connections["peak"]}


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}x" if old else "n/a"


def _print_load(label: str, figures: dict[str, Any]) -> None:
    print(
        f"  {label:26}{figures['wall_ms']:>10.0f}{figures['per_second']:>10.1f}"
        f"{figures['p50_ms']:>10.0f}{figures['p95_ms']:>10.0f}{figures['failures']:>9}"
    )
    for kind in figures["failure_kinds"]:
        print(f"      failure: {kind}")


def main() -> None:
    started = time.perf_counter()
    _flush_redis()
    try:
        with fake_openai_process(LATENCY_S) as fake_url:
            current = _current_design(fake_url)
            _flush_redis()
            baseline = _baseline_design(fake_url)
    finally:
        _flush_redis()
    load_average = os.getloadavg()
    figures = {
        "users": USERS,
        "provider_latency_ms": LATENCY_S * 1000,
        "rounds": ROUNDS,
        "current": current,
        "baseline_design": {"commit": BASELINE_COMMIT, **baseline},
        "load_average": [round(x, 2) for x in load_average],
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = save("scale", figures)
    bare, one, two = current["bare"], current["one_instance"], current["two_instances"]
    old = baseline["one_instance"]
    workers = current["memory"]["idle"]["workers"]
    print(
        f"{USERS} users generating at once over Reflex's websocket (provider "
        f"{LATENCY_S * 1000:.0f} ms, {workers} backend workers per instance, median of "
        f"{ROUNDS} alternated rounds)"
    )
    print(f"  {'':26}{'wall ms':>10}{'per s':>10}{'p50 ms':>10}{'p95 ms':>10}{'failures':>9}")
    _print_load(f"bare AsyncOpenAI x{USERS}", bare)
    _print_load(f"  warm-up, {current['warm_up']['users']} tabs", current["warm_up"])
    _print_load("PromptGen, 1 instance", one)
    _print_load("PromptGen, 2 instances", two)
    _print_load(f"design {BASELINE_COMMIT}, 1 instance", old)
    _print_load(f"  warm-up, {baseline['warm_up']['users']} tabs", baseline["warm_up"])
    print(
        f"  1 instance / bare: wall {_ratio(one['wall_ms'], bare['wall_ms'])}; "
        f"2 instances / 1 instance: wall {_ratio(two['wall_ms'], one['wall_ms'])}, "
        f"throughput {_ratio(two['per_second'], one['per_second'])}; "
        f"this design / {BASELINE_COMMIT}: wall {_ratio(one['wall_ms'], old['wall_ms'])}"
    )
    opened = current["tabs_failed_to_open"] + baseline["tabs_failed_to_open"]
    if opened:
        kinds = current["open_errors"] + baseline["open_errors"]
        print(f"  tabs that failed to open: {opened} {kinds}")
    print(
        f"  peak connections to PostgreSQL: this design {current['peak_connections']} "
        f"(two instances, DATABASE_MAX_CONNECTIONS {DB_CONNECTIONS} "
        f"each), design {BASELINE_COMMIT} {baseline['peak_connections']} (one instance, "
        "on a cluster of its own)"
    )
    print(
        "backend memory per worker, MiB (RSS counts pages shared with the other forked "
        "workers in each; PSS splits them)"
    )
    for label, design in (("this design", current), (f"design {BASELINE_COMMIT}", baseline)):
        for when in ("idle", "after_load"):
            m = design["memory"][when]
            print(
                f"  {label:18}{when:11} RSS {m['rss_mib']} (mean {m['rss_mean_mib']}), "
                f"PSS mean {m['pss_mean_mib']}"
            )
    new_m, old_m = current["memory"], baseline["memory"]
    for kind in ("rss", "pss"):
        key = f"{kind}_mean_mib"
        print(
            f"  this design / {BASELINE_COMMIT}: mean {kind.upper()} idle "
            f"{_ratio(new_m['idle'][key], old_m['idle'][key])}, after load "
            f"{_ratio(new_m['after_load'][key], old_m['after_load'][key])}"
            "  (aim: no regression)"
        )
    print(
        f"load average {load_average[0]:.2f} {load_average[1]:.2f} {load_average[2]:.2f}; "
        f"{figures['seconds']:.0f} s; saved {path}"
    )
