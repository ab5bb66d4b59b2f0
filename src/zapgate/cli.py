"""``zapgate`` command line: serve, worker, migrate, check-config, demo, admin, sim."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from zapgate import __version__, worker_process
from zapgate import logging as zlog
from zapgate.container import build_container
from zapgate.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        print(f"zapgate: invalid configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from zapgate import errors

    try:
        result: int = args.func(args)
    except errors.ZapgateError as exc:
        print(f"zapgate: {exc.message}", file=sys.stderr)
        return 1
    return result


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: …)`` to an option's help, except where there is nothing to show
    (flags that are off, options without a default: their help says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.required:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zapgate", description="Self-hosted WhatsApp gateway", formatter_class=_HelpFormatter
    )
    p.add_argument("--version", action="version", version=f"zapgate {__version__}")
    sub = p.add_subparsers(parser_class=_SubParser)
    _serve_parser(sub)
    worker = sub.add_parser("worker", help="run only the background workers")
    worker.add_argument(
        "--parent-pid",
        type=int,
        default=0,
        help="stop when this process is gone (set by serve for its worker process)",
    )
    worker.set_defaults(func=_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser("check-config", help="validate settings and database access").set_defaults(
        func=_check_config
    )
    demo = sub.add_parser(
        "demo",
        help="print new credentials for the demo workspace",
        description="Issue new credentials for the demo workspace (a new "
        "password, new tenant and number keys; the old ones stop "
        "working) and print them with ready curl commands. "
        "Creates the workspace if the database has none.",
    )
    _listen_options(demo, "the address the printed commands use")
    demo.add_argument("--force", action="store_true", help="run even with ZAPGATE_ENVIRONMENT=production")
    demo.set_defaults(func=_demo)
    _admin_parser(sub.add_parser("admin", help="operator commands"))
    _sim_parser(sub)
    return p


class _SubParser(argparse.ArgumentParser):
    """Every subcommand gets the same help formatter (argparse does not pass it down)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _listen_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--host", default="127.0.0.1", help=f"{what}: host")
    parser.add_argument("--port", type=int, default=8080, help=f"{what}: port")


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the API, dashboard and workers",
        description="Run the API, dashboard and workers in the foreground "
        "(Ctrl-C stops them). On an empty database in "
        "development it first creates a demo workspace and "
        "prints its credentials.",
    )
    _listen_options(serve, "where to listen")
    serve.add_argument(
        "--no-demo", action="store_true", help="do not create the demo workspace (also: ZAPGATE_DEMO=0)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port; more than 1 wants PostgreSQL. "
        "The background workers run once: in a process of their own on a "
        "machine with more than one core, else in the API process "
        "(ZAPGATE_WORKER_PROCESS=auto|on|off); ZAPGATE_RUN_WORKERS=0 runs "
        "none",
    )
    serve.set_defaults(func=_serve)


def _admin_parser(admin: argparse.ArgumentParser) -> None:
    admin_sub = admin.add_subparsers(parser_class=_SubParser)
    ct = admin_sub.add_parser("create-tenant", help="create a workspace and its owner")
    ct.add_argument("--name", required=True, help="the workspace's name")
    ct.add_argument("--plan", default="FREE", choices=["FREE", "PAID"], help="its plan")
    ct.add_argument("--email", help="the owner's sign-in email (default: generated)")
    ct.add_argument("--password", help="the owner's password (default: generated, printed)")
    ct.add_argument("--json", action="store_true", help="print the result as JSON")
    ct.set_defaults(func=_create_tenant)
    lt = admin_sub.add_parser("list-tenants", help="list workspaces with their plan, owner and numbers")
    lt.add_argument("--json", action="store_true", help="print the list as JSON")
    lt.set_defaults(func=_list_tenants)
    sp = admin_sub.add_parser("set-plan", help="change a workspace's plan")
    sp.add_argument("--tenant", required=True, help="the workspace id (tenant_…)")
    sp.add_argument("--plan", required=True, choices=["FREE", "PAID"], help="the new plan")
    sp.add_argument(
        "--monthly-limit",
        type=int,
        help="messages per calendar month (default: 200 on FREE, unlimited on PAID)",
    )
    sp.add_argument("--max-numbers", type=int, help="numbers allowed (default: 1 on FREE, unlimited on PAID)")
    sp.set_defaults(func=_set_plan)
    cu = admin_sub.add_parser("create-user", help="add a dashboard user to a workspace")
    cu.add_argument("--tenant", required=True, help="the workspace id (tenant_…)")
    cu.add_argument("--email", required=True, help="the user's sign-in email")
    cu.add_argument("--password", help="at least 10 characters (default: generated, printed)")
    cu.set_defaults(func=_create_user)
    rp = admin_sub.add_parser("reset-password", help="set a user's password and sign them out everywhere")
    rp.add_argument("--email", required=True, help="the user's sign-in email")
    rp.add_argument("--password", help="at least 10 characters (default: generated, printed)")
    rp.set_defaults(func=_reset_password)


def _sim_parser(sub: Any) -> None:
    sim = sub.add_parser(
        "sim",
        help="run a loopback simulator of a WhatsApp provider",
        description="Run a provider simulator (tests, demos, benchmarks). Its "
        "control API is under /_sim; see the README.",
    )
    sim.add_argument(
        "provider", choices=["meta", "evolution-v2", "evolution-go"], help="which provider to simulate"
    )
    sim.add_argument("--host", default="127.0.0.1", help="where to listen (loopback only)")
    sim.add_argument("--port", type=int, required=True, help="where to listen: port")
    sim.add_argument(
        "--callback",
        help="where callbacks go: Zapgate's /webhooks/meta for Meta; "
        "an extra global webhook URL for Evolution "
        "(default: none)",
    )
    sim.add_argument(
        "--app-secret", default="sim-app-secret", help="Meta: the app secret that signs callbacks"
    )
    sim.add_argument(
        "--api-key",
        help="Evolution: the global API key (default: sim-evolution-key, GO: sim-evolution-go-key)",
    )
    sim.add_argument(
        "--license-required", action="store_true", help="Evolution GO: start behind the license gate (503)"
    )
    sim.set_defaults(func=_sim)


def _sim(args: argparse.Namespace) -> int:
    from zapgate.sim import common

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("zapgate sim: simulators bind to loopback only", file=sys.stderr)
        return 2
    if args.provider == "meta":
        from zapgate.sim import meta

        app = meta.create_app(callback_url=args.callback, app_secret=args.app_secret)
    elif args.provider == "evolution-v2":
        from zapgate.sim import evolution_v2

        app = evolution_v2.create_app(
            api_key=args.api_key or "sim-evolution-key", global_webhook_url=args.callback
        )
    else:
        from zapgate.sim import evolution_go

        app = evolution_go.create_app(
            api_key=args.api_key or "sim-evolution-go-key",
            global_webhook_url=args.callback,
            license_required=args.license_required,
        )
    common.serve(app, host=args.host, port=args.port)
    return 0


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _run_fast(coro: Any) -> Any:
    """Long-running loops (the workers) on uvloop where it is installed, as ``serve`` runs."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from zapgate.demo import base_url, ensure_demo

    settings = _settings()
    zlog.configure(settings.log_level, json_logs=settings.log_json)
    if settings.demo and not args.no_demo:
        info = _run(ensure_demo(settings, host=args.host, port=args.port))
        if info:
            print(info, flush=True)
    if sys.stdout.isatty():
        print(
            f"Zapgate is serving {base_url(args.host, args.port)} in the foreground; Ctrl-C stops it.",
            flush=True,
        )
    # log_config=None: uvicorn's loggers go through our handler (zlog.configure), not its own
    # plain-text ones, so its tracebacks are JSON and redacted like every other line.
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "lifespan": "on",
    }
    split = worker_process.wanted(settings.worker_process, run_workers=settings.run_workers)
    if args.workers > 1 or split:
        _run(_migrate_once(settings))
    count = worker_process.how_many(settings.worker_processes)
    with _worker_process(split, count, settings.worker_nice) as settings_update:
        settings = settings.model_copy(update=settings_update)
        if args.workers > 1:
            # Worker processes import the app themselves, so it is named, not passed; a process
            # importing it on a busy machine may need more than uvicorn's default 5 s to answer.
            uvicorn.run(
                "zapgate.cli:app_factory",
                factory=True,
                workers=args.workers,
                timeout_worker_healthcheck=30,
                **options,
            )
        else:
            uvicorn.run(app_factory(settings), **options)
    return 0


@contextlib.contextmanager
def _worker_process(split: bool, count: int, nice: int) -> Iterator[dict[str, Any]]:
    """With ``split``: the workers run in ``count`` child processes for as long as the API runs,
    and every process relays its wake-ups to the others. Yields the settings the API processes
    take."""
    if not split:
        yield {}
        return
    folder = tempfile.mkdtemp(prefix="zapgate-wake-")
    children = [
        worker_process.WorkerProcess(
            {
                **os.environ,
                "ZAPGATE_RUN_WORKERS": "1",
                "ZAPGATE_WAKE_DIR": folder,
                "ZAPGATE_WORKER_PROCESS": "off",
                "ZAPGATE_WORKER_LOOPS": loops,
            },
            nice=nice,
        )
        for loops in worker_process.loops_for(count)
    ]
    # ``serve --workers N`` processes read their settings from the environment.
    os.environ.update({"ZAPGATE_RUN_WORKERS": "0", "ZAPGATE_WAKE_DIR": folder})
    for child in children:
        child.start()
    try:
        yield {"run_workers": False, "wake_dir": folder}
    finally:
        for child in children:
            child.stop()
        shutil.rmtree(folder, ignore_errors=True)


def app_factory(settings: Settings | None = None) -> Any:
    """The ASGI app ``serve`` runs (in each process of ``serve --workers N``)."""
    from zapgate.web.app import create_app

    if settings is None:
        settings = _settings()
        zlog.configure(settings.log_level, json_logs=settings.log_json)
    return create_app(settings)


async def _migrate_once(settings: Settings) -> None:
    from zapgate.storage import migrate

    container = build_container(settings)
    try:
        await migrate.upgrade(container.db)
    finally:
        await container.close()


def _demo(args: argparse.Namespace) -> int:
    from zapgate.demo import reissue_demo

    settings = _settings()
    if settings.environment == "production" and not args.force:
        print(
            "zapgate demo: refusing in production (it would create a workspace with printed "
            "credentials); pass --force if you really mean it",
            file=sys.stderr,
        )
        return 2
    print(_run(reissue_demo(settings, host=args.host, port=args.port)))
    return 0


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """``serve``'s worker process: stop when ``serve`` is gone (its parent changed)."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event tells a process its parent died
        await asyncio.sleep(1)
    stop.set()


def _worker(args: argparse.Namespace) -> int:
    from zapgate.workers.build import build_runner

    settings = _settings()
    zlog.configure(settings.log_level, json_logs=settings.log_json)

    async def run() -> None:
        from zapgate.storage import migrate

        container = build_container(settings)
        await migrate.upgrade(container.db)
        await container.start()
        runner = build_runner(container)
        runner.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.parent_pid:
            watch = asyncio.create_task(_stop_when_orphaned(args.parent_pid, stop))
        await stop.wait()
        if args.parent_pid:
            watch.cancel()
        await runner.stop()
        await container.close()

    _run_fast(run())
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from zapgate.storage import migrate

    async def run() -> str | None:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await migrate.current_revision(container.db)
        finally:
            await container.close()

    print(f"database at revision {_run(run())}")
    return 0


def _check_config(_args: argparse.Namespace) -> int:
    from zapgate.storage import migrate

    settings = _settings()

    async def run() -> tuple[bool, str | None]:
        container = build_container(settings)
        try:
            await container.db.ping()
            return await migrate.is_current(container.db), await migrate.current_revision(container.db)
        finally:
            await container.close()

    try:
        current, revision = _run(run())
    except Exception as exc:
        print(f"database: cannot connect ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print(f"environment: {settings.environment}")
    print(f"database: ok (revision {revision}{'' if current else ', migrations pending'})")
    print(f"public url: {settings.public_url}")
    print(f"secret key: {'set' if settings.secret_key.get_secret_value() else 'not set (dev)'}")
    print(
        f"private webhook urls: {'allowed' if settings.allow_private_urls else 'refused'}"
        f"{' (loopback allowed)' if settings.allow_loopback_urls else ''}"
    )
    print(f"demo workspace on an empty database: {'yes' if settings.demo else 'no'}")
    return 0


def _create_tenant(args: argparse.Namespace) -> int:
    from zapgate.domain.tenants import CreatedTenant
    from zapgate.services import tenants
    from zapgate.storage import migrate

    async def run() -> CreatedTenant:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await tenants.create_tenant(
                container,
                name=args.name,
                plan=args.plan,
                owner_email=args.email,
                owner_password=args.password,
            )
        finally:
            await container.close()

    created = _run(run())
    out = {
        "tenantId": created.tenant_id,
        "tenantKey": created.tenant_key,
        "ownerEmail": created.owner_email,
        "ownerPassword": created.owner_password,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


def _with_container(fn: Any) -> Any:
    from zapgate.storage import migrate

    async def run() -> Any:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await fn(container)
        finally:
            await container.close()

    return _run(run())


def _create_user(args: argparse.Namespace) -> int:
    from zapgate.services import users

    email, password = _with_container(
        lambda c: users.create_user(c, workspace_id=args.tenant, email=args.email, password=args.password)
    )
    print(f"email: {email}\npassword: {password}")
    return 0


def _reset_password(args: argparse.Namespace) -> int:
    from zapgate.services import users

    password = _with_container(lambda c: users.reset_password(c, email=args.email, password=args.password))
    print(f"email: {args.email.strip().lower()}\npassword: {password}")
    return 0


def _set_plan(args: argparse.Namespace) -> int:
    from zapgate.services import tenants

    async def run() -> None:
        container = build_container(_settings())
        try:
            await tenants.set_plan(
                container,
                workspace_id=args.tenant,
                plan=args.plan,
                monthly_limit=args.monthly_limit,
                max_numbers=args.max_numbers,
            )
        finally:
            await container.close()

    _run(run())
    print(f"{args.tenant}: plan {args.plan}")
    return 0


def _list_tenants(args: argparse.Namespace) -> int:
    rows = _with_container(_tenant_rows)
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        print(
            f"{row['tenantId']}  {row['plan']:<4}  {row['numbers']} number(s)  "
            f"{row['name']}  owner {row['ownerEmail'] or '-'}"
        )
    if not rows:
        print("no workspaces")
    return 0


async def _tenant_rows(container: Any) -> list[dict[str, Any]]:
    """Every workspace, oldest first, with its live numbers counted and its first owner."""
    import sqlalchemy as sa

    from zapgate.storage import tables as t

    w, n, u = t.workspaces.c, t.numbers.c, t.users.c
    live_numbers = (
        sa.select(sa.func.count()).where(n.workspace_id == w.id, n.deleted_at.is_(None)).scalar_subquery()
    )
    owner = (
        sa.select(u.email)
        .where(u.workspace_id == w.id, u.role == "owner")
        .order_by(u.created_at)
        .limit(1)
        .scalar_subquery()
    )
    query = sa.select(w.id, w.name, w.plan, live_numbers.label("numbers"), owner.label("owner")).order_by(
        w.created_at, w.id
    )
    async with container.db.read() as conn:
        result = await conn.execute(query)
        return [
            {"tenantId": r.id, "name": r.name, "plan": r.plan, "numbers": r.numbers, "ownerEmail": r.owner}
            for r in result
        ]
